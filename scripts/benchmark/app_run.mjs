// app_run.mjs - drives our annotator (build/wasm/site) in Chromium for scripts/bench.
//   const r = await run_app(browser, server_url, {threads, positions, warmups, manifest, decoder, after});
// Hover prompts (the app decodes on mouse move before any click, like the demo), aimed
// through the app's view transform. Per prompt: the mousemove's event.timeStamp, the
// app's latency probe (window.samAnnotator.onFrame: first frame drawn with the result),
// then the next animation frame, by which that frame has been produced. The baseline
// page is timed to the same point (the frame after the one that paints its mask).
// r: {threads, info, first_mask_ms, idle_cpu_pct (from 3 s after the last input), frame_ms
// (the app's main-thread ms per frame during the sweep), bytes {app, ort, decoder}, samples [...], after}
// (after: what o.after(page, state) returned, run on the same page at the end)
import { bytes_by, idle_cpu_percent } from './browser.mjs';

export function classify_url(url) {
    const p = new URL(url).pathname;
    if (/\/ort[^/]*\.(m?js|wasm)$/.test(p)) return 'ort';
    if (p.endsWith('encoder.onnx')) return 'encoder';  // a declared browser encoder, loaded at a quiet moment
    if (p.endsWith('.onnx') || p.endsWith('.samw')) return 'decoder';
    if (/\/(sam_annotator\.(js|wasm)|index\.html|decoder_worker\.js|decoder_onnx_names\.js|sam_decoder_worker\.js|sam_decoder_(st|mt)\.(mjs|wasm|worker\.js)|)$/.test(p)) return 'app';
    return null;  // image, embedding, manifest: the same for both pages
}

async function wait_loaded(page, logs) {
    try {
        await page.waitForFunction(() => {
            try {
                const s = window.samAnnotator && window.Module && window.Module._sam_state_json && window.samAnnotator.state();
                if (s && s.errors && s.errors.length) return { errors: s.errors };
                return s && s.image && s.image.loaded && s.decoder.status === 'ready' ? s : false;
            } catch { return false; }
        }, null, { polling: 'raf', timeout: 120000 });
    } catch (e) {
        throw new Error(`app did not load: ${e.message}\n${logs.slice(-20).join('\n')}`);
    }
    const s = await page.evaluate(() => window.samAnnotator.state());
    if (s.errors && s.errors.length) throw new Error(`app errors: ${s.errors.join('; ')}`);
    return s;
}

export async function run_app(b, server_url, o) {
    const q = new URLSearchParams({ manifest: o.manifest, threads: String(o.threads) });
    if (o.decoder) q.set('decoder', o.decoder);  // else the manifest's decoder
    const { context, page, responses, logs } = await b.fresh_page(`${server_url}index.html?${q}`, () => {
        window.addEventListener('mousemove', (e) => { window.__benchInput = e.timeStamp; }, { capture: true, passive: true });
    });
    try {
        const s = await wait_loaded(page, logs);
        const samples = [];
        let first_mask_ms = null;
        await page.evaluate(() => window.samAnnotator.frameTimes && window.samAnnotator.frameTimes());  // drain
        for (let i = 0; i < o.positions.length; i++) {
            const p = o.positions[i];
            const c = { x: (p.x + 0.5) * s.view.scale + s.view.offset_x, y: (p.y + 0.5) * s.view.scale + s.view.offset_y };
            await page.evaluate(() => {
                window.__next = new Promise((resolve) => {
                    const api = window.samAnnotator;
                    const hook = (f) => {
                        api.onFrame.splice(api.onFrame.indexOf(hook), 1);
                        requestAnimationFrame(() => {
                            const t_after = performance.now();
                            const st = api.state();
                            resolve({
                                t_input: window.__benchInput, t_frame: f.frameTime, t_after, app_input: f.inputTime,
                                t_result: f.resultTime, decode_ms: st.last_decode_ms, round_trip_ms: st.last_round_trip_ms,
                                decode_count: st.decode_count, result_kind: st.result_kind,
                            });
                        });
                    };
                    api.onFrame.push(hook);
                });
            });
            await page.mouse.move(c.x, c.y);
            const t = await page.evaluate(() => Promise.race([window.__next, new Promise((r) => setTimeout(() => r(null), 60000))]));
            if (!t) throw new Error(`no mask frame within 60 s of the mouse move to image (${p.x}, ${p.y})\n${logs.slice(-20).join('\n')}`);
            const row = {
                click_to_mask_ms: t.t_after - t.t_input, to_mask_frame_ms: t.t_frame - t.t_input,
                decode_ms: t.decode_ms, round_trip_ms: t.round_trip_ms, result_to_frame_ms: t.t_frame - t.t_result,
                input_clock_diff_ms: t.app_input - t.t_input, result_kind: t.result_kind, t_shown: t.t_after, x: p.x, y: p.y,
            };
            if (i === 0) first_mask_ms = t.t_after;  // performance.now() counts from navigation start
            if (i >= o.warmups) samples.push(row);
        }
        // the app's main-thread time per frame during the hover sweep
        const frame_ms = await page.evaluate(() => (window.samAnnotator.frameTimes ? window.samAnnotator.frameTimes() : []));
        // idle: measured from 3 s after the last input, for 5 s (issue 15). A dataset that
        // declares a browser encoder has it loaded once at the first quiet moment (1.5 s
        // without input); that one-time load is timed on its own and the idle window starts
        // after it, so the figure is the page's steady state.
        await page.waitForTimeout(3000);
        const t_preload = Date.now();
        await page.waitForFunction(() => window.samAnnotator.state().encoding?.status !== 'loading', null, { timeout: 120000, polling: 100 });
        const encoder_preload_wait_ms = Date.now() - t_preload;
        const idle_cpu_pct = await idle_cpu_percent(page, 5000);
        const end = await page.evaluate(() => window.samAnnotator.state());
        const after = o.after ? await o.after(page, end) : null;
        return {
            threads: o.threads, cross_origin_isolated: await page.evaluate(() => self.crossOriginIsolated),
            info: { decoder: end.decoder, image: end.image && { width: end.image.width, height: end.image.height } },
            first_mask_ms, idle_cpu_pct, encoder_preload_wait_ms, encoder_status: end.encoding?.status, frame_ms, bytes: bytes_by(responses, classify_url), samples, after,
        };
    } finally {
        await context.close();
    }
}
