// time_onnx.mjs - what a model costs at run time: median milliseconds per image of
// encoder.onnx files in onnxruntime-node, and per decode of decoder ONNX files in
// onnxruntime-node and in ONNX Runtime Web's wasm backend (run in Node, one thread,
// as a page without cross-origin isolation gets), asking for the low-res outputs only.
//   node scripts/model/time_onnx.mjs --encoder tests/fixtures/tiny/encoder.onnx \
//        --decoder tests/fixtures/tiny/decoder.onnx [--runs 5] [--threads 1]
// Prints one markdown table row per file with the least CPU time of this process
// per run and the median wall time: with one thread the CPU time is what the run
// costs even when other jobs share the cores (wall time then mostly measures
// waiting), and its minimum is the run least disturbed by them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import * as ort_web from 'onnxruntime-web';
import { load_decoder_session, decoder_feeds } from '../lib/decoder_session.mjs';

function parse(argv) {
    const o = { encoders: [], decoders: [], runs: 5, threads: 1 };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
        if (a === '--encoder') o.encoders.push(val());
        else if (a === '--decoder') o.decoders.push(val());
        else if (a === '--runs') o.runs = Number(val());
        else if (a === '--threads') o.threads = Number(val());
        else throw new Error(`unknown argument ${a}; usage: see the head of ${process.argv[1]}`);
    }
    if (!o.encoders.length && !o.decoders.length) throw new Error('give --encoder and/or --decoder files');
    return o;
}

// -> {wall, cpu}: median wall-clock ms and least user+system CPU ms of this process.
async function median_ms(runs, fn) {
    await fn();  // warm-up: the first run allocates and plans
    const wall = [];
    const cpu = [];
    for (let i = 0; i < runs; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await fn();
        wall.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
    }
    const med = (t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)];
    return { wall: med(wall), cpu: Math.min(...cpu) };
}

const show = (t, digits) => `${t.cpu.toFixed(digits)} (${t.wall.toFixed(digits)})`;

function random_f32(n, seed) {
    let s = seed >>> 0;
    return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 4 - 2);
}

const mb = (file) => (fs.statSync(file).size / 1e6).toFixed(1);

async function main() {
    const o = parse(process.argv.slice(2));
    const threads = { intraOpNumThreads: o.threads, interOpNumThreads: 1 };
    console.log(`# ${os.cpus().length} CPUs (${os.cpus()[0].model}), load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ` +
        `onnxruntime-node ${o.threads} thread(s), ${o.runs} runs: least CPU ms (median wall ms)`);
    if (o.encoders.length) {
        console.log('| encoder | MB | onnxruntime-node ms/image |\n| --- | ---: | ---: |');
        const input = random_f32(3 * 1024 * 1024, 1);
        for (const file of o.encoders) {
            const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', ...threads });
            const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', input, [1, 3, 1024, 1024]) };
            const ms = await median_ms(o.runs, () => s.run(feeds));
            console.log(`| ${path.relative(process.cwd(), file)} | ${mb(file)} | ${show(ms, 0)} |`);
            await s.release();
        }
    }
    if (o.decoders.length) {
        ort_web.env.wasm.numThreads = 1;
        console.log('| decoder | MB | onnxruntime-node ms | ORT Web wasm 1 thread ms |\n| --- | ---: | ---: | ---: |');
        const emb = random_f32(256 * 64 * 64, 2);
        const prompt = { image_embeddings: emb, point_coords: [300.5, 410.25, 0, 0], point_labels: [1, -1], orig_im_size: [1500, 2250] };
        for (const file of o.decoders) {
            const node = await load_decoder_session(ort, file, { session_options: threads });
            const web = await load_decoder_session(ort_web, new Uint8Array(fs.readFileSync(file)),
                { session_options: { executionProviders: ['wasm'] } });
            const fn = decoder_feeds(ort, prompt);
            const fw = decoder_feeds(ort_web, prompt);
            const node_ms = await median_ms(o.runs, () => node.run(fn));
            const web_ms = await median_ms(o.runs, () => web.run(fw));
            console.log(`| ${path.relative(process.cwd(), file)} (${node.kind}) | ${mb(file)} | ${show(node_ms, 1)} | ${show(web_ms, 1)} |`);
        }
    }
}

main().catch((err) => { console.error(err.message); process.exit(1); });
