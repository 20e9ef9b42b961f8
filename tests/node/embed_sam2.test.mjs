// scripts/embed on the tiny SAM 2.1-shaped model (tests/fixtures/tiny_sam2): the three
// feature tensors per image against a direct onnxruntime-node run on the core's SAM 2
// preprocessing, float16 by default, the version 2 manifest and its model spec,
// resume, a deleted feature file, shards + merge, refused decoders and modes, the
// bundle check and an upload through the server's embedder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { repo, TINY, run_embed, make_images, read_json } from './embed_harness.mjs';
import { read_npy, npy_to_f32 } from '../../scripts/embedder/npy_file.mjs';
import { find_preprocess_tool } from '../../scripts/embedder/preprocess_tool.mjs';
import { upload_embedder } from '../../scripts/embedder/upload.mjs';
import { verify_bundle } from '../../scripts/server/bundle.mjs';
import { SAM2_1_SPEC, spec_json } from '../../scripts/lib/model_spec.mjs';

const TINY_SAM2 = path.join(repo, 'tests/fixtures/tiny_sam2');
const ENCODER = path.join(TINY_SAM2, 'encoder.onnx');
const DECODER = path.join(TINY_SAM2, 'decoder.onnx');
const FEATURES = SAM2_1_SPEC.features;
let tmp, tool;

before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam2-embed-'));
    tool = find_preprocess_tool();
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function square_input(image) {
    const out = path.join(tmp, `pre-${path.basename(image)}.f32`);
    const r = spawnSync(tool, ['--preprocess', 'square_1024', image, out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const buf = fs.readFileSync(out);
    fs.rmSync(out);
    return { info: JSON.parse(r.stdout), tensor: new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4) };
}

function feature(ds, entry, name) {
    const npy = read_npy(fs.readFileSync(path.join(ds, entry.features[name])));
    return { npy, values: npy_to_f32(npy) };
}

// |a - b| within float16 rounding of b (plus the subnormal step).
function assert_half_of(a, b, what) {
    assert.equal(a.length, b.length, what);
    for (let k = 0; k < b.length; k++) {
        const tol = Math.max(Math.abs(b[k]) * 2 ** -11, 2 ** -24) * 1.0001;
        if (!(Math.abs(a[k] - b[k]) <= tol)) assert.fail(`${what}[${k}]: ${a[k]} vs ${b[k]}`);
    }
}

const embed = (args) => run_embed(['--encoder', ENCODER, ...args]);

test('three float16 feature tensors per image equal a direct run; version 2 manifest with the spec', async () => {
    const imgs = path.join(tmp, 'src');
    const ds = path.join(tmp, 'ds');
    const names = make_images(imgs, 3);
    const r = await embed(['--decoder', DECODER, '--images', imgs, '--out', ds, '--model-id', 'sam2.1-tiny-test']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /3 embedded, 0 unchanged, 0 failed/);

    const m = read_json(path.join(ds, 'manifest.json'));
    assert.equal(m.version, 2);
    assert.equal(m.model.id, 'sam2.1-tiny-test');
    assert.equal(m.model.decoder, 'decoder.onnx');
    assert.deepEqual(m.model.spec, spec_json(SAM2_1_SPEC));
    assert.equal(m.model.spec.preprocess, 'square_1024');
    assert.deepEqual(fs.readFileSync(path.join(ds, 'decoder.onnx')), fs.readFileSync(DECODER));

    const session = await ort.InferenceSession.create(ENCODER);
    let previous = null;
    for (const [i, e] of m.images.entries()) {
        const src = path.join(imgs, names[i]);
        const stem = path.basename(names[i], '.png');
        assert.equal(e.embedding_dtype, 'float16');
        assert.deepEqual(Object.keys(e.features), FEATURES.map((f) => f.name));
        for (const f of FEATURES) assert.equal(e.features[f.name], `embeddings/${f.name}/${stem}.npy`);
        assert.equal(e.embedding, e.features.image_embed);
        const { info, tensor } = square_input(src);
        assert.deepEqual([e.width, e.height, info.input_w, info.input_h], [info.width, info.height, 1024, 1024]);
        const out = await session.run({ image: new ort.Tensor('float32', tensor, [1, 3, 1024, 1024]) });
        for (const f of FEATURES) {
            const { npy, values } = feature(ds, e, f.name);
            assert.equal(npy.dtype, '<f2');
            assert.deepEqual(npy.shape, f.shape);
            assert_half_of(values, out[f.name].data, `${e.file} ${f.name}`);
        }
        // Different pictures, different features (a constant would pass the check above).
        const mine = feature(ds, e, 'high_res_feats_0').values;
        if (previous) assert.ok(mine.some((v, k) => Math.abs(v - previous[k]) > 1e-3));
        previous = mine;
    }
    await session.release();

    // Bytes per image: 2 + 4 + 2 MiB of float16 plus three .npy headers.
    const bytes = FEATURES.reduce((s, f) => s + fs.statSync(path.join(ds, m.images[0].features[f.name])).size, 0);
    assert.equal(bytes, 2 * (256 * 64 * 64 + 32 * 256 * 256 + 64 * 128 * 128) + 3 * 128);
});

test('resume: unchanged images are skipped; a deleted feature file is embedded again; --fp32 redoes all', async () => {
    const imgs = path.join(tmp, 'src');
    const ds = path.join(tmp, 'ds');
    const m = read_json(path.join(ds, 'manifest.json'));
    const r = await embed(['--images', imgs, '--out', ds]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /0 embedded, 3 unchanged, 0 failed/);
    assert.deepEqual(read_json(path.join(ds, 'manifest.json')), m);

    fs.rmSync(path.join(ds, m.images[1].features.high_res_feats_1));
    const r2 = await embed(['--images', imgs, '--out', ds]);
    assert.match(r2.stdout, /1 embedded, 2 unchanged, 0 failed/);
    assert.ok(fs.existsSync(path.join(ds, m.images[1].features.high_res_feats_1)));
    assert.deepEqual(read_json(path.join(ds, 'manifest.json')), m);

    const ds32 = path.join(tmp, 'ds32');
    fs.cpSync(ds, ds32, { recursive: true });
    const r3 = await embed(['--images', imgs, '--out', ds32, '--fp32']);
    assert.match(r3.stdout, /3 embedded, 0 unchanged, 0 failed/);
    const m32 = read_json(path.join(ds32, 'manifest.json'));
    for (const [i, e] of m32.images.entries()) {
        assert.equal(e.embedding_dtype, 'float32');
        const { npy, values } = feature(ds32, e, 'image_embed');
        assert.equal(npy.dtype, '<f4');
        assert_half_of(feature(ds, m.images[i], 'image_embed').values, values, e.file);
    }
});

test('shards and merge give one version 2 manifest covering every image', async () => {
    const imgs = path.join(tmp, 'src');
    const ds = path.join(tmp, 'sharded');
    for (const k of [0, 1]) {
        const r = await embed(['--images', imgs, '--out', ds, '--shard', `${k}/2`]);
        assert.equal(r.code, 0, r.stderr);
    }
    const r = await run_embed(['--merge', '--out', ds]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const m = read_json(path.join(ds, 'manifest.json'));
    const whole = read_json(path.join(tmp, 'ds', 'manifest.json'));
    assert.equal(m.version, 2);
    assert.deepEqual(m.model.spec, whole.model.spec);
    assert.deepEqual(m.images.map(({ file, features, embedding_dtype }) => ({ file, features, embedding_dtype })),
        whole.images.map(({ file, features, embedding_dtype }) => ({ file, features, embedding_dtype })));
    for (const e of m.images) for (const f of FEATURES) assert.ok(fs.existsSync(path.join(ds, e.features[f.name])), e.features[f.name]);
});

test('a decoder of the other family, --decoder-full and SAM 1-only modes are refused', async () => {
    const imgs = path.join(tmp, 'src');
    const r = await embed(['--decoder', path.join(TINY, 'decoder.onnx'), '--images', imgs, '--out', path.join(tmp, 'wrong')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a sam2\.1 decoder: found inputs \[image_embeddings, point_coords/);
    assert.match(r.stderr, /expected inputs \[image_embed, high_res_feats_0, high_res_feats_1/);
    const r1 = await run_embed(['--encoder', path.join(TINY, 'encoder.onnx'), '--decoder', DECODER, '--images', imgs, '--out', path.join(tmp, 'wrong1')]);
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /not a sam decoder/);
    const r2 = await embed(['--decoder-full', DECODER, '--images', imgs, '--out', path.join(tmp, 'wrong2')]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /--decoder-full is SAM 1's official interface/);
    const r3 = await run_embed(['--everything', '--out', path.join(tmp, 'ds'), '--decoder-batch', path.join(TINY, 'decoder_batch.onnx')]);
    assert.equal(r3.code, 2);
    assert.match(r3.stderr, /a sam2\.1 dataset; --everything supports SAM 1 datasets only/);
});

test('the bundle check covers the three feature files', () => {
    const out = path.join(tmp, 'bundle');
    fs.cpSync(path.join(tmp, 'ds'), out, { recursive: true });
    for (const f of ['index.html', 'sam_annotator.js', 'sam_annotator.wasm']) fs.writeFileSync(path.join(out, f), '');
    assert.deepEqual(verify_bundle(out), []);
    const m = read_json(path.join(out, 'manifest.json'));
    fs.rmSync(path.join(out, m.images[2].features.high_res_feats_0));
    assert.deepEqual(verify_bundle(out), [`manifest.json names ${m.images[2].features.high_res_feats_0}, which is not in the bundle`]);
});

test('uploads to a SAM 2.1 dataset get the three tensors; a SAM 1 server encoder is refused', async () => {
    const ds = path.join(tmp, 'upload');
    fs.cpSync(path.join(tmp, 'ds'), ds, { recursive: true });
    const up = await upload_embedder.create({ encoder: ENCODER, threads: 1 });
    try {
        make_images(path.join(tmp, 'up-src'), 1, { offset: 9 });
        const bytes = fs.readFileSync(path.join(tmp, 'up-src', 'img09.png'));
        const entry = await up.embed_upload(ds, bytes, 'new picture.png');
        assert.equal(entry.cached, false);
        assert.equal(entry.embedding_dtype, 'float16');
        assert.deepEqual(Object.keys(entry.features), FEATURES.map((f) => f.name));
        for (const f of FEATURES) assert.deepEqual(read_npy(fs.readFileSync(path.join(ds, entry.features[f.name]))).shape, f.shape);
        const m = read_json(path.join(ds, 'manifest.json'));
        assert.equal(m.version, 2);
        assert.equal(m.images.length, 4);
        assert.equal((await up.embed_upload(ds, bytes, 'again.png')).cached, true);
    } finally {
        await up.close();
    }
    const up1 = await upload_embedder.create({ encoder: path.join(TINY, 'encoder.onnx'), threads: 1 });
    try {
        const bytes = fs.readFileSync(path.join(tmp, 'up-src', 'img09.png'));
        await assert.rejects(up1.embed_upload(ds, bytes, 'x.png'), (err) => err.status === 409);
    } finally {
        await up1.close();
    }
});
