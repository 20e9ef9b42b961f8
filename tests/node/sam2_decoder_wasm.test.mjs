// The C++ decoder's WebAssembly module (single-threaded build) with SAM 2.1 weights, run in
// Node: tests/fixtures/tiny_sam2/decoder.samw on the features and prompt cases that
// scripts/model/sam2_decoder_reference.py wrote at build time (build/native/reference/
// tiny_sam2_decoder): the same outputs as the native build (build/native/sam2_decode) and
// as onnxruntime on the fixture's decoder.onnx; one module takes either family's weights;
// bad features are refused by name. Needs scripts/build-wasm and the native build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load_decoder_wasm, SAM2_FEATURES } from '../../scripts/lib/sam_decoder_wasm.mjs';
import { read_npy, npy_to_f32 } from '../../scripts/embedder/npy_file.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const refDir = path.join(repo, 'build/native/reference/tiny_sam2_decoder');
const samw = path.join(repo, 'tests/fixtures/tiny_sam2/decoder.samw');
const sam1w = path.join(repo, 'tests/fixtures/tiny/decoder.samw');
const CASES = ['point', 'negative_point', 'box', 'box_and_point', 'three_points', 'mask_input'];
const f32 = (file) => npy_to_f32(read_npy(fs.readFileSync(file)));
const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const maxAbs = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const featureFiles = () => Object.fromEntries(SAM2_FEATURES.map((f) => [f, fs.readFileSync(path.join(refDir, `features.${f}.npy`))]));

test('SAM 2.1 weights: wasm = native = onnxruntime on the tiny_sam2 cases', async () => {
    assert.ok(fs.existsSync(path.join(refDir, '.stamp')), `${refDir} missing: build the native tree (ninja -C build/native sam_core_tests)`);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sam2-wasm-'));
    execFileSync(path.join(repo, 'build/native/sam2_decode'), ['--weights', samw, '--features', path.join(refDir, 'features'),
        '--cases', refDir, '--out', out]);
    const dec = await load_decoder_wasm({ threads: 1 });
    dec.load(fs.readFileSync(samw), 'decoder.samw');
    assert.equal(dec.family, 1);
    assert.equal(dec.outputs, 4);
    dec.set_features_npy(featureFiles(), 'features');
    let identical = 0;
    for (const c of CASES) {
        const hasMask = f32(path.join(refDir, `${c}.has_mask_input.npy`))[0] !== 0;
        const r = dec.predict(f32(path.join(refDir, `${c}.point_coords.npy`)), f32(path.join(refDir, `${c}.point_labels.npy`)),
                              hasMask ? f32(path.join(refDir, `${c}.mask_input.npy`)) : null);
        const native = { iou: f32(path.join(out, `${c}.iou_predictions.npy`)), low: f32(path.join(out, `${c}.low_res_masks.npy`)) };
        const ort = { iou: f32(path.join(refDir, `${c}.iou_predictions.npy`)), low: f32(path.join(refDir, `${c}.low_res_masks.npy`)) };
        const dn = Math.max(maxDiff(r.iou, native.iou), maxDiff(r.lowRes, native.low));
        const range = Math.max(1, maxAbs(ort.low));
        const dl = maxDiff(r.lowRes, ort.low), di = maxDiff(r.iou, ort.iou);
        console.log(`case ${c}: max|wasm - native| ${dn.toExponential(2)}, max|wasm - ORT| low_res_masks ` +
                    `${dl.toExponential(2)} (max|ORT| ${maxAbs(ort.low).toFixed(3)}), iou ${di.toExponential(2)}`);
        assert.ok(dn <= 1e-6, `case ${c}: wasm and native differ by ${dn}`);
        assert.ok(dl <= 1e-5 * range && di <= 1e-5, `case ${c}: wasm and onnxruntime differ by ${dl} / ${di}`);
        if (dn === 0) identical++;
    }
    console.log(`${identical} of ${CASES.length} cases bit-identical to the native build`);
    fs.rmSync(out, { recursive: true, force: true });
});

test('one module takes either family; SAM 2.1 features are checked by name', async () => {
    const dec = await load_decoder_wasm({ threads: 1 });
    dec.load(fs.readFileSync(sam1w), 'tiny/decoder.samw');
    assert.equal(dec.family, 0);
    assert.throws(() => dec.set_features_npy(featureFiles(), 'img0'), /img0\.image_embed: the loaded decoder is not SAM 2\.1's/);
    dec.load(fs.readFileSync(samw), 'tiny_sam2/decoder.samw');
    assert.equal(dec.family, 1);
    assert.throws(() => dec.set_image_npy(fs.readFileSync(path.join(refDir, 'features.image_embed.npy')), 'a.npy'),
                  /a\.npy: the SAM 2\.1 decoder takes image_embed, high_res_feats_0 and high_res_feats_1/);
    assert.throws(() => dec.predict(new Float32Array([1, 2]), new Float32Array([1])), /no image features set/);
    const files = featureFiles();
    // the two high-res maps swapped: the shapes are refused, naming the file
    assert.throws(() => dec.set_features_npy({ ...files, high_res_feats_0: files.high_res_feats_1 }, 'img0'),
                  /img0\.high_res_feats_0: /);
    dec.set_features_npy(files, 'img0');
    // no points: only the padding point
    const r = dec.predict(new Float32Array(0), new Float32Array(0));
    assert.ok(r.iou.every((v) => v > 0 && v < 1) && r.lowRes.every((v) => Math.abs(v) <= 32));
    assert.throws(() => dec.predict(new Float32Array([NaN, 2]), new Float32Array([1])), /point_coords\[0\] = nan is not finite/);
});

test('SAM 2.1 weights: the -pthread build at 2 threads gives the single-threaded outputs bit for bit', () => {
    // in a child process: the -pthread module's worker threads would keep this one alive
    const out = execFileSync(process.execPath, [path.join(repo, 'tests/node/sam2_decoder_wasm_threads.mjs')], { encoding: 'utf8', timeout: 120000 });
    const r = JSON.parse(out.trim().split('\n').at(-1));
    assert.equal(r.threads, 2);
    assert.deepEqual(r.cases.map((c) => c.name), CASES);
    for (const c of r.cases) {
        assert.ok(c.iou_equal, c.name);
        assert.equal(c.low_res_max_diff, 0, c.name);
    }
});
