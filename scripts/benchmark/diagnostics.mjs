// diagnostics.mjs - where the interactive time goes, for the benchmark's notes: the decoder
// worker timed on its own (the decoder worker protocol's decode message), first with the
// app on screen (its frame loop running: an idle page draws nothing), then with the loop
// paused (samAnnotator.pause()). On a machine without a GPU every frame the app draws goes
// through software WebGL and competes with the decoder for CPU.
//   const d = await worker_decode_probe(page, n) -> {running: summary, paused: summary} | {error}
// A SAM 2.1 decoder ({ padding: false }) gets one click without the padding point, which its
// graph adds itself (src/app/model_transforms.h).
import { summarize } from './stats.mjs';

export async function worker_decode_probe(page, n = 8, { padding = true } = {}) {
    try {
        const run = () => page.evaluate(async ({ count, pad }) => {
            const w = Module.samDecoderWorker;
            const out = [];
            for (let i = 0; i < count; i++) {
                const id = 1e9 + Math.floor(Math.random() * 1e6);
                const r = await new Promise((resolve, reject) => {
                    const h = (ev) => { if (ev.data && ev.data.id === id) { w.removeEventListener('message', h); resolve(ev.data); } };
                    w.addEventListener('message', h);
                    setTimeout(() => reject(new Error('worker did not answer in 30 s')), 30000);
                    w.postMessage({
                        type: 'decode', id, pointCoords: new Float32Array(pad ? [200 + 40 * i, 300, 0, 0] : [200 + 40 * i, 300]),
                        pointLabels: new Float32Array(pad ? [1, -1] : [1]),
                        maskInput: null, origImSize: new Float32Array([1500, 2250]),
                    });
                });
                if (r.error) throw new Error(r.error);
                out.push(r.ms);
            }
            return out;
        }, { count: n, pad: padding });
        const running = await run();
        await page.evaluate(() => window.samAnnotator.pause());
        let paused;
        try { paused = await run(); } finally { await page.evaluate(() => window.samAnnotator.resume()); }
        return { running: summarize(running), paused: summarize(paused) };
    } catch (e) {
        return { error: String(e.message || e) };
    }
}
