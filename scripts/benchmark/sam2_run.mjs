// sam2_run.mjs - SAM 2.1 figures on this machine, as JSON on stdout, for scripts/bench:
// the Hiera-T encoder's time per image and the decoder's time per prompt in
// onnxruntime-node at 1 and 2 threads, and the bytes per image a dataset stores
// (SAM 2.1's three tensors against SAM 1's one, float16 and float32).
//   node scripts/benchmark/sam2_run.mjs [--model DIR] [--runs 3] [--decoder-runs 20]
//        [--sam1-encoder encoder.onnx]
// --model: a folder from scripts/model/export (encoder.onnx, decoder.onnx); default
// build/models/sam2.1_hiera_t-random, exported with seeded random weights when
// missing (speed does not depend on the weights). --sam1-encoder times a SAM 1
// encoder the same way in the same run and adds the ratio (other jobs on a shared
// machine move absolute times; ratios from one run move less).
// Each figure: {threads, runs, ms: summarize() of the timed runs after one warm-up}.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { summarize } from './stats.mjs';
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

async function main() {
    const { values } = parseArgs({
        options: {
            model: { type: 'string', default: path.join(repo, 'build/models/sam2.1_hiera_t-random') },
            runs: { type: 'string', default: '3' },
            'decoder-runs': { type: 'string', default: '20' },
            'sam1-encoder': { type: 'string' },
        },
    });
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

    for (const threads of [1, 2]) {
        result.encoder.per_image.push(await time_runs(encoder, threads, runs, image_feeds, all_outputs));
        result.decoder.per_prompt.push(await time_runs(decoder, threads, decoder_runs, decoder_feeds, all_outputs));
        if (values['sam1-encoder']) {
            result.sam1_encoder ??= { file: values['sam1-encoder'], per_image: [] };
            const sam1 = await time_runs(values['sam1-encoder'], threads, runs, image_feeds, all_outputs);
            result.sam1_encoder.per_image.push(sam1);
            sam1.ratio_sam2_to_sam1 = Math.round((result.encoder.per_image.at(-1).ms.p50 / sam1.ms.p50) * 100) / 100;
        }
    }
    result.machine.loadavg_end = os.loadavg().map((v) => Math.round(v * 100) / 100);
    console.log(JSON.stringify(result, null, 1));
}

main().catch((err) => { console.error(`sam2_run: ${err.message}`); process.exit(1); });
