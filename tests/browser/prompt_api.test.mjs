// Browser tests of prompts from outside (issue 15): window.samAnnotator.prompt({points,
// box}) in image pixels gives the same candidates as the same prompt clicked (a point;
// a second point, refining the first; a box dragged), and accept({category}) makes the
// annotation, as Enter does. The tiny test model's real decoder (ONNX Runtime Web).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStaticServer } from './static_server.mjs';
import { launchBrowser, waitReady, state, waitState, imageToPage } from './browser_harness.mjs';
import { makeTestDataset } from './test_dataset.mjs';

const SITE = path.resolve('build/wasm/site');
let server, browser, dir;

before(async () => {
  assert.ok(fs.existsSync(path.join(SITE, 'sam_annotator.wasm')), 'build/wasm/site missing: run scripts/build-wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-prompt-api-'));
  makeTestDataset(dir, [[640, 480]]);
  server = await startStaticServer({ '/': SITE, '/data/': dir });
  browser = await launchBrowser({ width: 1280, height: 800 });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const settled = (n) => (t) => t.result_kind === 'prompt' && !t.decoder.busy && t.requests.shown_id === t.requests.last_id &&
  t.requests.sent >= n;

test('prompt() in image pixels gives the candidates of the same clicks; accept() adds the annotation', async () => {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json');
  await waitReady(page, browser.logs);
  let s = await waitState(page, (t) => t.image && t.image.loaded && t.decoder.status === 'ready' && t.restored, { what: 'ready' });
  const clicked = [], api = [];
  // clicked: a point, then a negative point refining it; then a box dragged
  const p1 = imageToPage(s, 220, 210), p2 = imageToPage(s, 420, 160);
  await page.mouse.click(p1.x, p1.y);
  s = await waitState(page, (t) => t.points.length === 1 && settled(s.requests.sent + 1)(t), { what: 'first click' });
  clicked.push(s.candidates);
  await page.mouse.click(p2.x, p2.y, { button: 'right' });
  s = await waitState(page, (t) => t.points.length === 2 && settled(s.requests.sent + 1)(t), { what: 'second click' });
  assert.equal(s.requests.last_has_mask_input, true);
  clicked.push(s.candidates);
  const points = s.points.map((p) => [p.x, p.y, p.label]);
  await page.keyboard.press('Escape');
  const b0 = imageToPage(s, 380, 90), b1 = imageToPage(s, 560, 330);
  await page.mouse.move(b0.x, b0.y);
  await page.mouse.down();
  await page.mouse.move(b1.x, b1.y, { steps: 5 });
  await page.mouse.up();
  s = await waitState(page, (t) => t.box && settled(0)(t), { what: 'box drag' });
  clicked.push(s.candidates);
  const box = s.box;
  await page.keyboard.press('Escape');
  await page.mouse.move(5, 795);  // off the image: no hover preview in between

  // the same through the API (which waits for the mask to be drawn)
  let r = await page.evaluate((p) => window.samAnnotator.prompt({ points: [p] }), points[0]);
  api.push(r.candidates);
  r = await page.evaluate((p) => window.samAnnotator.prompt({ points: p }), points);
  api.push(r.candidates);
  s = await state(page);
  assert.equal(s.requests.last_has_mask_input, true, 'extending the shown prompt feeds its mask back, as a click does');
  r = await page.evaluate((b) => window.samAnnotator.prompt({ box: b }), box);
  api.push(r.candidates);
  assert.deepEqual(api, clicked);
  assert.ok(clicked.every((c) => c.length === 3));

  const id = await page.evaluate(() => window.samAnnotator.accept({ category: 'cup' }));
  s = await state(page);
  const a = s.annotations.find((x) => x.id === id);
  assert.ok(a, 'accept() returned the new annotation id');
  assert.equal(s.categories.find((c) => c.id === a.category_id).name, 'cup');
  assert.equal(a.has_box, true);
  // refusals name the problem
  const bad = await page.evaluate(() => window.samAnnotator.prompt({ points: [[1, 2, 5]] }).then(() => 'ok', (e) => e.message));
  assert.match(bad, /points\[0\]/);
  const none = await page.evaluate(() => window.samAnnotator.accept({}).then(() => 'ok', (e) => e.message));
  assert.match(none, /no mask to accept/);
  await page.close();
});
