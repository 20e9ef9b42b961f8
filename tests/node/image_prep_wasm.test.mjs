// In-browser encoding starts from the same encoder input as the embedder: the
// WebAssembly image-preparation module (libjpeg-turbo's C code and stb_image for PNG,
// compiled to wasm) gives sam_preprocess's native tensor (Debian's libjpeg-turbo and
// libpng) bit for bit, on JPEGs of every kind and PNGs, and refuses bad files by name.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load_image_prep_wasm } from '../../scripts/lib/sam_image_prep_wasm.mjs';
import { find_preprocess_tool } from '../../scripts/embedder/preprocess_tool.mjs';

const repo = path.resolve(import.meta.dirname, '..', '..');
let prep;
before(async () => { prep = await load_image_prep_wasm(); });

const IMAGES = [
    'assets/samples/coffee.jpg', 'assets/samples/astronaut.jpg', 'assets/samples/chelsea.jpg',
    ...[1, 3, 5, 6, 8].map((o) => `tests/data/orient_${o}_mm.jpg`),
    ...['cmyk.jpg', 'progressive.jpg', 'subsampled.jpg', 'grey_420.jpg', 'grey16.png', 'palette.png', 'rgba.png', 'pattern.gif', 'pattern.bmp']
        .map((f) => `tests/fuzz/corpus/fuzz_image_decode/${f}`),
];

test('the wasm module gives the embedder\'s encoder input bit for bit', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-prep-'));
    try {
        for (const rel of IMAGES) {
            const file = path.join(repo, rel);
            const ours = prep.prepare(fs.readFileSync(file), rel);
            const out = path.join(tmp, 'x.f32');
            const r = spawnSync(find_preprocess_tool(), [file, out], { encoding: 'utf8' });
            assert.equal(r.status, 0, r.stderr);
            const info = JSON.parse(r.stdout);
            assert.deepEqual([ours.width, ours.height, ours.input_h, ours.input_w], [info.width, info.height, info.input_h, info.input_w], rel);
            const want = new Float32Array(fs.readFileSync(out).buffer.slice(0));
            assert.equal(ours.tensor.length, want.length);
            let differ = 0;
            for (let i = 0; i < want.length; i++) if (Object.is(ours.tensor[i], want[i]) === false) differ++;
            assert.equal(differ, 0, `${rel}: ${differ} values differ from sam_preprocess`);
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
});

test('bad files are refused by name, with the reason', () => {
    const jpg = fs.readFileSync(path.join(repo, 'assets/samples/coffee.jpg'));
    assert.throws(() => prep.prepare(jpg.subarray(0, jpg.length >> 1), 'cut.jpg'), /^Error: cut\.jpg: truncated JPEG/);
    assert.throws(() => prep.prepare(Buffer.from('hello'), 'notes.txt'), /notes\.txt: not a JPEG, PNG/);
    assert.throws(() => prep.prepare(jpg, 'big.jpg', { max_pixels: 1000 }), /big\.jpg: image is 600x400 .*more than the limit of 1000 pixels/);
    // A hostile file found by the fuzzers: refused, and the module still works after it.
    const hostile = fs.readFileSync(path.join(repo, 'tests/fuzz/regressions/fuzz_image_decode/jpeg_dht_over_256_codes.jpg'));
    assert.throws(() => prep.prepare(hostile, 'hostile.jpg'), /hostile\.jpg: corrupt JPEG/);
    assert.equal(prep.prepare(jpg, 'coffee.jpg').width, 600);
});
