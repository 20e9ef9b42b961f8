// scripts/embed --everything on a 2-image dataset made with the tiny test model:
// proposals written per image, valid COCO RLE, scores above the thresholds, no pair of
// boxes above the NMS threshold, each proposal traceable to a decoder output for its
// own grid point; resumable (skips done images, redoes on changed parameters); crop
// layers with crops embedded on the fly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { TINY, run_embed, make_images, read_json } from './embed_harness.mjs';
import { amg_tool, read_embedding } from '../../scripts/embedder/everything.mjs';
import { find_preprocess_tool } from '../../scripts/embedder/preprocess_tool.mjs';

const ENCODER = path.join(TINY, 'encoder.onnx');
const BATCH = path.join(TINY, 'decoder_batch.onnx');
let tmp, ds;

before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-everything-'));
    ds = path.join(tmp, 'ds');
    make_images(path.join(tmp, 'src'), 2);
    const r = await run_embed(['--encoder', ENCODER, '--images', path.join(tmp, 'src'), '--out', ds]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    fs.copyFileSync(BATCH, path.join(ds, 'decoder_batch.onnx'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The random-weight tiny model predicts IoUs near 0.1 and unstable masks, so the
// official thresholds would keep nothing: these keep some, and NMS is then what matters.
const ARGS = ['--points-per-side', '4', '--pred-iou-thresh', '0.05', '--stability-score-thresh', '0', '--threads', '1'];

function box_iou(a, b) {
    // SAM's bbox is box_xyxy_to_xywh of the XYXY box NMS saw: x1 = x + w exactly.
    const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
    const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
    const inter = ix * iy;
    return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

// Decodes COCO compressed counts (pycocotools rleFrString) to the run lengths.
function rle_counts(s) {
    const counts = [];
    let p = 0;
    while (p < s.length) {
        let x = 0, k = 0, more = 1;
        while (more) {
            const c = s.charCodeAt(p) - 48;
            x |= (c & 0x1f) << (5 * k);
            more = c & 0x20;
            p++; k++;
            if (!more && (c & 0x10)) x |= -1 << (5 * k);
        }
        if (counts.length > 2) x += counts[counts.length - 2];
        counts.push(x);
    }
    return counts;
}

function check_proposals(file, entry, { pred_iou_thresh, stability_score_thresh, box_nms_thresh }) {
    const p = read_json(file);
    assert.equal(p.version, 1);
    assert.equal(p.image, entry.file);
    assert.equal(p.sha256, entry.sha256);
    assert.equal(p.width, entry.width);
    assert.equal(p.height, entry.height);
    assert.ok(p.annotations.length > 0, `${file}: no proposals`);
    assert.equal(p.stats.masks_seen, 4 * 4 * 3);
    for (const a of p.annotations) {
        assert.deepEqual(a.segmentation.size, [entry.height, entry.width]);
        const counts = rle_counts(a.segmentation.counts);
        assert.equal(counts.reduce((s, c) => s + c, 0), entry.width * entry.height);
        assert.equal(counts.filter((_, i) => i % 2 === 1).reduce((s, c) => s + c, 0), a.area);
        assert.ok(a.predicted_iou > pred_iou_thresh, `predicted_iou ${a.predicted_iou}`);
        assert.ok(a.stability_score >= stability_score_thresh);
        assert.deepEqual(a.crop_box, [0, 0, entry.width, entry.height]);
    }
    for (let i = 0; i < p.annotations.length; i++) {
        for (let j = i + 1; j < p.annotations.length; j++) {
            const v = box_iou(p.annotations[i].bbox, p.annotations[j].bbox);
            assert.ok(!(v > box_nms_thresh), `proposals ${i} and ${j} overlap with box IoU ${v}`);
        }
    }
    return p;
}

test('--everything writes proposals that pass the thresholds and NMS', async () => {
    const r = await run_embed(['--everything', '--out', ds, ...ARGS, '--box-nms-thresh', '0.7']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /\[1\/2\] .*: \d+ masks \(48 decoded/);
    assert.match(r.stdout, /everything: 2 images done, 0 skipped, 0 failed/);
    const m = read_json(path.join(ds, 'manifest.json'));
    for (const entry of m.images) {
        const stem = path.basename(entry.embedding, '.npy');
        check_proposals(path.join(ds, 'proposals', `${stem}.json`), entry,
            { pred_iou_thresh: 0.05, stability_score_thresh: 0, box_nms_thresh: 0.7 });
    }
    // Without NMS (threshold 1) there are more masks, and NMS at 0.7 removed only overlaps.
    const r2 = await run_embed(['--everything', '--out', ds, ...ARGS, '--box-nms-thresh', '1']);
    assert.equal(r2.code, 0, r2.stderr + r2.stdout);
    for (const entry of m.images) {
        const p = read_json(path.join(ds, 'proposals', `${path.basename(entry.embedding, '.npy')}.json`));
        assert.equal(p.params.box_nms_thresh, 1);
        assert.ok(p.annotations.length > 1);
    }
});

test('--everything filters by predicted IoU and stability: thresholds remove some masks and keep exactly the others', async () => {
    const entry = read_json(path.join(ds, 'manifest.json')).images[0];
    const file = path.join(ds, 'proposals', `${path.basename(entry.embedding, '.npy')}.json`);
    const base = ['--everything', '--out', ds, '--points-per-side', '4', '--threads', '1', '--box-nms-thresh', '1'];
    // No filtering and no NMS: every decoded mask (non-empty) is a proposal.
    const all = await run_embed([...base, '--pred-iou-thresh', '0', '--stability-score-thresh', '0']);
    assert.equal(all.code, 0, all.stderr + all.stdout);
    const every = read_json(file).annotations;
    assert.ok(every.length >= 4, `only ${every.length} masks without filtering`);
    // Thresholds at the medians of what came out: some masks must go, some must stay.
    const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    const iou_t = median(every.map((a) => a.predicted_iou));
    const stab_t = median(every.map((a) => a.stability_score));
    const r = await run_embed([...base, '--pred-iou-thresh', String(iou_t), '--stability-score-thresh', String(stab_t)]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const kept = read_json(file).annotations;
    const key = (a) => `${a.point_coords[0].join(',')}|${a.predicted_iou}|${a.stability_score}`;
    // The official rule: predicted_iou > thresh, stability_score >= thresh.
    const want = every.filter((a) => a.predicted_iou > iou_t && a.stability_score >= stab_t).map(key).sort();
    assert.ok(want.length > 0 && want.length < every.length, `thresholds at the medians keep ${want.length} of ${every.length}`);
    assert.deepEqual(kept.map(key).sort(), want);
});

test('--everything skips done images and redoes them when a parameter changes', async () => {
    const args = ['--everything', '--out', ds, ...ARGS, '--box-nms-thresh', '0.5'];
    const r1 = await run_embed(args);
    assert.equal(r1.code, 0, r1.stderr + r1.stdout);
    assert.match(r1.stdout, /2 images done, 0 skipped/);
    const r2 = await run_embed(args);
    assert.equal(r2.code, 0, r2.stderr + r2.stdout);
    assert.match(r2.stdout, /0 images done, 2 skipped/);
    const r3 = await run_embed(['--everything', '--out', ds, ...ARGS, '--box-nms-thresh', '0.5', '--force']);
    assert.match(r3.stdout, /2 images done, 0 skipped/);
    assert.equal(fs.readdirSync(path.join(ds, 'proposals')).filter((f) => f.startsWith('.')).length, 0, 'temp files left');
});

test('each proposal comes from a decoder output for its own grid point', async () => {
    const m = read_json(path.join(ds, 'manifest.json'));
    const entry = m.images[0];
    const p = read_json(path.join(ds, 'proposals', `${path.basename(entry.embedding, '.npy')}.json`));
    const session = await ort.InferenceSession.create(BATCH, { intraOpNumThreads: 1 });
    const embedding = read_embedding(path.join(ds, entry.embedding));
    const tool = amg_tool.start();
    try {
        // The tool maps points to the 1024 frame (C++ apply_coords); decode each proposal's point.
        const setup = await tool.ask({ cmd: 'everything', height: entry.height, width: entry.width, params: { points_per_side: 4 } });
        const [in_h, in_w] = setup.input_sizes[0];
        for (const a of p.annotations) {
            const [x, y] = a.point_coords[0];
            const k = setup.points[0].findIndex((v, i) => i % 2 === 0 && Math.abs(v - x * in_w / entry.width) < 1e-3 && Math.abs(setup.points[0][i + 1] - y * in_h / entry.height) < 1e-3);
            assert.ok(k >= 0, `point ${x},${y} is not a grid point`);
            const out = await session.run({
                image_embeddings: embedding,
                point_coords: new ort.Tensor('float32', Float32Array.from(setup.points[0].slice(k, k + 2)), [1, 1, 2]),
                point_labels: new ort.Tensor('float32', new Float32Array([1]), [1, 1]),
            });
            const ious = Array.from(out.iou_predictions.data).slice(1);  // multimask outputs
            assert.ok(ious.some((v) => Math.abs(v - a.predicted_iou) < 1e-5), `iou ${a.predicted_iou} not in ${ious}`);
        }
    } finally {
        tool.close();
    }
});

test('--everything reports a missing decoder and bad parameters', async () => {
    const r = await run_embed(['--everything', '--out', ds, '--decoder-batch', path.join(tmp, 'nope.onnx')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nope\.onnx/);
    const r2 = await run_embed(['--everything', '--out', ds, '--pred-iou-thresh', '3']);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /pred_iou_thresh must be in \[0, 1\]/);
});

test('--everything with crop layers embeds each crop; the whole-image crop input equals sam_preprocess', async () => {
    const m = read_json(path.join(ds, 'manifest.json'));
    const entry = m.images[1];
    // Crop input of the whole image == the embedder's preprocessing (both C++ core).
    const tool = amg_tool.start();
    const out = path.join(tmp, 'crop.f32');
    try {
        const r = await tool.ask({ cmd: 'crop_input', image: path.join(ds, entry.file), crop: [0, 0, entry.width, entry.height], out });
        assert.ok(r.input_h === 1024 || r.input_w === 1024);
        await assert.rejects(tool.ask({ cmd: 'crop_input', image: path.join(ds, entry.file), crop: [0, 0, entry.width + 1, 5], out }), /not inside/);
    } finally {
        tool.close();
    }
    const pre = spawnSync(find_preprocess_tool(), [path.join(ds, entry.file), path.join(tmp, 'pre.f32')], { encoding: 'utf8' });
    assert.equal(pre.status, 0, pre.stderr);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(path.join(tmp, 'pre.f32'))));

    const r = await run_embed(['--everything', '--out', ds, '--points-per-side', '2', '--crop-n-layers', '1', '--encoder', ENCODER,
        '--pred-iou-thresh', '0', '--stability-score-thresh', '0', '--box-nms-thresh', '1', '--crop-nms-thresh', '1', '--threads', '1']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /crop encoder/);
    const p = read_json(path.join(ds, 'proposals', `${path.basename(entry.embedding, '.npy')}.json`));
    assert.equal(p.params.crop_n_layers, 1);
    assert.equal(p.stats.masks_seen, 5 * 4 * 3);  // 5 crops x 2x2 points x 3 masks
    // Masks from inner crops survive when they do not touch an inner crop edge.
    const crops = new Set(p.annotations.map((a) => a.crop_box.join(',')));
    assert.ok(crops.has(`0,0,${entry.width},${entry.height}`));
    for (const a of p.annotations) assert.deepEqual(a.segmentation.size, [entry.height, entry.width]);

    const bad = await run_embed(['--everything', '--out', ds, '--crop-n-layers', '1']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--crop-n-layers needs --encoder/);
    const wrong = await run_embed(['--everything', '--out', ds, '--crop-n-layers', '1', '--encoder', path.join(TINY, 'decoder.onnx')]);
    assert.equal(wrong.code, 2);
});
