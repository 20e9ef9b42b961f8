// encoder_run.mjs - in-browser encoding figures (issue 16): the image encoder per image
// in headless Chromium (web/encoder_worker.js: the core's decode + preprocessing in
// WebAssembly, then ONNX Runtime Web) at 1 and 2 threads, beside onnxruntime-node on the
// same ONNX file and the same preprocessed input, for the bundled encoder and MobileSAM's
// TinyViT with random weights (bench/models/vit_t, made by make_random_encoder.py).
//   node scripts/benchmark/encoder_run.mjs [--out bench] [--runs 5]   (prints JSON)
//   import { run_encoder_bench } from './encoder_run.mjs';  await run_encoder_bench({ browser, site, out })
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { launch_browser } from './browser.mjs';
import { summarize } from './stats.mjs';
import { startStaticServer } from '../../tests/browser/static_server.mjs';
import { find_preprocess_tool } from '../embedder/preprocess_tool.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SAMPLES = ['coffee.jpg', 'rocket.jpg', 'astronaut.jpg', 'chelsea.jpg'].map((f) => path.join(repo, 'assets/samples', f));

export function ensure_random_tinyvit(out) {
    const dir = path.join(out, 'models', 'vit_t');
    if (!fs.existsSync(path.join(dir, 'encoder.onnx'))) {
        execFileSync(path.join(repo, '.venv/bin/python'), [path.join(repo, 'scripts/benchmark/make_random_encoder.py'),
            '--model-type', 'vit_t', '--out', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
    return path.join(dir, 'encoder.onnx');
}

async function node_encoder_ms(onnx, input, threads, runs) {
    const s = await ort.InferenceSession.create(onnx, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    const feed = { [s.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, 1024, 1024]) };
    await s.run(feed);  // warm-up
    const ms = [];
    for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await s.run(feed);
        ms.push(performance.now() - t0);
    }
    await s.release();
    return summarize(ms);
}

async function chromium_encoder_ms(browser, url, encoder_url, threads, runs) {
    const { context, page } = await browser.fresh_page(`${url}bench/blank.html`);
    try {
        return await page.evaluate(async ({ encoder_url, threads, runs, images }) => {
            const worker = new Worker(`/encoder_worker.js?threads=${threads}`, { type: 'module' });
            const next = () => new Promise((resolve) => { worker.onmessage = (ev) => resolve(ev.data); });
            worker.postMessage({ type: 'load', url: encoder_url, modelId: encoder_url });
            const loaded = await next();
            if (!loaded.ok) throw new Error(loaded.message);
            const bytes = await Promise.all(images.map(async (u) => (await fetch(u)).arrayBuffer()));
            const prep = [], encode = [];
            for (let i = 0; i <= runs; i++) {  // the first is a warm-up
                worker.postMessage({ type: 'encode', id: i + 1, bytes: bytes[i % bytes.length].slice(0), name: images[i % bytes.length], cache: false });
                const r = await next();
                if (!r.ok) throw new Error(r.error);
                if (i > 0) { prep.push(r.ms.prep); encode.push(r.ms.encode); }
            }
            worker.terminate();
            return { message: loaded.message, prep, encode };
        }, { encoder_url, threads, runs, images: SAMPLES.map((f) => `/samples/${path.basename(f)}`) });
    } finally {
        await context.close();
    }
}

// browser: launch_browser() result; site: build/wasm/site. Returns {models: {name: {...}}}.
export async function run_encoder_bench({ browser, site = path.join(repo, 'build/wasm/site'), out = path.join(repo, 'bench'), runs = 5 } = {}) {
    const models = { bundled: path.join(repo, 'assets/model/encoder.onnx'), tinyvit_random: ensure_random_tinyvit(out) };
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-encoder-bench-'));
    fs.writeFileSync(path.join(tmp, 'blank.html'), '<!doctype html><title>encoder bench</title>');
    const input_file = path.join(tmp, 'input.f32');
    const pre = spawnSync(find_preprocess_tool(), [SAMPLES[0], input_file], { encoding: 'utf8' });
    if (pre.status !== 0) throw new Error(pre.stderr);
    const input = new Float32Array(fs.readFileSync(input_file).buffer.slice(0));
    const mounts = { '/bench/': tmp, '/samples/': path.join(repo, 'assets/samples'), '/': site };
    for (const [name, file] of Object.entries(models)) mounts[`/models/${name}/`] = path.dirname(file);
    const srv = await startStaticServer(mounts);
    const results = {};
    try {
        for (const [name, file] of Object.entries(models)) {
            const r = { onnx_bytes: fs.statSync(file).size };
            for (const threads of [1, 2]) {
                r[`node_${threads}thread_ms`] = await node_encoder_ms(file, input, threads, runs);
                const c = await chromium_encoder_ms(browser, srv.url, `/models/${name}/${path.basename(file)}`, threads, runs);
                r[`chromium_${threads}thread_ms`] = summarize(c.encode);
                r[`chromium_${threads}thread_prep_ms`] = summarize(c.prep);
                r[`chromium_${threads}thread_backend`] = c.message;
            }
            results[name] = r;
        }
    } finally {
        await srv.close();
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    return { image: path.basename(SAMPLES[0]), runs, models: results };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const args = process.argv.slice(2);
    const opt = {};
    for (let i = 0; i < args.length; i++) {
        if (args[i] === '--out') opt.out = args[++i];
        else if (args[i] === '--runs') opt.runs = Number(args[++i]);
        else { console.error('usage: node scripts/benchmark/encoder_run.mjs [--out bench] [--runs 5]'); process.exit(2); }
    }
    const b = await launch_browser();
    try {
        console.log(JSON.stringify(await run_encoder_bench({ browser: b, ...opt }), null, 1));
    } finally {
        await b.close();
    }
}
