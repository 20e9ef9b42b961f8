// Tests of scripts/embed on the tiny test model: values against a direct
// onnxruntime-node run, fp16, idempotence, a killed run resumed, shards + merge,
// bad images; and sam_preprocess (the C++ core) against the official SAM
// preprocessing in ../shared/sam-reference/preprocess.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { repo, TINY, run_embed, make_images, read_json } from './embed_harness.mjs';
import { png_bytes, png_header_only } from './png_file.mjs';
import { read_npz } from './npz_file.mjs';
import { read_npy, npy_to_f32 } from '../../scripts/embedder/npy_file.mjs';
import { find_preprocess_tool } from '../../scripts/embedder/preprocess_tool.mjs';

const ENCODER = path.join(TINY, 'encoder.onnx');
const DECODER = path.join(TINY, 'decoder.onnx');
const REFERENCE = path.resolve(repo, '..', 'shared', 'sam-reference', 'preprocess', 'preprocess.npz');
let tmp, tool;

before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-embed-'));
    tool = find_preprocess_tool();
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// sam_preprocess one-shot: the encoder input the embedder feeds to the model.
function preprocess(image) {
    const out = path.join(tmp, `pre-${path.basename(image)}.f32`);
    const r = spawnSync(tool, [image, out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const buf = fs.readFileSync(out);
    fs.rmSync(out);
    return { info: JSON.parse(r.stdout), tensor: new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4) };
}

function max_abs_diff(a, b) {
    assert.equal(a.length, b.length);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
}

function embedding_of(ds, entry) {
    const npy = read_npy(fs.readFileSync(path.join(ds, entry.embedding)));
    return { npy, values: npy_to_f32(npy) };
}

test('embeddings equal a direct onnxruntime-node run; manifest follows the contract', async () => {
    const imgs = path.join(tmp, 'direct-src');
    const ds = path.join(tmp, 'direct');
    const names = make_images(imgs, 2);
    const r = await run_embed(['--encoder', ENCODER, '--decoder', DECODER, '--images', imgs, '--out', ds, '--model-id', 'sam-tiny-test']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /2 embedded, 0 unchanged, 0 failed/);

    const m = read_json(path.join(ds, 'manifest.json'));
    assert.equal(m.version, 1);
    assert.equal(m.model.id, 'sam-tiny-test');
    assert.equal(m.model.decoder, 'decoder.onnx');
    assert.deepEqual(fs.readFileSync(path.join(ds, 'decoder.onnx')), fs.readFileSync(DECODER));
    // The C++ decoder's weights beside --decoder come along, named by the manifest.
    assert.equal(m.model.decoder_weights, 'decoder.samw');
    assert.deepEqual(fs.readFileSync(path.join(ds, 'decoder.samw')), fs.readFileSync(path.join(TINY, 'decoder.samw')));
    assert.match(m.model.encoder_sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(m.images.map((e) => e.id), [1, 2]);
    assert.deepEqual(m.images.map((e) => e.file), names.map((n) => `images/${n}`));

    const session = await ort.InferenceSession.create(ENCODER);
    for (const [i, e] of m.images.entries()) {
        const src = path.join(imgs, names[i]);
        assert.deepEqual(fs.readFileSync(path.join(ds, e.file)), fs.readFileSync(src));
        const { info, tensor } = preprocess(src);
        assert.equal(e.width, info.width);
        assert.equal(e.height, info.height);
        assert.equal(e.embedding_dtype, 'float32');
        const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', tensor, [1, 3, 1024, 1024]) });
        const want = out[session.outputNames[0]].data;
        const { npy, values } = embedding_of(ds, e);
        assert.equal(npy.dtype, '<f4');
        assert.deepEqual(npy.shape, [1, 256, 64, 64]);
        assert.ok(max_abs_diff(values, want) <= 1e-5, `${e.file}: embedding differs from the direct run`);
        // The two test pictures must not give the same embedding (a constant would pass the check above).
        if (i === 1) assert.ok(max_abs_diff(values, embedding_of(ds, m.images[0]).values) > 1e-3);
    }
    await session.release();
});

test('--fp16 writes float16 embeddings within half precision of float32', async () => {
    const imgs = path.join(tmp, 'direct-src');
    const ds16 = path.join(tmp, 'fp16');
    const r = await run_embed(['--encoder', ENCODER, '--images', imgs, '--out', ds16, '--fp16']);
    assert.equal(r.code, 0, r.stderr);
    const m16 = read_json(path.join(ds16, 'manifest.json'));
    const m32 = read_json(path.join(tmp, 'direct', 'manifest.json'));
    for (const [i, e] of m16.images.entries()) {
        assert.equal(e.embedding_dtype, 'float16');
        const { npy, values } = embedding_of(ds16, e);
        assert.equal(npy.dtype, '<f2');
        assert.deepEqual(npy.shape, [1, 256, 64, 64]);
        const ref = embedding_of(path.join(tmp, 'direct'), m32.images[i]).values;
        for (let k = 0; k < ref.length; k++) {
            const tol = Math.max(Math.abs(ref[k]) * 2 ** -11, 2 ** -24) * 1.0001;
            if (Math.abs(values[k] - ref[k]) > tol) assert.fail(`${e.file}[${k}]: ${values[k]} vs ${ref[k]}`);
        }
    }
});

test('a second run skips every image and rewrites nothing', async () => {
    const imgs = path.join(tmp, 'direct-src');
    const ds = path.join(tmp, 'direct');
    const m = read_json(path.join(ds, 'manifest.json'));
    const mtimes = m.images.map((e) => fs.statSync(path.join(ds, e.embedding)).mtimeMs);
    const r = await run_embed(['--encoder', ENCODER, '--decoder', DECODER, '--images', imgs, '--out', ds, '--model-id', 'sam-tiny-test']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /0 embedded, 2 unchanged, 0 failed/);
    assert.deepEqual(m.images.map((e) => fs.statSync(path.join(ds, e.embedding)).mtimeMs), mtimes);
    assert.deepEqual(read_json(path.join(ds, 'manifest.json')), m);

    // A changed image is embedded again and keeps its id.
    const changed = path.join(imgs, path.basename(m.images[1].file));
    make_images(path.join(tmp, 'other'), 1, { offset: 7 });
    fs.copyFileSync(path.join(tmp, 'other', 'img07.png'), changed);
    const r2 = await run_embed(['--encoder', ENCODER, '--images', imgs, '--out', ds]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, /1 embedded, 1 unchanged, 0 failed/);
    const m2 = read_json(path.join(ds, 'manifest.json'));
    assert.equal(m2.images[1].id, m.images[1].id);
    assert.notEqual(m2.images[1].sha256, m.images[1].sha256);
});

test('a run killed after its first embedding resumes to a complete dataset', async () => {
    const imgs = path.join(tmp, 'kill-src');
    const ds = path.join(tmp, 'kill');
    const names = make_images(imgs, 6);
    const manifest = path.join(ds, 'manifest.json');
    const r = await run_embed(['--encoder', ENCODER, '--images', imgs, '--out', ds], {
        on_child: (child) => {
            const poll = setInterval(() => {
                let n = 0;
                try { n = read_json(manifest).images.length; } catch { /* not written yet */ }
                if (n >= 1) { clearInterval(poll); child.kill('SIGKILL'); }
            }, 5);
            child.on('exit', () => clearInterval(poll));
        },
    });
    assert.equal(r.signal, 'SIGKILL', `the run finished before it could be killed: ${r.stdout}`);
    const done = read_json(manifest).images.length;
    assert.ok(done >= 1 && done < names.length, `${done} images done at the kill`);
    const r2 = await run_embed(['--encoder', ENCODER, '--images', imgs, '--out', ds]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, new RegExp(`${names.length - done} embedded, ${done} unchanged, 0 failed`));
    const m = read_json(manifest);
    assert.deepEqual(m.images.map((e) => e.file), names.map((n) => `images/${n}`));
    assert.deepEqual(m.images.map((e) => e.id), names.map((_, i) => i + 1));
    for (const e of m.images) assert.deepEqual(read_npy(fs.readFileSync(path.join(ds, e.embedding))).shape, [1, 256, 64, 64]);
    // No temp files left visible to the static server, beyond the killed run's.
    assert.deepEqual(fs.readdirSync(path.join(ds, 'embeddings')).filter((f) => !f.startsWith('.')).sort(), names.map((n) => n.replace('.png', '.npy')));
});

test('shards 0/3, 1/3, 2/3 and --merge cover every image exactly once', async () => {
    const imgs = path.join(tmp, 'shard-src');
    const ds = path.join(tmp, 'shard');
    const names = make_images(imgs, 7);
    const r0 = await run_embed(['--encoder', ENCODER, '--images', imgs, '--out', ds, '--shard', '0/3']);
    assert.equal(r0.code, 0, r0.stderr);
    const early = await run_embed(['--merge', '--out', ds]);
    assert.notEqual(early.code, 0, 'merge must refuse while shards are missing');
    assert.match(early.stderr, /shard 1\/3, 2\/3/);
    const rest = await Promise.all(['1/3', '2/3'].map((s) => run_embed(['--encoder', ENCODER, '--images', imgs, '--out', ds, '--shard', s])));
    for (const r of rest) assert.equal(r.code, 0, r.stderr);
    const seen = [];
    for (let k = 0; k < 3; k++) {
        const s = read_json(path.join(ds, `manifest.shard-${k}-of-3.json`));
        const want = names.filter((_, i) => i % 3 === k).map((n) => `images/${n}`);
        assert.deepEqual(s.images.map((e) => e.file), want);
        seen.push(...want);
    }
    assert.equal(new Set(seen).size, names.length);
    const mr = await run_embed(['--merge', '--out', ds]);
    assert.equal(mr.code, 0, mr.stderr);
    const m = read_json(path.join(ds, 'manifest.json'));
    assert.deepEqual(m.images.map((e) => e.file), names.map((n) => `images/${n}`));
    assert.deepEqual(m.images.map((e) => e.id), names.map((_, i) => i + 1));
    for (const e of m.images) assert.ok(fs.existsSync(path.join(ds, e.embedding)), e.embedding);
});

test('bad images are reported by name and skipped; exit status is non-zero', async () => {
    const imgs = path.join(tmp, 'bad-src');
    const ds = path.join(tmp, 'bad');
    const good = make_images(imgs, 2);
    const jpeg = fs.readFileSync(path.join(repo, 'assets/samples/chelsea.jpg'));
    fs.writeFileSync(path.join(imgs, 'corrupt.jpg'), Buffer.concat([jpeg.subarray(0, 4), Buffer.alloc(3000, 0x5a)]));
    fs.writeFileSync(path.join(imgs, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 3)));
    fs.writeFileSync(path.join(imgs, 'notes.png'), 'this is a text file, not a picture\n');
    fs.writeFileSync(path.join(imgs, 'huge.png'), png_header_only(100000, 100000));
    const r = await run_embed(['--encoder', ENCODER, '--images', imgs, '--out', ds]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /2 embedded, 0 unchanged, 4 failed/);
    const report = r.stdout.slice(r.stdout.indexOf('failed'));
    for (const bad of ['corrupt.jpg', 'truncated.jpg', 'notes.png', 'huge.png']) {
        assert.match(report, new RegExp(`^  ${bad.replace('.', '\\.')}: .+`, 'm'), `${bad} not reported`);
        assert.match(r.stderr, new RegExp(`bad image ${bad.replace('.', '\\.')}`));
    }
    assert.match(report, /huge\.png: .*(pixel|limit|large)/i);
    const m = read_json(path.join(ds, 'manifest.json'));
    assert.deepEqual(m.images.map((e) => e.file), good.map((n) => `images/${n}`));
    assert.ok(!fs.existsSync(path.join(ds, 'images', 'huge.png')));
});

test('sam_preprocess (C++ core) equals the official SAM encoder input', () => {
    assert.ok(fs.existsSync(REFERENCE), `${REFERENCE} not found: the tests need ../shared/sam-reference beside the checkout`);
    const npz = read_npz(REFERENCE);
    for (let i = 0; i < 4; i++) {
        const image = npz.get(`img${i}.image`);
        const [h, w] = image.shape;
        const file = path.join(tmp, `ref${i}.png`);
        fs.writeFileSync(file, png_bytes(w, h, new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length)));
        const { info, tensor } = preprocess(file);
        assert.deepEqual([info.height, info.width], [h, w]);
        const input_size = new BigInt64Array(Uint8Array.from(npz.get(`img${i}.input_size`).data).buffer);
        assert.deepEqual([info.input_h, info.input_w], [...input_size].map(Number));
        const want = npy_to_f32(npz.get(`img${i}.encoder_input`));
        const d = max_abs_diff(tensor, want);
        assert.ok(d <= 1e-6, `img${i}: max |difference| ${d}`);
    }
});

test('progress: redrawn bar with count, rate and ETA on a terminal; plain lines otherwise', async () => {
    const { progress } = await import('../../scripts/embedder/progress.mjs');
    const sink = (tty) => ({ isTTY: tty, columns: 200, text: '', write(s) { this.text += s; } });
    const term = sink(true);
    const bar = new progress(4, { stream: term });
    bar.tick('a.jpg', 'embedded', 0.5);
    bar.tick('b.jpg', 'skipped');
    bar.note('bad image c.jpg: broken');
    bar.done();
    assert.match(term.text, /^\r\x1b\[K\[######\.+\] 1\/4 2\.00 img\/s elapsed 0:00 eta 0:02 a\.jpg/);
    assert.match(term.text, /\r\x1b\[K\[#{12}\.{12}\] 2\/4 2\.00 img\/s .* eta 0:01 b\.jpg/);
    assert.match(term.text, /\r\x1b\[Kbad image c\.jpg: broken\n/);
    assert.ok(term.text.endsWith('\n'));
    const log = sink(false);
    const plain = new progress(2, { stream: log });
    plain.tick('a.jpg', 'embedded', 0.25);
    plain.tick('b.jpg', 'failed');
    plain.done();
    assert.deepEqual(log.text.split('\n').filter(Boolean).map((l) => l.replace(/elapsed \S+/, 'elapsed T')), [
        '[1/2 4.00 img/s elapsed T eta 0:00] embedded a.jpg',
        '[2/2 4.00 img/s elapsed T eta 0:00] failed b.jpg',
    ]);
    assert.ok(!log.text.includes('\r') && !log.text.includes('\x1b'));
});

test('--images takes folders, files and globs; names must be unique', async () => {
    const { list_images } = await import('../../scripts/embedder/embed_run.mjs');
    const dir = path.join(tmp, 'list');
    make_images(dir, 3);
    fs.writeFileSync(path.join(dir, 'photo.JPG'), 'x');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
    fs.writeFileSync(path.join(dir, '.hidden.png'), 'x');
    fs.mkdirSync(path.join(dir, 'sub.png'));
    const names = (list) => list.map((p) => path.basename(p));
    assert.deepEqual(names(list_images([dir])), ['img00.png', 'img01.png', 'img02.png', 'photo.JPG']);
    assert.deepEqual(names(list_images([path.join(dir, 'img0?.png')])), ['img00.png', 'img01.png', 'img02.png']);
    assert.deepEqual(names(list_images([path.join(dir, '*1.png'), path.join(dir, 'photo.JPG')])), ['img01.png', 'photo.JPG']);
    assert.throws(() => list_images([path.join(dir, 'missing')]), /no such file or folder/);
    const other = path.join(tmp, 'list2');
    make_images(other, 1);
    assert.throws(() => list_images([dir, other]), /two images named img00\.png/);
});

test('decoder weights: a damaged file is refused by name; a new decoder without weights drops the old ones', async () => {
    const imgs = path.join(tmp, 'weights-src');
    const ds = path.join(tmp, 'weights');
    make_images(imgs, 1);
    const cut = path.join(tmp, 'cut.samw');
    const w = fs.readFileSync(path.join(TINY, 'decoder.samw'));
    fs.writeFileSync(cut, w.subarray(0, w.length - 10));
    let r = await run_embed(['--encoder', ENCODER, '--decoder', DECODER, '--decoder-weights', cut, '--images', imgs, '--out', ds]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /cut\.samw: the header says \d+ bytes but the file has \d+ \(truncated\)/);
    assert.ok(!fs.existsSync(path.join(ds, 'decoder.samw')));
    r = await run_embed(['--encoder', ENCODER, '--decoder', DECODER, '--images', imgs, '--out', ds]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(read_json(path.join(ds, 'manifest.json')).model.decoder_weights, 'decoder.samw');
    const lone = path.join(tmp, 'lone');
    fs.mkdirSync(lone, { recursive: true });
    fs.copyFileSync(DECODER, path.join(lone, 'decoder.onnx'));
    r = await run_embed(['--encoder', ENCODER, '--decoder', path.join(lone, 'decoder.onnx'), '--images', imgs, '--out', ds]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(read_json(path.join(ds, 'manifest.json')).model.decoder_weights, undefined);
    assert.ok(!fs.existsSync(path.join(ds, 'decoder.samw')));
});

test('--browser-encoder: a small SAM 1 encoder is copied in and declared; ask / no; the size rule', async () => {
    const imgs = path.join(tmp, 'browser-src');
    make_images(imgs, 1);
    const runs = { auto: [], ask: ['--browser-encoder', 'ask'], no: ['--browser-encoder', 'no'] };
    for (const [mode, extra] of Object.entries(runs)) {
        const ds = path.join(tmp, `browser-${mode}`);
        const r = await run_embed(['--encoder', ENCODER, '--decoder', DECODER, '--images', imgs, '--out', ds, ...extra]);
        assert.equal(r.code, 0, r.stderr);
        const m = read_json(path.join(ds, 'manifest.json'));
        if (mode === 'no') {
            assert.equal(m.model.encoder, undefined);
            assert.equal(m.model.browser_encoder, undefined);
            assert.ok(!fs.existsSync(path.join(ds, 'encoder.onnx')));
            continue;
        }
        assert.equal(m.model.encoder, 'encoder.onnx');
        assert.equal(m.model.browser_encoder, mode === 'auto');
        assert.deepEqual(fs.readFileSync(path.join(ds, 'encoder.onnx')), fs.readFileSync(ENCODER));
    }
    const bad = await run_embed(['--encoder', ENCODER, '--images', imgs, '--out', path.join(tmp, 'browser-bad'), '--browser-encoder', 'maybe']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--browser-encoder needs one of auto, yes, ask, no/);
    // The size rule on a sparse 49 MiB file (a ViT-B encoder is ~360 MB): auto leaves it out, yes takes it.
    const { browser_encoder_plan, BROWSER_ENCODER_MAX_BYTES } = await import('../../scripts/embedder/dataset.mjs');
    const { SAM1_SPEC, SAM2_1_SPEC } = await import('../../scripts/lib/model_spec.mjs');
    const big = path.join(tmp, 'big.onnx');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, BROWSER_ENCODER_MAX_BYTES + 2 ** 20);
    assert.deepEqual(browser_encoder_plan(big, SAM1_SPEC, 'auto'), { copy: false, declare: false });
    assert.deepEqual(browser_encoder_plan(big, SAM1_SPEC, 'yes'), { copy: true, declare: true });
    assert.deepEqual(browser_encoder_plan(ENCODER, SAM2_1_SPEC, 'auto'), { copy: false, declare: false });
    assert.throws(() => browser_encoder_plan(ENCODER, SAM2_1_SPEC, 'yes'), /sam2\.1 encoder cannot run in the browser yet/);
});
