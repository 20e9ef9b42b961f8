// Browser tests of opening without a dataset URL: ./manifest.json beside
// index.html (the offline bundle), the "open files" screen, an image + .npy
// opened through the file dialog's input, and a COCO .json dropped on the
// page (imported, images matched by file name). Screenshots: $SAM_TEST_OUTPUT/local-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStaticServer } from './static_server.mjs';
import { launchBrowser, waitReady, waitState, imageToPage } from './browser_harness.mjs';
import { makeTestDataset } from './test_dataset.mjs';

const SITE = path.resolve('build/wasm/site');
let dir, manifest, server, browser;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-local-test-'));
  manifest = makeTestDataset(dir, [[320, 240]]);
  fs.copyFileSync(path.resolve('tests/browser/fixtures/disc_decoder.onnx'), path.join(dir, 'disc_decoder.onnx'));
  // '/' is the app; '/bundle/' the app with the dataset beside it, as the offline demo bundle
  server = await startStaticServer({ '/': SITE, '/data/': dir, '/bundle/': [SITE, dir] });
  browser = await launchBrowser({ width: 1280, height: 800 });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('without ?manifest, ./manifest.json beside index.html opens', async () => {
  const page = await browser.open(server.url + 'bundle/index.html');
  await waitReady(page, browser.logs);
  const s = await waitState(page, (t) => t.image && t.image.loaded && t.decoder.status === 'ready', { what: 'bundle dataset' });
  assert.equal(s.image.file, manifest.images[0].file);
  assert.deepEqual(s.errors, []);
  await page.close();
});

test('open files: image + .npy through the dialog, then a dropped COCO .json', async () => {
  const page = await browser.open(server.url + 'index.html?decoder=/data/disc_decoder.onnx');
  await waitReady(page, browser.logs);
  let s = await waitState(page, (t) => t.ui.open_files_screen, { what: 'open-files screen' });
  assert.equal(s.image, null);
  assert.deepEqual(s.errors, []);
  await browser.shot(page, 'local-open-screen');

  const entry = manifest.images[0];
  await page.setInputFiles('#sam-file-input', [path.join(dir, entry.embedding), path.join(dir, entry.file)]);
  s = await waitState(page, (t) => t.image && t.image.loaded && t.image.embedding_loaded && t.decoder.status === 'ready' && t.restored,
    { what: 'local image' });
  assert.equal(s.image.width, entry.width);
  assert.equal(s.image.height, entry.height);
  assert.deepEqual(s.errors, []);
  const at = imageToPage(s, 100, 80);
  await page.mouse.click(at.x, at.y);
  s = await waitState(page, (t) => t.points.length === 1 && t.result_kind === 'prompt', { what: 'decode on the local image' });
  await page.keyboard.press('Enter');
  s = await waitState(page, (t) => t.annotations.length === 1, { what: 'accepted' });
  const exported = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco()));
  assert.equal(exported.images[0].file_name, path.basename(entry.file));

  // a COCO file from elsewhere: a 40x30 rectangle polygon on this image, category "box"
  const coco = {
    images: [{ id: 7, file_name: `somewhere/${path.basename(entry.file)}`, width: entry.width, height: entry.height }],
    categories: [{ id: 3, name: 'box' }],
    annotations: [{ id: 1, image_id: 7, category_id: 3, iscrowd: 0, area: 1200, bbox: [10, 20, 40, 30],
      segmentation: [[10, 20, 50, 20, 50, 50, 10, 50]] }],
  };
  await page.evaluate((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], 'more.json', { type: 'application/json' }));
    window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, JSON.stringify(coco));
  s = await waitState(page, (t) => t.annotations.length === 2, { what: 'COCO import' });
  const imported = s.annotations[1];
  assert.equal(s.categories.find((c) => c.id === imported.category_id).name, 'box');
  assert.ok(Math.abs(imported.area - 1200) <= 80, `area ${imported.area}`);
  assert.ok(s.notices.some((n) => /Imported 1 annotations from more\.json/.test(n)), JSON.stringify(s.notices));
  await page.keyboard.press('Control+KeyZ');
  s = await waitState(page, (t) => t.annotations.length === 1, { what: 'import undone in one step' });
  await browser.shot(page, 'local-image');
  await page.close();
});
