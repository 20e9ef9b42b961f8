// sam2_run.mjs - SAM 2.1 figures on this machine, as JSON on stdout, for scripts/bench:
// the Hiera-T encoder's time per image and the decoder's time per prompt in
// onnxruntime-node at 1 and 2 threads, the bytes per image a dataset stores
// (SAM 2.1's three tensors against SAM 1's one, float16 and float32), and the decoder
// in headless Chromium: the annotator (build/wasm/site, scripts/serve) on a dataset that
// scripts/embed makes from one sample image with the model, hover prompts at 1 and 2
// threads (decode time inside ONNX Runtime Web's worker, mouse move -> mask on screen)
// and the worker alone (app drawing / paused).
//   node scripts/benchmark/sam2_run.mjs [--model DIR] [--runs 3] [--decoder-runs 20]
//        [--sam1-encoder encoder.onnx] [--parts native,browser] [--prompts 20] [--warmups 3]
//        [--image assets/samples/rocket.jpg] [--sam1-decoder decoder.onnx] [--app build/wasm/site]
// --model: a folder from scripts/model/export (encoder.onnx, decoder.onnx); default
// build/models/sam2.1_hiera_t-random, exported with seeded random weights when
// missing (speed does not depend on the weights). --sam1-encoder times a SAM 1
// encoder the same way in the same run and adds the ratio (other jobs on a shared
// machine move absolute times; ratios from one run move less). --sam1-decoder (a SAM 1
// decoder ONNX, e.g. `scripts/model/export --model-type vit_b --random-weights
// --decoder-only`) times it in the browser the same way on the same image (a random
// embedding) and adds the ratio.
// Each figure: {threads, runs, ms: summarize() of the timed runs after one warm-up}.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { launch_browser, chromium_version } from './browser.mjs';
import { run_app } from './app_run.mjs';
import { worker_decode_probe } from './diagnostics.mjs';
import { start_serve } from './server.mjs';
import { prompt_positions, summarize } from './stats.mjs';
import { npy_bytes } from '../embedder/npy_file.mjs';
import { SAM1_SPEC, SAM2_1_SPEC, spec_for_encoder } from '../lib/model_spec.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function ensure_model(dir) {
    if (fs.existsSync(path.join(dir, 'encoder.onnx')) && fs.existsSync(path.join(dir, 'decoder.onnx'))) return;
    console.error(`sam2_run: exporting a random-weight sam2.1_hiera_t into ${dir} (a few minutes)`);
    const r = spawnSync(path.join(repo, 'scripts/model/export'), ['--model-type', 'sam2.1_hiera_t', '--random-weights', '--out', dir],
        { stdio: ['ignore', 2, 2] });
    if (r.status !== 0) throw new Error('scripts/model/export failed');
}

function random_f32(n, seed) {
    const a = new Float32Array(n);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) {
        x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
        a[i] = (x / 4294967296) * 2 - 1;
    }
    return a;
}

async function time_runs(file, threads, runs, make_feeds, outputs) {
    const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1 });
    try {
        const feeds = make_feeds(session);
        await session.run(feeds, outputs(session));  // warm-up
        const ms = [];
        for (let i = 0; i < runs; i++) {
            const t0 = process.hrtime.bigint();
            await session.run(feeds, outputs(session));
            ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        return { threads, runs, ms: summarize(ms) };
    } finally {
        await session.release?.();
    }
}

const image_feeds = (session) => ({ [session.inputNames[0]]: new ort.Tensor('float32', random_f32(3 * 1024 * 1024, 1), [1, 3, 1024, 1024]) });

function decoder_feeds() {
    const feeds = {};
    SAM2_1_SPEC.features.forEach((f, i) => {
        feeds[f.name] = new ort.Tensor('float32', random_f32(f.shape.reduce((a, b) => a * b, 1), 10 + i), f.shape);
    });
    // One click and the padding point (added in the graph): a hover decode.
    feeds.point_coords = new ort.Tensor('float32', Float32Array.from([400, 500]), [1, 1, 2]);
    feeds.point_labels = new ort.Tensor('float32', Float32Array.from([1]), [1, 1]);
    feeds.mask_input = new ort.Tensor('float32', new Float32Array(256 * 256), [1, 1, 256, 256]);
    feeds.has_mask_input = new ort.Tensor('float32', Float32Array.from([0]), [1]);
    return feeds;
}

// What scripts/embed writes per image (the .npy files, headers included).
function bytes_per_image(spec) {
    const out = {};
    for (const dtype of ['float16', 'float32']) {
        out[dtype] = spec.features.reduce((s, f) => {
            const n = f.shape.reduce((a, b) => a * b, 1);
            return s + npy_bytes(new Float32Array(n), f.shape, dtype).length;
        }, 0);
    }
    return out;
}

// A dataset of one image for the browser runs: SAM 2.1 by scripts/embed with the model
// (the real path: preprocessing, encoder, three float16 features, version 2 manifest);
// SAM 1 beside it with a random embedding and the given decoder (decode speed does not
// depend on the values).
function make_browser_datasets(dir, model, image, sam1_decoder) {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src, { recursive: true });
    fs.copyFileSync(image, path.join(src, path.basename(image)));
    const sam2 = path.join(dir, 'sam2_bench');
    const r = spawnSync(path.join(repo, 'scripts/embed'), ['--encoder', path.join(model, 'encoder.onnx'), '--decoder', path.join(model, 'decoder.onnx'),
        '--images', src, '--out', sam2, '--model-id', 'sam2.1_hiera_t-bench'], { stdio: ['ignore', 2, 2] });
    if (r.status !== 0) throw new Error('scripts/embed failed');
    const out = { 'sam2.1': sam2 };
    if (sam1_decoder) {
        const m2 = JSON.parse(fs.readFileSync(path.join(sam2, 'manifest.json'), 'utf8'));
        const e = m2.images[0];
        const sam1 = path.join(dir, 'sam1_bench');
        fs.mkdirSync(path.join(sam1, 'images'), { recursive: true });
        fs.mkdirSync(path.join(sam1, 'embeddings'), { recursive: true });
        fs.copyFileSync(path.join(sam2, e.file), path.join(sam1, e.file));
        fs.copyFileSync(sam1_decoder, path.join(sam1, 'decoder.onnx'));
        const embedding = `embeddings/${path.basename(e.file).replace(/\.[^.]+$/, '')}.npy`;
        fs.writeFileSync(path.join(sam1, embedding), npy_bytes(random_f32(256 * 64 * 64, 7), [1, 256, 64, 64], 'float16'));
        fs.writeFileSync(path.join(sam1, 'manifest.json'), JSON.stringify({
            version: 1, model: { id: 'sam1-bench', decoder: 'decoder.onnx' },
            images: [{ id: 1, file: e.file, width: e.width, height: e.height, sha256: e.sha256, embedding, embedding_dtype: 'float16' }],
        }));
        out.sam = sam1;
    }
    return out;
}

async function browser_figures(o) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam2-bench-'));
    try {
        const datasets = make_browser_datasets(dir, o.model, o.image, o.sam1_decoder);
        const srv = await start_serve(['--app', o.app, ...Object.values(datasets)]);
        const b = await launch_browser();
        const out = { chromium: chromium_version(), image: null, prompts: o.prompts, warmups: o.warmups, runs: {} };
        try {
            for (const threads of [1, 2]) {
                for (const [family, ds] of Object.entries(datasets)) {
                    const m = JSON.parse(fs.readFileSync(path.join(ds, 'manifest.json'), 'utf8'));
                    const im = m.images[0];
                    out.image = { file: path.basename(o.image), width: im.width, height: im.height };
                    process.stderr.write(`sam2_run: browser, ${family}, ${threads} thread(s)...\n`);
                    const r = await run_app(b, srv.url, {
                        threads, positions: prompt_positions(im.width, im.height, o.warmups + o.prompts), warmups: o.warmups,
                        manifest: `/datasets/${path.basename(ds)}/manifest.json`,
                        after: (page) => worker_decode_probe(page, 8, { padding: family === 'sam' }),
                    });
                    out.runs[`${family}_threads_${threads}`] = {
                        family, threads, decoder: r.info.decoder?.description, cross_origin_isolated: r.cross_origin_isolated,
                        decode_ms: summarize(r.samples.map((x) => x.decode_ms)),
                        click_to_mask_ms: summarize(r.samples.map((x) => x.click_to_mask_ms)),
                        worker_alone_ms: r.after,
                        bytes: r.bytes,
                    };
                }
                const two = out.runs[`sam_threads_${threads}`], one = out.runs[`sam2.1_threads_${threads}`];
                if (two && one) one.ratio_decode_p50_sam2_to_sam = Math.round((one.decode_ms.p50 / two.decode_ms.p50) * 100) / 100;
            }
        } finally {
            await b.close();
            await srv.close();
        }
        return out;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

async function main() {
    const { values } = parseArgs({
        options: {
            model: { type: 'string', default: path.join(repo, 'build/models/sam2.1_hiera_t-random') },
            runs: { type: 'string', default: '3' },
            'decoder-runs': { type: 'string', default: '20' },
            'sam1-encoder': { type: 'string' },
            parts: { type: 'string', default: 'native,browser' },
            prompts: { type: 'string', default: '20' },
            warmups: { type: 'string', default: '3' },
            image: { type: 'string', default: path.join(repo, 'assets/samples/rocket.jpg') },
            'sam1-decoder': { type: 'string' },
            app: { type: 'string', default: path.join(repo, 'build/wasm/site') },
        },
    });
    const parts = values.parts.split(',');
    const runs = Number(values.runs), decoder_runs = Number(values['decoder-runs']);
    ensure_model(values.model);
    const encoder = path.join(values.model, 'encoder.onnx');
    const decoder = path.join(values.model, 'decoder.onnx');
    const probe = await ort.InferenceSession.create(encoder);
    if (spec_for_encoder(probe.outputNames, encoder) !== SAM2_1_SPEC) throw new Error(`${encoder} is not a SAM 2.1 encoder`);
    const all_outputs = (s) => s.outputNames;
    await probe.release?.();

    const result = {
        what: 'sam2.1',
        machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg_start: os.loadavg().map((v) => Math.round(v * 100) / 100) },
        encoder: { file: path.relative(repo, encoder), mb: Math.round(fs.statSync(encoder).size / 1e5) / 10, per_image: [] },
        decoder: { file: path.relative(repo, decoder), mb: Math.round(fs.statSync(decoder).size / 1e5) / 10, per_prompt: [] },
        bytes_per_image: { 'sam2.1': bytes_per_image(SAM2_1_SPEC), sam: bytes_per_image(SAM1_SPEC) },
    };
    const b = result.bytes_per_image;
    b.ratio_sam2_to_sam_float16 = Math.round((b['sam2.1'].float16 / b.sam.float16) * 100) / 100;
    b.ratio_sam2_float16_to_sam_float32 = Math.round((b['sam2.1'].float16 / b.sam.float32) * 100) / 100;

    for (const threads of parts.includes('native') ? [1, 2] : []) {
        result.encoder.per_image.push(await time_runs(encoder, threads, runs, image_feeds, all_outputs));
        result.decoder.per_prompt.push(await time_runs(decoder, threads, decoder_runs, decoder_feeds, all_outputs));
        if (values['sam1-encoder']) {
            result.sam1_encoder ??= { file: values['sam1-encoder'], per_image: [] };
            const sam1 = await time_runs(values['sam1-encoder'], threads, runs, image_feeds, all_outputs);
            result.sam1_encoder.per_image.push(sam1);
            sam1.ratio_sam2_to_sam1 = Math.round((result.encoder.per_image.at(-1).ms.p50 / sam1.ms.p50) * 100) / 100;
        }
    }
    if (parts.includes('browser')) {
        result.browser = await browser_figures({
            model: values.model, app: values.app, image: values.image, sam1_decoder: values['sam1-decoder'],
            prompts: Number(values.prompts), warmups: Number(values.warmups),
        });
    }
    result.machine.loadavg_end = os.loadavg().map((v) => Math.round(v * 100) / 100);
    console.log(JSON.stringify(result, null, 1));
}

main().catch((err) => { console.error(`sam2_run: ${err.message}`); process.exit(1); });
