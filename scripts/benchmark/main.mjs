// main.mjs - the browser half of scripts/bench (scripts/bench prepares the models, the
// dataset and the native results first, then runs this).
//   node scripts/benchmark/main.mjs --out bench --app build/wasm/site --www bench/www \
//        --dataset bench/dataset --core-json bench/core_bench.json [--prompts 30] [--warmups 3]
// Starts scripts/serve (COOP/COEP, so pages are cross-origin isolated), measures in one
// Chromium: baseline and ours, 1 thread then 2, interleaved; accept; load bytes and
// navigation -> first mask; writes OUT/results.json and prints the markdown table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch_browser, chromium_version } from './browser.mjs';
import { start_serve } from './server.mjs';
import { run_baseline } from './baseline_run.mjs';
import { run_app } from './app_run.mjs';
import { measure_accepts } from './accept_run.mjs';
import { measure_everything, measure_detector_boxes } from './pre_annotation_run.mjs';
import { make_save_dataset, measure_saves } from './save_run.mjs';
import { worker_decode_probe } from './diagnostics.mjs';
import { prompt_positions, summarize } from './stats.mjs';
import { markdown_table } from './report.mjs';

function parse_args(argv) {
    const o = { out: 'bench', prompts: 30, warmups: 3, threads: [1, 2], accepts: 10, server_json: null,
        everything_points: 12, boxes: 100, saves: [10, 1000], save_annotations: 30, save_edits: 8 };  // 12x12 timed, scaled to 32x32 in the table (1024 points: ~10 min here)
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i], v = () => argv[++i];
        if (a === '--out') o.out = v();
        else if (a === '--app') o.app = v();
        else if (a === '--www') o.www = v();
        else if (a === '--dataset') o.dataset = v();
        else if (a === '--core-json') o.core_json = v();
        else if (a === '--server-json') o.server_json = v();
        else if (a === '--prompts') o.prompts = Number(v());
        else if (a === '--warmups') o.warmups = Number(v());
        else if (a === '--accepts') o.accepts = Number(v());
        else if (a === '--threads') o.threads = v().split(',').map(Number);
        else if (a === '--everything-points') o.everything_points = Number(v());
        else if (a === '--boxes') o.boxes = Number(v());
        else if (a === '--saves') o.saves = v().split(',').map(Number).filter((n) => n > 0);
        else throw new Error(`unknown argument ${a}`);
    }
    for (const k of ['app', 'www', 'dataset']) if (!o[k]) throw new Error(`--${k} is required`);
    return o;
}

function summarize_fields(samples, fields) {
    const out = {};
    for (const f of fields) out[f] = summarize(samples.map((s) => s[f]));
    return out;
}

// Google Benchmark JSON -> {decoder: {postprocess_to_mask_ms, ...}, smooth: {...}} (CPU time, ms).
function read_core_bench(file) {
    if (!file || !fs.existsSync(file)) return null;
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    const out = {};
    for (const b of j.benchmarks || []) {
        const m = /^BM_(\w+)\/(\d)$/.exec(b.name);
        if (!m || b.run_type === 'aggregate') continue;
        const mask = b.label || m[2];
        out[mask] = out[mask] || {};
        out[mask][`${m[1]}_ms`] = Math.round(b.cpu_time * 100) / 100;
        out[mask][`${m[1]}_wall_ms`] = Math.round(b.real_time * 100) / 100;
        for (const k of ['area_frac', 'runs', 'rings', 'outer_points']) if (b[k] !== undefined) out[mask][k] = b[k];
    }
    return { host: j.context?.host_name, per_mask: out };
}

async function main() {
    const o = parse_args(process.argv.slice(2));
    const manifest = JSON.parse(fs.readFileSync(path.join(o.dataset, 'manifest.json'), 'utf8'));
    const image = manifest.images[0];
    const dataset_name = path.basename(path.resolve(o.dataset));
    const manifest_url = `/datasets/${dataset_name}/manifest.json`;
    const positions = prompt_positions(image.width, image.height, o.warmups + o.prompts);
    const load_before = os.loadavg();
    const t_start = Date.now();

    // Save datasets (issue 15): N images x 30 annotations, in the whole-document form the server reads.
    const save_dirs = o.saves.map((n) => {
        const dir = path.join(path.resolve(o.out), `save_${n}`);
        make_save_dataset(dir, { images: n, annotations: o.save_annotations, width: image.width, height: image.height,
            image_file: path.join(o.dataset, image.file), embedding_file: path.join(o.dataset, image.embedding),
            decoder_file: path.join(o.dataset, manifest.model.decoder) });
        return dir;
    });
    const srv = await start_serve(['--app', o.app, '--static', o.www, '--static', path.join(path.dirname(new URL(import.meta.url).pathname), 'web'), o.dataset, ...save_dirs]);
    const b = await launch_browser();
    const results = {
        date: new Date().toISOString(),
        machine: {
            cpu_model: os.cpus()[0]?.model || 'unknown', cpus: os.cpus().length, total_mem_bytes: os.totalmem(),
            platform: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version, chromium: chromium_version(),
            load_before, load_after: null,
        },
        settings: {
            image: { file: image.file, width: image.width, height: image.height }, prompts: o.prompts, warmups: o.warmups,
            threads: o.threads, decoder_params: 4064816, positions_image_px: positions,
            baseline_model: 'official_decoder_single.onnx (official export, return_single_mask), fp32 and quantized as the official notebook does (quantize_baseline.py); the headline ratio is against the faster',
            ours_model: 'our fast export (low_res_masks + iou_predictions only, 4 masks)',
            timing: 'input event.timeStamp -> the animation frame after the frame that first paints the mask',
        },
        ratio_click_to_mask_p50: null,
        idle_cpu_percent: null, accept_p50_ms: null, save_ms_per_edit_1000_images: null, frame_ms_p95_hover: null,
        ratio_click_to_mask_p50_2threads: null,
        baseline: {}, baseline_quantized: {}, ours_interactive: {}, ours_accept: {}, ours_pre_annotation: {}, ours_saves: {}, load: {}, server: [], core_bench: null, raw: {},
    };
    try {
        for (const threads of o.threads) {
            process.stderr.write(`bench: baseline, ${threads} thread(s)...\n`);
            const rb = await run_baseline(b, srv.url, {
                threads, positions, warmups: o.warmups, manifest: manifest_url,
                model: '/models/official_decoder_single.onnx', ort: '/ort/ort.wasm.min.mjs',
            });
            if (!rb.cross_origin_isolated && threads > 1) { process.stderr.write('bench: page not cross-origin isolated, skipping threads > 1\n'); break; }
            process.stderr.write(`bench: baseline quantized, ${threads} thread(s)...\n`);
            const rq = await run_baseline(b, srv.url, {
                threads, positions, warmups: o.warmups, manifest: manifest_url,
                model: '/models/official_decoder_single_quantized.onnx', ort: '/ort/ort.wasm.min.mjs',
            });
            process.stderr.write(`bench: ours, ${threads} thread(s)...\n`);
            const ro = await run_app(b, srv.url, {
                threads, positions, warmups: o.warmups, manifest: manifest_url, after: (page) => worker_decode_probe(page),
            });
            const key = `threads_${threads}`;
            const desc = ro.info.decoder?.description || '';
            if (!desc.includes(`${threads} thread`)) {
                throw new Error(`the app reports decoder "${desc}", not ${threads} thread(s): is build/wasm/site older than ?threads= support?`);
            }
            results.baseline[key] = summarize_fields(rb.samples, ['click_to_mask_ms', 'to_mask_frame_ms', 'decode_ms', 'to_image_ms', 'show_ms']);
            results.baseline_quantized[key] = summarize_fields(rq.samples, ['click_to_mask_ms', 'to_mask_frame_ms', 'decode_ms', 'to_image_ms', 'show_ms']);
            // the headline compares with the faster of the two official pipelines
            const fastest = Math.min(results.baseline[key].click_to_mask_ms.p50, results.baseline_quantized[key].click_to_mask_ms.p50);
            results.baseline_quantized[key].faster = results.baseline_quantized[key].click_to_mask_ms.p50 < results.baseline[key].click_to_mask_ms.p50;
            results.ours_interactive[key] = summarize_fields(ro.samples, ['click_to_mask_ms', 'to_mask_frame_ms', 'decode_ms', 'round_trip_ms', 'result_to_frame_ms']);
            results.ours_interactive[key].decoder = ro.info.decoder?.description;
            results.ours_interactive[key].frame_ms = summarize(ro.frame_ms || []);
            results.ours_interactive[key].idle_cpu_pct = ro.idle_cpu_pct;
            results.ours_interactive[key].encoder_preload_wait_ms = ro.encoder_preload_wait_ms;
            results.ours_interactive[key].encoder_status = ro.encoder_status;
            results.ours_interactive[key].worker_decode_probe = ro.after;
            results.ours_interactive[key].ratio_p50 =
                Math.round(results.ours_interactive[key].click_to_mask_ms.p50 / fastest * 1000) / 1000;
            results.raw[`baseline_${key}`] = rb.samples;
            results.raw[`baseline_quantized_${key}`] = rq.samples;
            results.raw[`ours_${key}`] = ro.samples;
            if (threads === o.threads[0]) {
                results.load.ours = { bytes: ro.bytes, first_mask_ms: ro.first_mask_ms && Math.round(ro.first_mask_ms), idle_cpu_pct: ro.idle_cpu_pct };
                results.load.baseline = { bytes: rb.bytes, first_mask_ms: rb.first_mask_ms && Math.round(rb.first_mask_ms), idle_cpu_pct: rb.idle_cpu_pct };
            }
        }
        // Accepts last, on a page of their own: accepted annotations are saved into the
        // dataset and would otherwise be drawn during the later interactive runs.
        if (o.accepts > 0) {
            process.stderr.write(`bench: ours, accept x${o.accepts}...\n`);
            const ra = await run_app(b, srv.url, {
                threads: o.threads[0], positions: [], warmups: 0, manifest: manifest_url,
                after: (page, s) => measure_accepts(page, s, prompt_positions(image.width, image.height, o.accepts)),
            });
            if (ra.after.samples.length) results.ours_accept.browser = summarize(ra.after.samples);
            if (ra.after.app_ms) results.ours_accept.app_main_thread_ms = { accept: summarize(ra.after.app_ms.accept), overlay: summarize(ra.after.app_ms.overlay) };
            if (ra.after.error) results.ours_accept.browser_error = ra.after.error;
            results.raw.accept_browser_ms = ra.after.samples;
        }
        // Pre-annotation in the browser (issue 8), each on a page of its own: a segment-everything
        // pass (the bench dataset has no server proposals) and a file of detector boxes.
        const pre = results.ours_pre_annotation;
        pre.threads = o.threads[0];
        if (o.everything_points > 0) {
            process.stderr.write(`bench: ours, segment everything ${o.everything_points}x${o.everything_points} in the browser...\n`);
            try {
                pre.everything = (await run_app(b, srv.url, {
                    threads: o.threads[0], positions: [], warmups: 0, manifest: manifest_url,
                    after: (page, s) => measure_everything(page, s, { points_per_side: o.everything_points }),
                })).after;
            } catch (e) { pre.everything = { error: e.message }; }
        }
        if (o.boxes > 0) {
            process.stderr.write(`bench: ours, ${o.boxes} detector boxes in the browser...\n`);
            try {
                pre.boxes = (await run_app(b, srv.url, {
                    threads: o.threads[0], positions: [], warmups: 0, manifest: manifest_url,
                    after: (page, s) => measure_detector_boxes(page, s, { boxes: o.boxes }),
                })).after;
            } catch (e) { pre.boxes = { error: e.message }; }
        }
        // Edit -> saved with 10 and 1000 images x 30 annotations (browser store + server).
        for (let k = 0; k < o.saves.length; k++) {
            const n = o.saves[k];
            process.stderr.write(`bench: ours, saves with ${n} images x ${o.save_annotations} annotations...\n`);
            try {
                results.ours_saves[`images_${n}`] = await measure_saves(b, srv.url, path.basename(save_dirs[k]), { edits: o.save_edits });
            } catch (e) { results.ours_saves[`images_${n}`] = { error: e.message }; }
        }
        const t1 = `threads_${o.threads[0]}`;
        results.ratio_click_to_mask_p50 = results.ours_interactive[t1]?.ratio_p50 ?? null;
        results.ratio_click_to_mask_p50_2threads = results.ours_interactive.threads_2?.ratio_p50 ?? null;
        results.idle_cpu_percent = results.ours_interactive[t1]?.idle_cpu_pct ?? null;
        results.accept_p50_ms = results.ours_accept.browser?.p50 ?? null;
        results.frame_ms_p95_hover = results.ours_interactive[t1]?.frame_ms?.p95 ?? null;
        const probe = results.ours_interactive[t1]?.worker_decode_probe;
        results.decode_on_screen_over_paused_p50 = probe?.running?.p50 && probe?.paused?.p50
            ? Math.round(probe.running.p50 / probe.paused.p50 * 1000) / 1000 : null;
        for (const n of o.saves) {
            const r = results.ours_saves[`images_${n}`];
            results[`save_ms_per_edit_${n}_images`] = r?.ms_per_edit?.p50 ?? null;
            results[`save_bytes_per_edit_${n}_images`] = r && !r.error ? { browser_store: r.store_bytes_per_edit, server: r.server_bytes_per_edit, server_mode: r.server_mode } : null;
        }
    } finally {
        await b.close();
        await srv.close();
    }
    const core = read_core_bench(o.core_json);
    if (core) {
        results.core_bench = core;
        results.ours_accept.native = core.per_mask;
    }
    if (o.server_json && fs.existsSync(o.server_json)) results.server = JSON.parse(fs.readFileSync(o.server_json, 'utf8'));
    results.machine.load_after = os.loadavg();
    results.browser_seconds = Math.round((Date.now() - t_start) / 1000);
    fs.mkdirSync(o.out, { recursive: true });
    fs.writeFileSync(path.join(o.out, 'results.json'), JSON.stringify(results, null, 1) + '\n');
    const md = markdown_table(results);
    fs.writeFileSync(path.join(o.out, 'results.md'), md + '\n');
    console.log(md);
}

main().catch((e) => { console.error(`bench: ${e.stack || e.message}`); process.exit(1); });
