// Browser end-to-end tests of the annotator (build/wasm/site from
// scripts/build-wasm): headless Debian Chromium via playwright-core, driven
// with real mouse/keyboard events aimed through the app's view transform.
// Screenshots: $SAM_TEST_OUTPUT/app-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStaticServer } from './static_server.mjs';
import { launchBrowser, waitReady, state, waitState, imageToPage } from './browser_harness.mjs';
import { decodePng, distinctColours } from './png.mjs';
import { makeTestDataset } from './test_dataset.mjs';

const SITE = path.resolve('build/wasm/site');
let server, browser, datasetDir, manifest;

before(async () => {
  assert.ok(fs.existsSync(path.join(SITE, 'sam_annotator.wasm')), 'build/wasm/site missing: run scripts/build-wasm');
  datasetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-app-test-'));
  manifest = makeTestDataset(datasetDir);
  server = await startStaticServer({ '/': SITE, '/data/': datasetDir });
  browser = await launchBrowser({ width: 1280, height: 800 });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (datasetDir) fs.rmSync(datasetDir, { recursive: true, force: true });
});

// Fraction of pixels inside the image's on-screen rectangle that differ between two screenshots.
function changedFraction(a, b, s) {
  const x0 = Math.max(0, Math.ceil(s.view.offset_x)), y0 = Math.max(0, Math.ceil(s.view.offset_y));
  const x1 = Math.min(a.width, Math.floor(s.view.offset_x + s.image.width * s.view.scale));
  const y1 = Math.min(a.height, Math.floor(s.view.offset_y + s.image.height * s.view.scale));
  let changed = 0, total = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++, total++) {
      const i = (y * a.width + x) * 4;
      if (Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]) > 30) changed++;
    }
  }
  return changed / Math.max(1, total);
}

test('the app opens and draws its ImGui panels on a page-filling WebGL2 canvas', async () => {
  const page = await browser.open(server.url + 'index.html');
  await waitReady(page, browser.logs);
  await page.waitForTimeout(300);  // a few frames
  const s = await state(page);
  assert.equal(s.ready, true);
  assert.deepEqual(s.errors, []);
  const canvasSize = await page.evaluate(() => {
    const c = document.getElementById('canvas');
    return { w: c.width, h: c.height, webgl2: !!c.getContext('webgl2') };
  });
  assert.deepEqual(canvasSize, { w: 1280, h: 800, webgl2: true });
  const img = decodePng(await browser.shot(page, 'app-empty'));
  assert.equal(img.width, 1280);
  // The left panel holds text and widgets: many colours (anti-aliased glyphs);
  // a blank or single-colour canvas would have 1-2.
  assert.ok(distinctColours(img, 0, 0, 220, 200) > 10, 'left panel looks blank');
  assert.ok(distinctColours(img) > 15, 'screenshot looks blank');
  // the empty canvas area shows the GL clear colour (around the open-files window), the panels ImGui's dark theme
  assert.ok(s.ui.open_files_screen, 'the open-files screen is shown');
  assert.deepEqual(img.pixel(300, 700).slice(0, 3), [28, 31, 36]);
  assert.notDeepEqual(img.pixel(100, 400).slice(0, 3), [28, 31, 36]);
  await page.close();
});

test('dataset: hover preview, positive/negative points, box, candidate pick, overlay', async () => {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json');
  await waitReady(page, browser.logs);
  let s = await waitState(page, (t) => t.image && t.image.loaded && t.decoder.status === 'ready', { what: 'image + decoder' });
  assert.deepEqual(s.errors, []);
  assert.equal(s.image.id, manifest.images[0].id);
  assert.equal(s.image.width, manifest.images[0].width);
  assert.equal(s.image.height, manifest.images[0].height);
  assert.equal(s.image_count, 2);
  // fitted: the whole image inside the canvas area
  assert.ok(s.view.offset_x >= s.canvas.x - 1 && s.view.offset_x + s.image.width * s.view.scale <= s.canvas.x + s.canvas.w + 1);
  await page.mouse.move(5, 795);  // off the image
  await page.waitForTimeout(200);
  const plain = decodePng(await browser.shot(page, 'app-image'));

  // hover: decodes before any click
  const target = imageToPage(s, Math.round(s.image.width * 0.35), Math.round(s.image.height * 0.45));
  await page.mouse.move(target.x, target.y);
  s = await waitState(page, (t) => t.decode_count >= 1, { what: 'hover decode' });
  assert.equal(s.result_kind, 'hover');
  assert.equal(s.candidates.length, 3);
  assert.ok(s.last_decode_ms > 0);
  const best = s.candidates.reduce((a, c) => (c.iou > a.iou ? c : a));
  assert.equal(s.selected_candidate, best.number, 'hover picks the multimask output with the best predicted IoU');
  await page.waitForTimeout(150);
  const hover = decodePng(await browser.shot(page, 'app-hover'));
  assert.ok(changedFraction(plain, hover, s) > 0.002, 'hover overlay not visible');

  // positive point
  let count = s.decode_count;
  await page.mouse.click(target.x, target.y);
  s = await waitState(page, (t) => t.points.length === 1 && t.result_kind === 'prompt' && t.decode_count > count, { what: 'positive point decode' });
  assert.deepEqual(s.points[0], { x: Math.round(s.image.width * 0.35), y: Math.round(s.image.height * 0.45), label: 1 });
  assert.equal(s.selected_candidate, s.candidates.reduce((a, c) => (c.iou > a.iou ? c : a)).number);

  // negative point (right click): three prompt points with padding -> single-mask output 0
  count = s.decode_count;
  const neg = imageToPage(s, Math.round(s.image.width * 0.7), Math.round(s.image.height * 0.4));
  await page.mouse.click(neg.x, neg.y, { button: 'right' });
  s = await waitState(page, (t) => t.points.length === 2 && t.decode_count > count, { what: 'negative point decode' });
  assert.equal(s.points[1].label, 0);
  assert.equal(s.selected_output, 0);
  assert.equal(s.selected_candidate, 0);

  // box drag
  count = s.decode_count;
  const b0 = imageToPage(s, Math.round(s.image.width * 0.1), Math.round(s.image.height * 0.15));
  const b1 = imageToPage(s, Math.round(s.image.width * 0.6), Math.round(s.image.height * 0.8));
  await page.mouse.move(b0.x, b0.y);
  await page.mouse.down();
  await page.mouse.move(b1.x, b1.y, { steps: 8 });
  await page.mouse.up();
  s = await waitState(page, (t) => t.box && t.decode_count > count, { what: 'box decode' });
  assert.equal(s.points.length, 2, 'a drag must not add a point');
  assert.ok(Math.abs(s.box[0] - Math.round(s.image.width * 0.1)) <= 1 && Math.abs(s.box[3] - Math.round(s.image.height * 0.8)) <= 1);

  // pick candidate 2
  await page.keyboard.press('Digit2');
  s = await waitState(page, (t) => t.selected_candidate === 2, { what: 'candidate 2' });
  assert.equal(s.selected_output, 2);
  await page.mouse.move(5, 795);
  await page.waitForTimeout(150);
  const prompted = decodePng(await browser.shot(page, 'app-prompt'));
  assert.ok(changedFraction(plain, prompted, s) > 0.002, 'prompt overlay not visible');

  // zoom at cursor keeps the image point under the cursor
  const zx = s.view.offset_x + 100 * s.view.scale, zy = s.view.offset_y + 80 * s.view.scale;
  const before = s.view;
  await page.mouse.move(zx, zy);
  await page.mouse.wheel(0, -300);
  s = await waitState(page, (t) => t.view.scale > before.scale * 1.2, { what: 'zoom in' });
  assert.ok(Math.abs((zx - s.view.offset_x) / s.view.scale - 100) < 0.5, 'zoom did not keep the point under the cursor');
  // pan: middle drag, then Space + left drag, each moves the view by the drag and adds no prompt
  let v = s.view;
  await page.mouse.move(600, 400);
  await page.mouse.down({ button: 'middle' });
  await page.mouse.move(650, 430, { steps: 4 });
  await page.mouse.up({ button: 'middle' });
  s = await waitState(page, (t) => Math.abs(t.view.offset_x - (v.offset_x + 50)) < 1 && Math.abs(t.view.offset_y - (v.offset_y + 30)) < 1,
    { what: 'middle-drag pan' });
  v = s.view;
  await page.keyboard.down('Space');
  await page.mouse.move(600, 400);
  await page.mouse.down();
  await page.mouse.move(560, 380, { steps: 4 });
  await page.mouse.up();
  await page.keyboard.up('Space');
  s = await waitState(page, (t) => Math.abs(t.view.offset_x - (v.offset_x - 40)) < 1 && Math.abs(t.view.offset_y - (v.offset_y - 20)) < 1,
    { what: 'space-drag pan' });
  assert.equal(s.points.length, 2, 'panning added no point');
  await page.keyboard.press('KeyF');
  s = await waitState(page, (t) => Math.abs(t.view.scale - before.scale) < 1e-9, { what: 'fit (F)' });

  // Escape clears; next image with the arrow key
  await page.keyboard.press('Escape');
  s = await waitState(page, (t) => t.points.length === 0 && !t.box, { what: 'clear' });
  await page.keyboard.press('ArrowRight');
  s = await waitState(page, (t) => t.image && t.image.id === manifest.images[1].id && t.image.loaded, { what: 'next image' });
  assert.equal(s.image.width, manifest.images[1].width);
  assert.deepEqual(s.errors, []);
  await page.close();
});

test('the official decoder interface (full-resolution `masks` output, orig_im_size) works the same', async () => {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json&decoder=/data/decoder_full.onnx');
  await waitReady(page, browser.logs);
  let s = await waitState(page, (t) => t.image && t.image.loaded && t.decoder.status === 'ready', { what: 'ready' });
  assert.match(s.decoder.description, /official \(with masks\)/);
  const p = imageToPage(s, 100, 120);
  await page.mouse.click(p.x, p.y);
  s = await waitState(page, (t) => t.result_kind === 'prompt' && t.points.length === 1, { what: 'decode' });
  assert.equal(s.candidates.length, 3);
  assert.deepEqual(s.errors, []);
  await page.close();
});

test('an idle page draws no frames; input wakes it', async () => {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json');
  await waitReady(page, browser.logs);
  await waitState(page, (t) => t.image && t.image.loaded && t.decoder.status === 'ready' && t.restored, { what: 'ready' });
  // The dataset declares its small encoder: the app loads it at the first quiet moment
  // (1.5 s without input), and the panel shows that once; idle means after it.
  await waitState(page, (t) => t.encoding.status === 'ready' || t.encoding.status === 'failed', { what: 'encoder preloaded', timeout: 60000 });
  // the frames after the last activity run out (how fast depends on the machine's frame rate)
  let a = (await state(page)).frames_drawn;
  for (let i = 0; i < 40; i++) {
    await page.waitForTimeout(500);
    const n = (await state(page)).frames_drawn;
    if (n === a) break;
    a = n;
  }
  await page.waitForTimeout(1000);
  const b = (await state(page)).frames_drawn;
  assert.ok(b - a <= 1, `${b - a} frames drawn in an idle second`);
  await page.mouse.move(700, 300);
  await page.mouse.move(720, 320);
  const c = (await waitState(page, (t) => t.frames_drawn > b, { what: 'woken by the mouse' })).frames_drawn;
  assert.ok(c > b);
  await page.close();
});
