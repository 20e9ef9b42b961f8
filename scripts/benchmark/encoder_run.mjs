// encoder_run.mjs - in-browser encoding figures (issue 16): the image encoder per image
// in headless Chromium (web/encoder_worker.js: the core's decode + preprocessing in
// WebAssembly, then ONNX Runtime Web) at 1 and 2 threads, beside onnxruntime-node on the
// same ONNX file and the same preprocessed input, for the bundled encoder and MobileSAM's
// TinyViT with random weights (bench/models/vit_t, made by make_random_encoder.py); and
// drop -> first mask: the offline bundle of the bundled model on a static host (plain: 1
// thread; cross-origin isolated: 2), a photo dropped on the page in a fresh context (empty
// IndexedDB), timed in the page from the drop event to the embedding and to the
// candidates of a click at the photo's centre (window.samAnnotator.prompt resolving).
//   node scripts/benchmark/encoder_run.mjs [--out bench] [--runs 5] [--merge bench/results.json]
// Prints JSON; --merge adds it to results.json (section encoder_bench, top-level
// encoder_bundled_chromium_1thread_ms, drop_to_first_mask_ms_1thread / _2threads) and the
// table to the results.md beside it.
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

// The offline bundle (scripts/bundle) of coffee.jpg embedded with the bundled model: the
// demo as a newcomer opens it, its small encoder declared for dropped photos.
function make_drop_bundle(tmp, site) {
    const src = path.join(tmp, 'drop-src'), ds = path.join(tmp, 'drop-ds'), bundle = path.join(tmp, 'drop-bundle');
    fs.mkdirSync(src, { recursive: true });
    fs.copyFileSync(SAMPLES[0], path.join(src, path.basename(SAMPLES[0])));
    const model = path.join(repo, 'assets/model');
    execFileSync(path.join(repo, 'scripts/embed'), ['--encoder', path.join(model, 'encoder.onnx'), '--decoder', path.join(model, 'decoder.onnx'),
        '--decoder-weights', path.join(model, 'decoder.samw'), '--images', src, '--out', ds, '--threads', '1'], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync(path.join(repo, 'scripts/bundle'), [bundle, '--app', site, '--dataset', ds], { stdio: ['ignore', 'ignore', 'inherit'] });
    return bundle;
}

// One drop per photo, each in a fresh context: ms from the drop to the embedding, and to
// the first click's candidates.
async function drop_to_first_mask(browser, url, photos) {
    const embed = [], first = [];
    let backend = '';
    for (const photo of photos) {
        const { context, page } = await browser.fresh_page(`${url}index.html`);
        try {
            await page.waitForFunction(() => window.samAnnotator && window.samAnnotator.ready, null, { timeout: 120000 });
            await page.evaluate(() => window.samAnnotator.ready);
            await page.waitForFunction(() => window.samAnnotator.state().encoding?.status === 'ready' &&
                window.samAnnotator.state().image?.embedding_loaded, null, { timeout: 120000, polling: 100 });
            const r = await page.evaluate(async (u) => {
                const name = u.split('/').pop();
                const file = new File([await (await fetch(u)).blob()], name, { type: 'image/jpeg' });
                const dt = new DataTransfer();
                dt.items.add(file);
                const t0 = performance.now();
                window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
                let s;
                for (;;) {
                    s = window.samAnnotator.state();
                    if (s.image?.file === `local:${name}` && s.image.embedding_loaded) break;
                    if (performance.now() - t0 > 120000) throw new Error(`${name}: not encoded in 120 s`);
                    await new Promise((res) => setTimeout(res, 5));
                }
                const t_embed = performance.now();
                const p = await window.samAnnotator.prompt({ points: [[Math.round(s.image.width / 2), Math.round(s.image.height / 2), 1]] });
                if (!p.candidates?.length) throw new Error(`${name}: no candidates`);
                return { embed: t_embed - t0, first: performance.now() - t0, backend: s.encoding.description };
            }, `/samples/${path.basename(photo)}`);
            embed.push(r.embed);
            first.push(r.first);
            backend = r.backend;
        } finally {
            await context.close();
        }
    }
    return { drop_to_embedding_ms: summarize(embed), drop_to_first_mask_ms: summarize(first), backend };
}

// browser: launch_browser() result; site: build/wasm/site. Returns {models: {name: {...}}, drop: {...}}.
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
    }
    const drop = {};
    try {
        const bundle = make_drop_bundle(tmp, site);
        for (const isolation of [false, true]) {
            const b = await startStaticServer({ '/samples/': path.join(repo, 'assets/samples'), '/': bundle }, { isolation });
            try {
                drop[isolation ? '2threads' : '1thread'] = await drop_to_first_mask(browser, b.url, SAMPLES.slice(1));
            } finally {
                await b.close();
            }
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    return { image: path.basename(SAMPLES[0]), runs, models: results, drop };
}

const f = (x) => (x === undefined ? 'n/a' : `${Math.round(x)} ms`);

export function encoder_table(r) {
    const rows = [];
    for (const [name, m] of Object.entries(r.models)) {
        rows.push([`${name} encoder (${(m.onnx_bytes / 2 ** 20).toFixed(1)} MiB ONNX), Chromium ONNX Runtime Web, p50`,
            f(m.chromium_1thread_ms?.p50), f(m.chromium_2thread_ms?.p50)]);
        rows.push([`${name}: decode + preprocessing in the worker (core, wasm), p50`, f(m.chromium_1thread_prep_ms?.p50), f(m.chromium_2thread_prep_ms?.p50)]);
        rows.push([`${name}: onnxruntime-node, same input, p50`, f(m.node_1thread_ms?.p50), f(m.node_2thread_ms?.p50)]);
    }
    rows.push(['drop a photo on the static demo -> embedding, p50', f(r.drop['1thread']?.drop_to_embedding_ms?.p50), f(r.drop['2threads']?.drop_to_embedding_ms?.p50)]);
    rows.push(['drop a photo on the static demo -> first mask (click candidates), p50', f(r.drop['1thread']?.drop_to_first_mask_ms?.p50), f(r.drop['2threads']?.drop_to_first_mask_ms?.p50)]);
    const load = os.loadavg().map((x) => x.toFixed(1)).join('/');
    const enc = r.models.bundled?.chromium_1thread_ms?.p50, drop1 = r.drop['1thread']?.drop_to_first_mask_ms?.p50;
    return [`In-browser encoding (image ${r.image}, p50 of ${r.runs} after a warm-up; drops: ${r.drop['1thread']?.drop_to_first_mask_ms?.n ?? 0} photos, ` +
        `each in a fresh context; load ${load} after):`, '',
        '| in-browser encoding | 1 thread | 2 threads |', '| --- | ---: | ---: |',
        ...rows.map((x) => `| ${x.join(' | ')} |`), '',
        `Targets: bundled encoder in Chromium <= 1 s at 1 thread (${f(enc)}: ${enc <= 1000 ? 'met' : 'NOT met'}); ` +
        `drop -> first mask <= 2 s (${f(drop1)} at 1 thread: ${drop1 <= 2000 ? 'met' : 'NOT met'}).`].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const args = process.argv.slice(2);
    const opt = {};
    for (let i = 0; i < args.length; i++) {
        if (args[i] === '--out') opt.out = args[++i];
        else if (args[i] === '--runs') opt.runs = Number(args[++i]);
        else if (args[i] === '--merge') opt.merge = args[++i];
        else { console.error('usage: node scripts/benchmark/encoder_run.mjs [--out bench] [--runs 5] [--merge results.json]'); process.exit(2); }
    }
    const b = await launch_browser();
    try {
        const { merge, ...o } = opt;
        const r = await run_encoder_bench({ browser: b, ...o });
        const t = encoder_table(r);
        if (merge) {
            const all = fs.existsSync(merge) ? JSON.parse(fs.readFileSync(merge, 'utf8')) : {};
            all.encoder_bench = r;
            all.encoder_bundled_chromium_1thread_ms = r.models.bundled?.chromium_1thread_ms?.p50;
            all.drop_to_first_mask_ms_1thread = r.drop['1thread']?.drop_to_first_mask_ms?.p50;
            all.drop_to_first_mask_ms_2threads = r.drop['2threads']?.drop_to_first_mask_ms?.p50;
            fs.writeFileSync(merge, JSON.stringify(all, null, 1) + '\n');
            const md = path.join(path.dirname(merge), 'results.md');
            if (fs.existsSync(md)) fs.appendFileSync(md, '\n' + t + '\n');
        }
        process.stderr.write(t + '\n');
        console.log(JSON.stringify(r, null, 1));
    } finally {
        await b.close();
    }
}
