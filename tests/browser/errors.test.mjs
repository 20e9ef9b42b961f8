// Browser tests of the on-screen errors: a missing image file, an embedding
// of the wrong shape or dtype, an image whose size disagrees with the
// manifest, a decoder ONNX with the wrong inputs, C++ decoder weights the C++ worker
// cannot load (ONNX Runtime Web takes over, with a notice). Each must appear in
// state().errors naming the file and the problem, and in the "Problems"
// window (screenshots $SAM_TEST_OUTPUT/errors-*.png); the app stays usable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStaticServer } from './static_server.mjs';
import { launchBrowser, waitReady, waitState } from './browser_harness.mjs';
import { makeTestDataset, npyF32 } from './test_dataset.mjs';

const SITE = path.resolve('build/wasm/site');
let dir, manifest, server, browser;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-errors-test-'));
  manifest = makeTestDataset(dir, [[320, 240], [200, 160], [240, 200], [180, 180], [160, 120]]);
  const [, wrongShape, wrongSize, missing, wrongDtype] = manifest.images;
  fs.writeFileSync(path.join(dir, wrongShape.embedding), npyF32([1, 256, 32, 32], new Float32Array(256 * 32 * 32)));
  const ints = npyF32([1, 256, 64, 64], new Float32Array(256 * 64 * 64));
  ints.write("'<i4'", ints.indexOf("'<f4'"), 'latin1');
  fs.writeFileSync(path.join(dir, wrongDtype.embedding), ints);
  wrongSize.width += 10;
  fs.rmSync(path.join(dir, missing.file));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  fs.copyFileSync('tests/fixtures/tiny/encoder.onnx', path.join(dir, 'not_a_decoder.onnx'));
  server = await startStaticServer({ '/': SITE, '/data/': dir });
  browser = await launchBrowser({ width: 1280, height: 800 });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('wrong embedding shape/dtype, image size, missing file: named on screen, per image', async () => {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json');
  await waitReady(page, browser.logs);
  let s = await waitState(page, (t) => t.image && t.image.loaded && t.image.embedding_loaded, { what: 'first image' });
  assert.deepEqual(s.errors, [], 'the good image loads cleanly');

  const expectations = [
    [1, /embeddings\/picture2\.npy.*\(1, 256, 32, 32\).*\(1, 256, 64, 64\)/s, 'wrong-shape'],
    [2, /images\/picture3\.png.*240x200.*250x200/s, 'wrong-size'],
    [3, /images\/picture4\.png.*404/s, 'missing'],
    [4, /embeddings\/picture5\.npy.*int32/s, 'wrong-dtype'],
  ];
  for (const [index, pattern, name] of expectations) {
    await page.keyboard.press('ArrowRight');
    s = await waitState(page, (t) => t.image && t.image.index === index && t.errors.length > 0 && t.ui.dismiss_errors, { what: `error for ${name}` });
    assert.equal(s.errors.length, 1, JSON.stringify(s.errors));
    assert.match(s.errors[0], pattern);
    await browser.shot(page, `errors-${name}`);
  }
  // back to the good image: its errors are gone and it works
  await page.keyboard.press('Home');
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft');
  s = await waitState(page, (t) => t.image && t.image.index === 0 && t.image.loaded && t.errors.length === 0, { what: 'good image again' });
  await page.close();
});

test('a decoder ONNX without the SAM inputs is refused with its missing inputs named', async () => {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json&decoder=/data/not_a_decoder.onnx');
  await waitReady(page, browser.logs);
  const s = await waitState(page, (t) => t.decoder.status === 'failed' && t.errors.length > 0, { what: 'decoder refused' });
  assert.match(s.errors[0], /not_a_decoder\.onnx: not a SAM decoder \(missing input image_embeddings.*point_coords/);
  await browser.shot(page, 'errors-decoder');
  await page.close();
});

test('a manifest naming C++ decoder weights: when the C++ worker cannot load them, ONNX Runtime Web takes over', async () => {
  // the dataset's manifest names weights the C++ worker refuses (here: not a weights file;
  // where the build has no sam_decoder_worker.js yet, the worker itself fails to start)
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  m.model.decoder_weights = 'not_weights.samw';
  fs.writeFileSync(path.join(dir, 'not_weights.samw'), 'not a weights file');
  fs.writeFileSync(path.join(dir, 'manifest_cpp.json'), JSON.stringify(m));
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest_cpp.json');
  await waitReady(page, browser.logs);
  const s = await waitState(page, (t) => t.decoder.status === 'ready' && t.image && t.image.embedding_loaded, { what: 'fallback decoder' });
  assert.equal(s.decoder.worker, 'decoder_worker.js');
  assert.equal(s.decoder.fell_back, true);
  assert.match(s.decoder.url, /\/data\/decoder\.onnx$/);
  assert.match(s.decoder.description, /^ORT [\d.]+ wasm, \d threads?/);
  assert.ok(s.notices.some((n) => /^C\+\+ decoder unavailable \(.*(sam_decoder_worker\.js|not_weights\.samw).*\); using ONNX Runtime Web$/.test(n)),
    JSON.stringify(s.notices));
  assert.deepEqual(s.errors, []);
  await page.close();
});
