// Decoder ONNX files through scripts/lib/decoder_session.mjs in onnxruntime-node:
// the official export of the reference model reproduces decoder_io.npz, the tiny
// model's fast and full variants agree, the batch variant equals single prompts,
// and a file with the wrong interface is refused with a message naming it.
// ONNX Runtime Web (its wasm backend, which also runs in Node) loads the same
// files through the same function and gives the same outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import * as ort_web from 'onnxruntime-web';
import { load_decoder_session, decoder_feeds, decoder_kind } from '../../scripts/lib/decoder_session.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TINY = path.join(repo, 'tests', 'fixtures', 'tiny');
const REFERENCE = process.env.SAM_REFERENCE || path.resolve(repo, '..', 'shared', 'sam-reference');
const DECODER_IO = path.join(REFERENCE, 'decoder', 'decoder_io.npz');
// The reference data is required: a missing ../shared/sam-reference fails these tests.
const require_reference = () => assert.ok(fs.existsSync(DECODER_IO), `${DECODER_IO} not found: the tests need ../shared/sam-reference beside the checkout`);
const CASES = ['a', 'b', 'c', 'd', 'e'];
const INPUTS = ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'];
// Tolerances of the reference README (measured ONNX vs PyTorch errors are 4-10x smaller).
const TOL = { masks: 3e-5, iou_predictions: 2e-6, low_res_masks: 2e-6 };

// numpy .npz = zip of .npy members (stored or deflated); only what decoder_io.npz needs.
function read_npz(file) {
    const buf = fs.readFileSync(file);
    const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${file}: not a zip file`);
    const arrays = new Map();
    let p = buf.readUInt32LE(eocd + 16);
    for (let i = 0, n = buf.readUInt16LE(eocd + 10); i < n; i++) {
        const method = buf.readUInt16LE(p + 10);
        const csize = buf.readUInt32LE(p + 20);
        const name_len = buf.readUInt16LE(p + 28);
        const local = buf.readUInt32LE(p + 42);
        if (csize === 0xffffffff || local === 0xffffffff) throw new Error(`${file}: zip64 members are not supported`);
        const name = buf.toString('utf8', p + 46, p + 46 + name_len).replace(/\.npy$/, '');
        const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
        const raw = buf.subarray(start, start + csize);
        arrays.set(name, () => parse_npy(method === 0 ? raw : zlib.inflateRawSync(raw), name));
        p += 46 + name_len + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
    }
    return (key) => {
        if (!arrays.has(key)) throw new Error(`${file}: no array ${key}`);
        return arrays.get(key)();
    };
}

function parse_npy(b, name) {
    const v2 = b[6] >= 2;
    const hlen = v2 ? b.readUInt32LE(8) : b.readUInt16LE(8);
    const header = b.toString('latin1', v2 ? 12 : 10, (v2 ? 12 : 10) + hlen);
    const descr = /'descr': *'([^']+)'/.exec(header)[1];
    const shape = /'shape': *\(([^)]*)\)/.exec(header)[1].split(',').filter((s) => s.trim()).map(Number);
    const bytes = b.subarray((v2 ? 12 : 10) + hlen);
    const copy = new Uint8Array(bytes).buffer;  // aligned
    const types = { '<f4': Float32Array, '<f8': Float64Array, '<i8': BigInt64Array };
    if (!types[descr]) throw new Error(`${name}: unsupported dtype ${descr}`);
    const data = new types[descr](copy);
    return { shape, data: descr === '<i8' ? Float64Array.from(data, Number) : data };
}

function max_abs_diff(a, b) {
    assert.equal(a.length, b.length);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
}

function reference_feeds(npz, c) {
    const feeds = {};
    for (const n of INPUTS) {
        const a = npz(`${c}.${n}`);
        feeds[n] = new ort.Tensor('float32', Float32Array.from(a.data), a.shape);
    }
    return feeds;
}

// Deterministic pseudo-random prompts when the reference data is not around.
function synthetic_feeds(seed, n) {
    let s = seed >>> 0;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const emb = Float32Array.from({ length: 256 * 64 * 64 }, () => rnd() * 4 - 2);
    const coords = Array.from({ length: 2 * n }, () => rnd() * 1023);
    const labels = Array.from({ length: n }, (_, i) => [1, 0, 2, 3, -1][i % 5]);
    const mask = seed % 2 ? Float32Array.from({ length: 256 * 256 }, () => rnd() * 2 - 1) : null;
    return decoder_feeds(ort, { image_embeddings: emb, point_coords: coords, point_labels: labels, mask_input: mask,
        orig_im_size: [300 + n * 50, 700 - n * 60] });
}

const OPTS = { session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 } };

for (const [file, mode, kind] of [['official_decoder.onnx', 'multi', 4], ['official_decoder_single.onnx', 'single', 1]]) {
    test(`${file} reproduces decoder_io.npz (${mode}) within the reference tolerances`, async () => {
        require_reference();
        const npz = read_npz(DECODER_IO);
        const dec = await load_decoder_session(ort, path.join(REFERENCE, 'decoder', file), OPTS);
        assert.equal(dec.kind, 'full');
        for (const c of CASES) {
            const out = await dec.run(reference_feeds(npz, c), ['masks', 'iou_predictions', 'low_res_masks']);
            for (const name of Object.keys(TOL)) {
                const want = npz(`${c}.${mode}.${name}`);
                assert.deepEqual(out[name].dims, want.shape, `${c} ${name} shape`);
                assert.equal(want.shape[1], kind);
                const err = max_abs_diff(out[name].data, want.data);
                assert.ok(err <= TOL[name], `${file} case ${c} ${name}: max|diff| ${err} > ${TOL[name]}`);
            }
        }
        await dec.release();
    });
}

test('tiny model: fast and full decoders give the same low-res masks and IoUs', async () => {
    const fast = await load_decoder_session(ort, path.join(TINY, 'decoder.onnx'), OPTS);
    const full = await load_decoder_session(ort, path.join(TINY, 'decoder_full.onnx'), OPTS);
    assert.equal(fast.kind, 'fast');
    assert.equal(full.kind, 'full');
    const feeds = [1, 2, 3, 4, 6].map((n) => synthetic_feeds(n * 7919, n));
    require_reference();
    { const npz = read_npz(DECODER_IO); for (const c of CASES) feeds.push(reference_feeds(npz, c)); }
    for (const f of feeds) {
        const a = await fast.run(f);
        const b = await full.run(f, ['masks', 'iou_predictions', 'low_res_masks']);
        assert.deepEqual(a.low_res_masks.dims, [1, 4, 256, 256]);
        assert.deepEqual(a.iou_predictions.dims, [1, 4]);
        const [h, w] = f.orig_im_size.data;
        assert.deepEqual(b.masks.dims, [1, 4, h, w]);
        assert.ok(max_abs_diff(a.low_res_masks.data, b.low_res_masks.data) <= 1e-6);
        assert.ok(max_abs_diff(a.iou_predictions.data, b.iou_predictions.data) <= 1e-6);
        // A decoder that ignored its prompt would pass the comparison above.
        assert.ok(max_abs_diff(a.low_res_masks.data, new Float32Array(a.low_res_masks.data.length)) > 1e-3);
    }
    const p1 = await fast.run(feeds[0]);
    const p2 = await fast.run(feeds[1]);
    assert.ok(max_abs_diff(p1.low_res_masks.data, p2.low_res_masks.data) > 1e-3, 'different prompts, same masks');
});

test('tiny model: the batch decoder equals one fast decode per point', async () => {
    const batch = await load_decoder_session(ort, path.join(TINY, 'decoder_batch.onnx'), { ...OPTS, expect: 'batch' });
    const fast = await load_decoder_session(ort, path.join(TINY, 'decoder.onnx'), OPTS);
    assert.equal(batch.kind, 'batch');
    const base = synthetic_feeds(5, 1);
    const points = [[100.5, 200.25], [1000, 3], [512, 700]];
    const out = await batch.run({
        image_embeddings: base.image_embeddings,
        point_coords: new ort.Tensor('float32', Float32Array.from(points.flat()), [points.length, 1, 2]),
        point_labels: new ort.Tensor('float32', new Float32Array(points.length).fill(1), [points.length, 1]),
    });
    assert.deepEqual(out.low_res_masks.dims, [3, 4, 256, 256]);
    const per = 4 * 256 * 256;
    for (let i = 0; i < points.length; i++) {
        // The automatic mask generator's prompt: the point plus the (0,0) padding point.
        const one = await fast.run(decoder_feeds(ort, { image_embeddings: base.image_embeddings,
            point_coords: [...points[i], 0, 0], point_labels: [1, -1] }));
        assert.ok(max_abs_diff(one.low_res_masks.data, out.low_res_masks.data.subarray(i * per, (i + 1) * per)) <= 1e-5);
        assert.ok(max_abs_diff(one.iou_predictions.data, out.iou_predictions.data.subarray(i * 4, i * 4 + 4)) <= 1e-5);
    }
});

test('a file with another interface is refused with a message naming it', async () => {
    const encoder = path.join(TINY, 'encoder.onnx');
    await assert.rejects(load_decoder_session(ort, encoder, OPTS),
        (e) => e.message.includes(encoder) && /found inputs \[image\]/.test(e.message) && /expected inputs image_embeddings/.test(e.message));
    await assert.rejects(load_decoder_session(ort, path.join(TINY, 'decoder_batch.onnx'), OPTS), /not a SAM decoder/);
    await assert.rejects(load_decoder_session(ort, path.join(TINY, 'decoder.onnx'), { ...OPTS, expect: 'batch' }),
        /decoder_batch\.onnx/);
    await assert.rejects(load_decoder_session(ort, path.join(TINY, 'no-such.onnx'), OPTS), /no-such\.onnx: cannot load the decoder/);
    // Official export without low_res_masks, or with a renamed input.
    assert.throws(() => decoder_kind(['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'],
        ['masks', 'scores'], { source: 'x.onnx' }), /x\.onnx: .*outputs \[masks, scores\]/);
    assert.throws(() => decoder_kind(['image_embeddings', 'coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'],
        ['iou_predictions', 'low_res_masks']), /not a SAM decoder/);
    assert.throws(() => decoder_feeds(ort, { image_embeddings: new Float32Array(256 * 64 * 64), point_coords: [1, 2, 3],
        point_labels: [1, 1] }), /3 coordinates for 2 labels/);
});

test('ONNX Runtime Web (wasm) gives the outputs of onnxruntime-node through the same loader', async () => {
    ort_web.env.wasm.numThreads = 1;
    const web_opts = { session_options: { executionProviders: ['wasm'] } };
    const feeds_for = (o, f) => Object.fromEntries(Object.entries(f).map(([k, t]) => [k, new o.Tensor('float32', t.data, t.dims)]));
    const models = [['decoder.onnx', 'fast'], ['decoder_full.onnx', 'full']];
    for (const [name, kind] of models) {
        const file = path.join(TINY, name);
        // The browser gets bytes from fetch(), not a path.
        const web = await load_decoder_session(ort_web, new Uint8Array(fs.readFileSync(file)), web_opts);
        const node = await load_decoder_session(ort, file, OPTS);
        assert.equal(web.kind, kind);
        for (const n of [1, 3]) {
            const f = synthetic_feeds(n * 31, n);
            const a = await web.run(feeds_for(ort_web, f));
            const b = await node.run(f);
            assert.ok(max_abs_diff(a.low_res_masks.data, b.low_res_masks.data) <= 1e-5, `${name} low_res`);
            assert.ok(max_abs_diff(a.iou_predictions.data, b.iou_predictions.data) <= 1e-5, `${name} iou`);
        }
    }
    require_reference();
    // The official export, unchanged, against the official PyTorch outputs (one case: wasm is slow here).
    const npz = read_npz(DECODER_IO);
    const web = await load_decoder_session(ort_web, new Uint8Array(fs.readFileSync(path.join(REFERENCE, 'decoder', 'official_decoder.onnx'))), web_opts);
    assert.equal(web.kind, 'full');
    const out = await web.run(feeds_for(ort_web, reference_feeds(npz, 'b')));
    assert.ok(max_abs_diff(out.low_res_masks.data, npz('b.multi.low_res_masks').data) <= TOL.low_res_masks);
    assert.ok(max_abs_diff(out.iou_predictions.data, npz('b.multi.iou_predictions').data) <= TOL.iou_predictions);
});
