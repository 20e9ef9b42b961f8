// decoder_run.mjs - decode-only timings of the C++ decoder beside ONNX Runtime, on the same
// weights (a SAM-size decoder) and prompt (one point + the padding point, as a hover sends):
// natively (build/native/sam_decode), in Node (our WebAssembly module), in headless Chromium's
// worker (web/sam_decoder_worker.js) at 1 and 2 threads, and onnxruntime-node / ONNX Runtime
// Web (web/decoder_worker.js) on the matching ONNX export. Figures, never assertions.
//   node scripts/benchmark/decoder_run.mjs --weights W.samw --onnx decoder.onnx --embedding E.npy
//        [--app build/wasm/site] [--repeats 20] [--warmups 5] [--out decoder.json] [--merge results.json]
// Prints the markdown table (stderr) and the JSON figures (stdout); --merge adds them to a
// results.json (section decoder_bench, top-level decode_p50_ms_1thread / _2threads: the C++
// decoder in Chromium) and the table to the results.md beside it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { launch_browser } from './browser.mjs';
import { start_serve } from './server.mjs';
import { summarize } from './stats.mjs';
import { load_decoder_wasm } from '../lib/sam_decoder_wasm.mjs';
import { read_npy, npy_to_f32, npy_bytes } from '../embedder/npy_file.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const COORDS = new Float32Array([612.5, 405.25, 0, 0]);
const LABELS = new Float32Array([1, -1]);

function native_runs(o, threads) {
    const cases = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-dec-bench-'));
    fs.writeFileSync(path.join(cases, 'hover.point_coords.npy'), npy_bytes(COORDS, [1, 2, 2]));
    fs.writeFileSync(path.join(cases, 'hover.point_labels.npy'), npy_bytes(LABELS, [1, 2]));
    const out = execFileSync(o.native, ['--weights', o.weights, '--cases', cases, '--out', path.join(cases, 'out'),
        '--embedding', o.embedding, '--threads', String(threads), '--repeat', String(o.repeats)], { encoding: 'utf8' });
    fs.rmSync(cases, { recursive: true, force: true });
    const m = /ms=([\d.]+) cpu_ms=([\d.]+)/.exec(out);
    return { p50: Number(m[1]), cpu_p50: Number(m[2]), n: o.repeats };
}

// In this process; also its CPU time per decode (all threads), telling on a loaded machine.
async function node_wasm_runs(o, threads) {
    const dec = await load_decoder_wasm({ threads });
    dec.load(fs.readFileSync(o.weights), path.basename(o.weights));
    dec.set_image_npy(fs.readFileSync(o.embedding), path.basename(o.embedding));
    const ms = [], cpu = [];
    for (let i = 0; i < o.warmups + o.repeats; i++) {
        const c0 = process.cpuUsage();
        const r = dec.predict(COORDS, LABELS);
        const c = process.cpuUsage(c0);
        if (i >= o.warmups) ms.push(r.ms), cpu.push((c.user + c.system) / 1000);
    }
    return { ...summarize(ms), cpu_p50: summarize(cpu).p50, threads: dec.threads };
}

async function onnxruntime_node_runs(o, threads) {
    const session = await ort.InferenceSession.create(o.onnx, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    const emb = npy_to_f32(read_npy(fs.readFileSync(o.embedding)));
    const feeds = {
        image_embeddings: new ort.Tensor('float32', emb, [1, 256, 64, 64]),
        point_coords: new ort.Tensor('float32', COORDS, [1, 2, 2]), point_labels: new ort.Tensor('float32', LABELS, [1, 2]),
        mask_input: new ort.Tensor('float32', new Float32Array(65536), [1, 1, 256, 256]),
        has_mask_input: new ort.Tensor('float32', new Float32Array([0]), [1]),
        orig_im_size: new ort.Tensor('float32', new Float32Array([1500, 2250]), [2]),
    };
    const use = Object.fromEntries(session.inputNames.map((n) => [n, feeds[n]]));
    const ms = [];
    for (let i = 0; i < o.warmups + o.repeats; i++) {
        const t0 = performance.now();
        await session.run(use, ['iou_predictions', 'low_res_masks']);
        if (i >= o.warmups) ms.push(performance.now() - t0);
    }
    return summarize(ms);
}

// One worker in a fresh page: load, embedding, warm-ups, timed decodes (the worker's own ms).
async function browser_runs(b, base, o, { worker, module, threads, embedding }) {
    const { context, page } = await b.fresh_page(new URL('blank.json', base).href);
    try {
        return await page.evaluate(async ({ worker, module, threads, embedding, n, warmups, coords, labels }) => {
            const w = new Worker(`${worker}?threads=${threads}`, module ? { type: 'module' } : {});
            const next = (pred) => new Promise((resolve, reject) => {
                const t = setTimeout(() => reject(new Error('worker did not answer in 120 s')), 120000);
                const h = (ev) => { if (pred(ev.data)) { clearTimeout(t); w.removeEventListener('message', h); resolve(ev.data); } };
                w.addEventListener('message', h);
            });
            w.postMessage({ type: 'load', url: new URL(module ? 'decoder.onnx' : 'decoder.samw', location.href).href });
            const loaded = await next((m) => m.type === 'loaded');
            if (!loaded.ok) throw new Error(loaded.message);
            const emb = new Float32Array(await (await fetch(embedding)).arrayBuffer());
            w.postMessage({ type: 'embedding', id: 1, data: emb });
            const ms = [];
            for (let i = 0; i < warmups + n; i++) {
                const id = 100 + i;
                w.postMessage({ type: 'decode', id, pointCoords: new Float32Array(coords), pointLabels: new Float32Array(labels),
                                maskInput: module ? new Float32Array(65536) : null, hasMaskInput: 0, origImSize: new Float32Array([1500, 2250]) });
                const r = await next((m) => m.type === 'result' && m.id === id);
                if (r.error) throw new Error(r.error);
                if (i >= warmups) ms.push(r.ms);
            }
            w.terminate();
            return { ms, loaded: loaded.message, isolated: self.crossOriginIsolated };
        }, { worker, module, threads, embedding, n: o.repeats, warmups: o.warmups, coords: Array.from(COORDS), labels: Array.from(LABELS) });
    } finally {
        await context.close();
    }
}

export async function run_decoder_bench(opts) {
    const o = { repeats: 20, warmups: 5, app: path.join(repo, 'build/wasm/site'),
        native: process.env.SAM_DECODE || path.join(repo, 'build/native/sam_decode'), ...opts };
    const r = { settings: { weights: o.weights, onnx: o.onnx, embedding: o.embedding, prompt: '1 point + padding point',
        repeats: o.repeats, warmups: o.warmups, load_before: os.loadavg() } };
    const log = (s) => process.stderr.write(`decoder bench: ${s}\n`);
    for (const t of [1, 2]) {
        log(`native C++, ${t} thread(s)`);
        (r.native ??= {})[`threads_${t}`] = native_runs(o, t);
        log(`Node wasm, ${t} thread(s)`);
        (r.node_wasm ??= {})[`threads_${t}`] = await node_wasm_runs(o, t);
        log(`onnxruntime-node, ${t} thread(s)`);
        (r.onnxruntime_node ??= {})[`threads_${t}`] = await onnxruntime_node_runs(o, t);
    }
    // The browser: scripts/serve (COOP/COEP) with the site and a folder of the bench files.
    const www = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-dec-www-'));
    fs.copyFileSync(o.weights, path.join(www, 'decoder.samw'));
    fs.copyFileSync(o.onnx, path.join(www, 'decoder.onnx'));
    fs.writeFileSync(path.join(www, 'embedding.f32'), Buffer.from(npy_to_f32(read_npy(fs.readFileSync(o.embedding))).buffer));
    fs.writeFileSync(path.join(www, 'blank.json'), '{}\n');
    const srv = await start_serve(['--app', o.app, '--static', www]);
    const b = await launch_browser();
    try {
        for (const t of [1, 2]) {
            log(`Chromium, C++ decoder worker, ${t} thread(s)`);
            const c = await browser_runs(b, srv.url, o, { worker: 'sam_decoder_worker.js', module: false, threads: t, embedding: 'embedding.f32' });
            (r.chromium_cpp ??= {})[`threads_${t}`] = { ...summarize(c.ms), backend: c.loaded, isolated: c.isolated };
            log(`Chromium, ONNX Runtime Web worker, ${t} thread(s)`);
            const w = await browser_runs(b, srv.url, o, { worker: 'decoder_worker.js', module: true, threads: t, embedding: 'embedding.f32' });
            (r.ort_web ??= {})[`threads_${t}`] = { ...summarize(w.ms), backend: w.loaded };
        }
    } finally {
        await b.close();
        await srv.close();
        fs.rmSync(www, { recursive: true, force: true });
    }
    r.settings.load_after = os.loadavg();
    r.decode_p50_ms_1thread = r.chromium_cpp.threads_1.p50;
    r.decode_p50_ms_2threads = r.chromium_cpp.threads_2.p50;
    return r;
}

export function decoder_table(r) {
    const row = (name, k) => {
        const a = r[k]?.threads_1, b2 = r[k]?.threads_2;
        const f = (x) => (x && x.p50 != null ? `${x.p50}` : '-');
        return `| ${name} | ${f(a)} | ${f(b2)} |`;
    };
    const l = r.settings.load_before.map((x) => x.toFixed(1)).join('/'), l2 = r.settings.load_after.map((x) => x.toFixed(1)).join('/');
    return [`Decode only (SAM-size decoder, ${r.settings.prompt}; p50 of ${r.settings.repeats} after ${r.settings.warmups} warm-ups; load ${l} before, ${l2} after):`,
        '', '| decode p50 (ms) | 1 thread | 2 threads |', '| --- | ---: | ---: |',
        row('C++ decoder, headless Chromium worker (wasm SIMD)', 'chromium_cpp'),
        row('ONNX Runtime Web, headless Chromium worker', 'ort_web'),
        row('C++ decoder, Node (wasm SIMD)', 'node_wasm'),
        row('C++ decoder, native (SSE)', 'native'),
        row('onnxruntime-node', 'onnxruntime_node'), '',
        `Targets: C++ decode in Chromium <= 100 ms at 1 thread (${r.decode_p50_ms_1thread} ms: ${r.decode_p50_ms_1thread <= 100 ? 'met' : 'NOT met'}), ` +
        `<= 60 ms at 2 threads (${r.decode_p50_ms_2threads} ms: ${r.decode_p50_ms_2threads <= 60 ? 'met' : 'NOT met'}).`].join('\n');
}

async function main() {
    const { values } = parseArgs({ options: {
        weights: { type: 'string' }, onnx: { type: 'string' }, embedding: { type: 'string' }, app: { type: 'string' },
        repeats: { type: 'string' }, warmups: { type: 'string' }, out: { type: 'string' }, merge: { type: 'string' } } });
    for (const k of ['weights', 'onnx', 'embedding']) if (!values[k]) throw new Error(`--${k} is required`);
    const r = await run_decoder_bench({ weights: values.weights, onnx: values.onnx, embedding: values.embedding,
        ...(values.app ? { app: values.app } : {}), ...(values.repeats ? { repeats: Number(values.repeats) } : {}),
        ...(values.warmups ? { warmups: Number(values.warmups) } : {}) });
    const table = decoder_table(r);
    if (values.out) fs.writeFileSync(values.out, JSON.stringify(r, null, 1) + '\n');
    if (values.merge) {
        const all = fs.existsSync(values.merge) ? JSON.parse(fs.readFileSync(values.merge, 'utf8')) : {};
        all.decoder_bench = r;
        all.decode_p50_ms_1thread = r.decode_p50_ms_1thread;
        all.decode_p50_ms_2threads = r.decode_p50_ms_2threads;
        fs.writeFileSync(values.merge, JSON.stringify(all, null, 1) + '\n');
        const md = path.join(path.dirname(values.merge), 'results.md');
        if (fs.existsSync(md)) fs.appendFileSync(md, '\n' + table + '\n');
    }
    process.stderr.write(table + '\n');
    console.log(JSON.stringify(r, null, 1));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    // exit explicitly: the -pthread module's worker threads would keep Node running.
    main().then(() => process.exit(0), (e) => { console.error(`decoder bench: ${e.stack || e.message}`); process.exit(1); });
}
