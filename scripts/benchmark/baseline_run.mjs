// baseline_run.mjs - drives web/baseline/ (the official demo's pipeline) in Chromium.
//   const r = await run_baseline(browser, server_url, {threads, positions, warmups, model, manifest});
// r: {threads, cross_origin_isolated, info, first_mask_ms (navigation -> first mask drawn),
//     bytes {ort, decoder, page}, samples [{click_to_mask_ms, decode_ms, to_image_ms, show_ms, ...}]}
// The first `warmups` prompts are not in samples; the first of them gives first_mask_ms.
import { bytes_by, idle_cpu_percent } from './browser.mjs';

export function classify_url(url) {
    const p = new URL(url).pathname;
    if (/\/ort[^/]*\.(m?js|wasm)$/.test(p)) return 'ort';
    if (p.endsWith('.onnx')) return 'decoder';
    if (p.startsWith('/baseline/')) return 'page';
    return null;  // image and embedding are the same for both pages
}

export async function run_baseline(b, server_url, o) {
    const q = new URLSearchParams({ manifest: o.manifest, model: o.model, ort: o.ort, threads: String(o.threads) });
    const { context, page, responses, logs } = await b.fresh_page(`${server_url}baseline/index.html?${q}`);
    try {
        let info;
        try {
            await page.waitForFunction(() => window.baseline, null, { timeout: 60000 });
            info = await page.evaluate(() => window.baseline.ready);
        } catch (e) {
            throw new Error(`baseline page failed: ${e.message}\n${logs.slice(-20).join('\n')}`);
        }
        const samples = [];
        let first_mask_ms = null;
        for (let i = 0; i < o.positions.length; i++) {
            const p = o.positions[i];
            const c = await page.evaluate(([x, y]) => window.baseline.client_point(x, y), [p.x, p.y]);
            await page.evaluate(() => { window.__next = window.baseline.arm(); });
            await page.mouse.move(c.x, c.y);
            const t = await page.evaluate(() => Promise.race([window.__next, new Promise((r) => setTimeout(() => r(null), 60000))]));
            if (!t) throw new Error(`baseline: no mask within 60 s of the mouse move to image (${p.x}, ${p.y})\n${logs.slice(-20).join('\n')}`);
            if (i === 0) first_mask_ms = t.t_shown;  // performance.now() counts from navigation start
            if (i >= o.warmups) samples.push({ ...t, x: p.x, y: p.y });
        }
        const idle_cpu_pct = await idle_cpu_percent(page);  // after the prompts, before anything else
        return {
            threads: o.threads, cross_origin_isolated: info.crossOriginIsolated, info, first_mask_ms, idle_cpu_pct,
            bytes: bytes_by(responses, classify_url), samples,
        };
    } finally {
        await context.close();
    }
}
