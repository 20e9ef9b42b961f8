// The C++ decoder's WebAssembly module (the single-threaded build that a plain static host
// serves; SIMD128) run in Node: the same outputs as the native build of the same code
// (build/native/sam_decode) and as the official decoder (shared/sam-reference cases a-e),
// and bad files or prompts refused with messages. Needs scripts/build-wasm and the native build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load_decoder_wasm } from '../../scripts/lib/sam_decoder_wasm.mjs';
import { read_npy, npy_to_f32 } from '../../scripts/embedder/npy_file.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const refDir = path.join(repo, 'build/native/reference');
const cases = path.join(refDir, 'decoder_io');
const samw = path.join(refDir, 'decoder.samw');
const f32 = (file) => npy_to_f32(read_npy(fs.readFileSync(file)));
const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('wasm = native = official on the reference cases a-e', async () => {
    assert.ok(fs.existsSync(samw), `${samw} missing: build the native tree (cmake --build build/native)`);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-wasm-'));
    execFileSync(path.join(repo, 'build/native/sam_decode'), ['--weights', samw, '--cases', cases, '--out', out]);
    const dec = await load_decoder_wasm({ threads: 1 });
    assert.equal(dec.threads, 1);
    dec.load(fs.readFileSync(samw), 'decoder.samw');
    assert.equal(dec.outputs, 4);
    let identical = 0;
    for (const c of ['a', 'b', 'c', 'd', 'e']) {
        dec.set_image_npy(fs.readFileSync(path.join(cases, `${c}.image_embeddings.npy`)), `${c}.npy`);
        const hasMask = f32(path.join(cases, `${c}.has_mask_input.npy`))[0] !== 0;
        const r = dec.predict(f32(path.join(cases, `${c}.point_coords.npy`)), f32(path.join(cases, `${c}.point_labels.npy`)),
                              hasMask ? f32(path.join(cases, `${c}.mask_input.npy`)) : null);
        const native = { iou: f32(path.join(out, `${c}.iou_predictions.npy`)), low: f32(path.join(out, `${c}.low_res_masks.npy`)) };
        const dn = Math.max(maxDiff(r.iou, native.iou), maxDiff(r.lowRes, native.low));
        const official = Math.max(maxDiff(r.iou, f32(path.join(cases, `${c}.multi.iou_predictions.npy`))),
                                  maxDiff(r.lowRes, f32(path.join(cases, `${c}.multi.low_res_masks.npy`))));
        console.log(`case ${c}: max|wasm - native| ${dn.toExponential(2)}, max|wasm - official| ${official.toExponential(2)}`);
        assert.ok(dn <= 1e-6, `case ${c}: wasm and native differ by ${dn}`);
        assert.ok(official <= 1e-5, `case ${c}: wasm and the official outputs differ by ${official}`);
        if (dn === 0) identical++;
    }
    console.log(`${identical} of 5 cases bit-identical to the native build`);
    fs.rmSync(out, { recursive: true, force: true });
});

test('wasm decoder refuses bad weights, embeddings and prompts with a message', async () => {
    const dec = await load_decoder_wasm({ threads: 1 });
    const w = fs.readFileSync(samw);
    assert.throws(() => dec.load(w.subarray(0, w.length - 1000), 'cut.samw'), /^Error: cut\.samw: .*\(truncated\)/);
    assert.throws(() => dec.load(Buffer.from('not weights at all'), 'x.samw'), /x\.samw: not a decoder weights file/);
    dec.load(w, 'decoder.samw');
    assert.throws(() => dec.predict(new Float32Array([1, 2]), new Float32Array([1])), /no image embedding set/);
    const npy = fs.readFileSync(path.join(cases, 'a.image_embeddings.npy'));
    assert.throws(() => dec.set_image_npy(npy.subarray(0, 5000), 'short.npy'), /short\.npy: /);
    dec.set_image_npy(npy, 'a.npy');
    assert.throws(() => dec.predict(new Float32Array([NaN, 2]), new Float32Array([1])), /point_coords\[0\] = nan is not finite/);
    const r = dec.predict(new Float32Array([100, 200, 0, 0]), new Float32Array([1, -1]));
    assert.ok(r.iou.every(Number.isFinite) && r.lowRes.every(Number.isFinite));
});
