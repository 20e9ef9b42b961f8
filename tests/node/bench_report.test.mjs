// Smoke test of scripts/bench's pure parts (the benchmark itself is not a test):
// percentiles, prompt positions and the markdown table of a results object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, summarize, prompt_positions } from '../../scripts/benchmark/stats.mjs';
import { markdown_table } from '../../scripts/benchmark/report.mjs';

test('percentiles interpolate like numpy (linear) and ignore non-numbers', () => {
    assert.equal(percentile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(percentile([10, 20, 30, 40, 50], 0.95), 48);
    const s = summarize([5, NaN, 1, 3, undefined, 2, 4]);
    assert.deepEqual(s, { n: 5, p50: 3, p95: 4.8, min: 1, max: 5, mean: 3 });
    assert.equal(summarize([]).n, 0);
});

test('prompt positions are distinct, inside the central 80 % and repeatable', () => {
    const p = prompt_positions(2250, 1500, 33);
    assert.equal(p.length, 33);
    assert.equal(new Set(p.map((q) => `${q.x},${q.y}`)).size, 33);
    for (const q of p) {
        assert.ok(q.x >= 225 && q.x <= 2025 && q.y >= 150 && q.y <= 1350, JSON.stringify(q));
    }
    assert.deepEqual(prompt_positions(2250, 1500, 33), p);
});

test('the markdown table carries the headline ratio and every measured row', () => {
    const lat = (p50) => ({ n: 30, p50, p95: p50 * 1.2, min: p50 * 0.9, max: p50 * 1.5, mean: p50 });
    const r = {
        date: '2026-01-01T00:00:00Z',
        machine: { cpu_model: 'cpu', cpus: 2, total_mem_bytes: 2 ** 34, chromium: 'Chromium 1', load_before: [1, 1, 1], load_after: [2, 2, 2] },
        settings: { image: { width: 2250, height: 1500 }, decoder_params: 4064816, warmups: 3, prompts: 30, threads: [1, 2] },
        ratio_click_to_mask_p50: 0.37, ratio_click_to_mask_p50_2threads: 0.375,
        baseline: { threads_1: { click_to_mask_ms: lat(500), decode_ms: lat(300) }, threads_2: { click_to_mask_ms: lat(400) } },
        baseline_quantized: { threads_1: { click_to_mask_ms: lat(450), faster: true }, threads_2: { click_to_mask_ms: lat(420), faster: false } },
        ours_interactive: { threads_1: { click_to_mask_ms: lat(185), ratio_p50: 0.37 }, threads_2: { click_to_mask_ms: lat(150), ratio_p50: 0.375 } },
        ours_accept: { browser: lat(20), native: { smooth: { accept_total_ms: 12.3 } } },
        load: { ours: { bytes: { app: 650000, ort: 14e6, decoder: 16.5e6 }, first_mask_ms: 2000, idle_cpu_pct: 3 },
                baseline: { bytes: { page: 8000, ort: 14e6, decoder: 16.5e6 }, first_mask_ms: 2500, idle_cpu_pct: 1 } },
        server: [{ what: 'everything', figure: '1 s' }],
        ours_pre_annotation: {
            threads: 1,
            everything: { points: 1024, seconds: 61.4, masks: 37, ms_per_point: 60, frame_gaps_ms: { p50: 17, p95: 33, max: 120, n: 900 } },
            boxes: { error: 'detector boxes: not reached within 600 s' },
        },
    };
    const md = markdown_table(r);
    assert.match(md, /\*\*0\.37\*\*/);
    assert.match(md, /\| ours, interactive, 2 threads \| 150 \| 180 \|/);
    assert.match(md, /\| baseline \(official demo pipeline, fp32 export\), 1 thread \| 500 \|/);
    assert.match(md, /\| baseline \(official demo pipeline, quantized as the notebook does\), 1 thread \| 450 \| .*; the faster baseline \|/);
    assert.match(md, /\| baseline \(official demo pipeline, quantized as the notebook does\), 2 threads \| 420 \| 504 \| 378 \| 630 \| decode p50 n\/a, mask->PNG n\/a, show n\/a \|/);
    assert.match(md, /at 1 thread = \*\*0\.37\*\*, at 2 threads 0\.38 \(target <= 0\.4 at both\)/);
    assert.match(md, /click-to-mask <= 0\.4x baseline: 1 thread met, 2 threads met;/);
    assert.match(md, /smooth mask \| 12\.3 \|/);
    assert.match(md, /\| app wasm \+ js \(\+ page\) \| 0\.65 MB \| 0\.01 MB \|/);
    assert.match(md, /\| everything \| 1 s \|/);
    assert.match(md, /\| segment everything, 32x32 points \| 61\.4 s \| 60\.0 ms\/point \| 33 \/ 120 \| 37 masks kept \|/);
    assert.match(md, /\| detector boxes \| \| \| \| not measured: detector boxes: not reached within 600 s \|/);
    // a run without a 2-thread row (page not isolated) reports n/a, not a missed target
    const one = { ...r, ratio_click_to_mask_p50_2threads: undefined };
    assert.match(markdown_table(one), /1 thread met, 2 threads n\/a;/);
    r.ours_pre_annotation = { threads: 1, everything: { points: 144, seconds: 72, masks: 5, ms_per_point: 500, frame_gaps_ms: { p50: 17, p95: 33, max: 120, n: 900 } } };
    assert.match(markdown_table(r), /\| segment everything, 12x12 points \| 72\.0 s \| 500\.0 ms\/point \| 33 \/ 120 \| 5 masks kept; 32x32: ~512 s \(scaled from 12x12\) \|/);
});
