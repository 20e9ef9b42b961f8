// Geometry end to end, with a fake decoder whose masks are discs around the
// first prompt point (fixtures/disc_decoder.onnx, see make_disc_decoder.py):
// a click at image pixel p must give an on-screen overlay and an accepted RLE
// mask that are discs centred on p with the radius the decoder drew (1024
// frame / resize scale). This checks apply_coords, the overlay shader's
// image -> 256-frame mapping and postprocess_to_mask together, and the
// downscaled display of an image wider than GL_MAX_TEXTURE_SIZE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStaticServer } from './static_server.mjs';
import { launchBrowser, waitReady, state, waitState, imageToPage } from './browser_harness.mjs';
import { decodePng } from './png.mjs';
import { decodeRle } from './coco_rle.mjs';
import { embedDataset, makeTestDataset } from './test_dataset.mjs';

const SITE = path.resolve('build/wasm/site');
const RADII = [60, 40, 120, 80];  // as in make_disc_decoder.py (1024 frame)
let dir, manifest, server, browser;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-geometry-test-'));
  manifest = makeTestDataset(dir, [[640, 480], [8400, 300]]);
  fs.copyFileSync(path.resolve('tests/browser/fixtures/disc_decoder.onnx'), path.join(dir, 'disc_decoder.onnx'));
  server = await startStaticServer({ '/': SITE, '/data/': dir });
  browser = await launchBrowser({ width: 1280, height: 800 });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function pixelDiff(a, b, x, y) {
  const i = (Math.round(y) * a.width + Math.round(x)) * 4;
  return Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]);
}

function centroid(m, w, h) {
  let sx = 0, sy = 0, n = 0;
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) if (m.at(x, y)) { sx += x; sy += y; n++; }
  return { x: sx / n, y: sy / n, n };
}

test('a click gives a disc centred on the click: overlay on screen and accepted mask', async () => {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json&decoder=/data/disc_decoder.onnx');
  await waitReady(page, browser.logs);
  let s = await waitState(page, (t) => t.image && t.image.loaded && t.decoder.status === 'ready' && t.restored, { what: 'ready' });
  assert.deepEqual(s.errors, []);
  const W = s.image.width, H = s.image.height, scale = 1024 / Math.max(W, H);
  await page.mouse.move(5, 795);
  await page.waitForTimeout(200);
  const plain = decodePng(await browser.shot(page, 'geometry-plain'));

  const px = 200, py = 150;
  const at = imageToPage(s, px, py);
  await page.mouse.click(at.x, at.y);
  s = await waitState(page, (t) => t.result_kind === 'prompt' && t.points.length === 1, { what: 'click decode' });
  // mouse events land on whole CSS pixels: the pixel hit is within one of the aim
  assert.ok(Math.abs(s.points[0].x - px) <= 1 && Math.abs(s.points[0].y - py) <= 1, JSON.stringify(s.points));
  const hit = s.points[0];
  assert.equal(s.selected_candidate, 2, 'best predicted IoU (0.95) is multimask output 2');
  const r = RADII[2] / scale;  // disc radius in image pixels
  await page.mouse.move(5, 795);
  await page.waitForTimeout(200);
  const shown = decodePng(await browser.shot(page, 'geometry-prompt'));
  // inside the disc (0.8 r) the overlay tints the photo; outside (1.2 r) it does not
  for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1], [0.7, 0.7], [-0.7, -0.7]]) {
    const inside = imageToPage(s, px + dx * 0.8 * r, py + dy * 0.8 * r);
    const outside = imageToPage(s, px + dx * 1.2 * r, py + dy * 1.2 * r);
    assert.ok(pixelDiff(plain, shown, inside.x, inside.y) > 30, `no overlay at 0.8 r towards ${dx},${dy}`);
    assert.ok(pixelDiff(plain, shown, outside.x, outside.y) < 10, `overlay at 1.2 r towards ${dx},${dy}`);
  }

  await page.keyboard.press('Enter');
  s = await waitState(page, (t) => t.annotations.length === 1, { what: 'accepted' });
  const coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })));
  const m = decodeRle(coco.annotations[0].segmentation.counts, H, W);
  const c = centroid(m, W, H);
  // the decoder's disc is centred on the point's coordinates in the 1024 frame, i.e. on the
  // corner between pixels hit.x - 1 and hit.x: pixel-index centroid hit - 0.5
  assert.ok(Math.abs(c.x - (hit.x - 0.5)) < 0.25 && Math.abs(c.y - (hit.y - 0.5)) < 0.25,
    `mask centroid ${c.x},${c.y} not at the click ${hit.x},${hit.y}`);
  const expectedArea = Math.PI * r * r;
  assert.ok(Math.abs(m.area - expectedArea) / expectedArea < 0.03, `area ${m.area} vs pi r^2 ${expectedArea}`);
  assert.equal(m.area, s.annotations[0].area);

  // two points: the single-mask output (radius RADII[0]) is chosen, as the official predictor does
  await page.mouse.click(at.x, at.y);
  // one click per frame, as a person clicks: two clicks 100 px apart within one frame (a few
  // ms here) can merge into one drag in ImGui's once-per-frame mouse polling
  await waitState(page, (t) => t.points.length === 1, { what: 'first point' });
  const second = imageToPage(s, px + 100, py);
  await page.mouse.click(second.x, second.y, { button: 'right' });
  s = await waitState(page, (t) => t.points.length === 2 && t.result_kind === 'prompt' && t.selected_output === 0, { what: 'two points' });
  await page.close();
});

test('an image wider than GL_MAX_TEXTURE_SIZE is shown downscaled with full-resolution coordinates', async () => {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json&decoder=/data/disc_decoder.onnx');
  await waitReady(page, browser.logs);
  await waitState(page, (t) => t.image && t.image.loaded && t.restored, { what: 'first image' });
  const before = (await state(page)).annotations.length;  // the browser profile keeps test 1's autosave
  await page.keyboard.press('ArrowRight');
  let s = await waitState(page, (t) => t.image && t.image.index === 1 && t.image.loaded && t.image.embedding_loaded, { what: 'wide image' });
  assert.deepEqual(s.errors, []);
  assert.equal(s.image.width, 8400);
  assert.ok(s.max_texture_size < 8400, `max texture ${s.max_texture_size}: the test needs a wider image`);
  assert.ok(s.image.texture_width <= s.max_texture_size && s.image.texture_width < s.image.width);
  // zoom in at the target so one image pixel is several screen pixels, then click it
  const px = 6000, py = 150;
  let at = imageToPage(s, px, py);
  await page.mouse.move(at.x, at.y);
  for (let i = 0; i < 8; i++) await page.mouse.wheel(0, -300);
  s = await waitState(page, (t) => t.view.scale > 2, { what: 'zoomed in' });
  at = imageToPage(s, px, py);
  await page.mouse.click(at.x, at.y);
  s = await waitState(page, (t) => t.points.length === 1 && t.result_kind === 'prompt', { what: 'click decode' });
  assert.deepEqual(s.points[0], { x: px, y: py, label: 1 });
  await page.keyboard.press('Enter');
  s = await waitState(page, (t) => t.annotations.length === before + 1, { what: 'accepted' });
  const coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true, allImages: false })));
  assert.equal(coco.annotations.length, 1, 'the current image only');
  const m = decodeRle(coco.annotations[0].segmentation.counts, 300, 8400);
  const c = centroid(m, 8400, 300);
  assert.ok(Math.abs(c.x - px) < 5, `centroid x ${c.x} vs ${px}`);
  await browser.shot(page, 'geometry-wide');
  await page.close();
});

test('points drag and remove; a new mask merges into the selected annotation (add, cut), undoably', async () => {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json&decoder=/data/disc_decoder.onnx');
  await waitReady(page, browser.logs);
  let s = await waitState(page, (t) => t.image && t.image.index === 0 && t.image.loaded && t.decoder.status === 'ready' && t.restored,
    { what: 'ready' });
  const r = RADII[2] / (1024 / Math.max(s.image.width, s.image.height));
  const before = s.annotations.length;

  // drag a placed point: it moves and decodes again; right click on it removes it
  let a = imageToPage(s, 200, 150);
  await page.mouse.click(a.x, a.y);
  s = await waitState(page, (t) => t.points.length === 1 && t.result_kind === 'prompt', { what: 'point' });
  let count = s.decode_count;
  const b = imageToPage(s, 320, 220);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps: 5 });
  await page.mouse.up();
  s = await waitState(page, (t) => t.decode_count > count && Math.abs(t.points[0].x - 320) <= 1, { what: 'dragged point' });
  assert.equal(s.points.length, 1, 'dragging a point adds none');
  assert.ok(!s.box, 'dragging a point draws no box');
  assert.ok(Math.abs(s.points[0].y - 220) <= 1);
  await page.mouse.click(b.x, b.y, { button: 'right' });
  s = await waitState(page, (t) => t.points.length === 0, { what: 'point removed' });

  // A: a disc at (200, 150)
  a = imageToPage(s, 200, 150);
  await page.mouse.click(a.x, a.y);
  await waitState(page, (t) => t.points.length === 1 && t.result_kind === 'prompt', { what: 'A prompt' });
  await page.keyboard.press('Enter');
  s = await waitState(page, (t) => t.annotations.length === before + 1, { what: 'A accepted' });
  const A = s.annotations[s.annotations.length - 1];
  assert.equal(s.selected_annotation, A.id);
  assert.ok(Math.abs(A.area - Math.PI * r * r) / (Math.PI * r * r) < 0.03);

  // add a disc 0.8 r to the right (Shift+Enter): the union, still one annotation
  const d = Math.round(0.8 * r);
  const c = imageToPage(s, 200 + d, 150);
  await page.mouse.click(c.x, c.y);
  await waitState(page, (t) => t.points.length === 1 && t.result_kind === 'prompt', { what: 'B prompt' });
  await page.keyboard.press('Shift+Enter');
  s = await waitState(page, (t) => t.annotations.find((x) => x.id === A.id).area > A.area, { what: 'added' });
  assert.equal(s.annotations.length, before + 1);
  const lens = (dist) => 2 * r * r * Math.acos(dist / (2 * r)) - (dist / 2) * Math.sqrt(4 * r * r - dist * dist);
  const union = 2 * Math.PI * r * r - lens(d);
  const added = s.annotations.find((x) => x.id === A.id);
  assert.ok(Math.abs(added.area - union) / union < 0.03, `union area ${added.area} vs ${union}`);
  assert.ok(added.bbox[2] > A.bbox[2] + d - 3, 'the box grew to the right');

  // cut a disc centred on A's centre (Alt+Enter): what is left is the lune of the added disc
  await page.mouse.click(a.x, a.y);
  await waitState(page, (t) => t.points.length === 1 && t.result_kind === 'prompt', { what: 'C prompt' });
  await page.keyboard.press('Alt+Enter');
  s = await waitState(page, (t) => t.annotations.find((x) => x.id === A.id).area < added.area / 2, { what: 'cut' });
  const cut = s.annotations.find((x) => x.id === A.id);
  const expected = Math.PI * r * r - lens(d);
  assert.ok(Math.abs(cut.area - expected) / expected < 0.05, `cut area ${cut.area} vs ${expected}`);

  // undo twice: back to A as accepted
  await page.keyboard.press('Control+KeyZ');
  await page.keyboard.press('Control+KeyZ');
  s = await waitState(page, (t) => t.annotations.find((x) => x.id === A.id).area === A.area, { what: 'undo merges' });
  await page.close();
});

// Minimal .npy reader for the uint8 HxWx3 fixtures of tests/data.
function readNpyU8(file) {
  const b = fs.readFileSync(file);
  const headerLen = b.readUInt16LE(8);
  const header = b.toString('latin1', 10, 10 + headerLen);
  assert.match(header, /'descr': '\|u1'/);
  const shape = header.match(/'shape': \((\d+), (\d+), (\d+)\)/).slice(1).map(Number);
  return { shape, data: b.subarray(10 + headerLen) };
}

test('EXIF-rotated JPEGs are shown upright, as the embedder saw them', async () => {
  const exifDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-exif-test-'));
  const exifServer = await startStaticServer({ '/': SITE, '/data/': exifDir });
  try {
    const cases = ['orient_6_mm', 'orient_3_ii', 'orient_8_ii'];
    const m = embedDataset(exifDir, cases.map((c) => path.resolve(`tests/data/${c}.jpg`)));
    const page = await browser.open(exifServer.url + 'index.html?manifest=/data/manifest.json&decoder=/data/decoder.onnx');
    await waitReady(page, browser.logs);
    for (let k = 0; k < m.images.length; k++) {
      if (k > 0) await page.keyboard.press('ArrowRight');
      const entry = m.images[k];
      const s = await waitState(page, (t) => t.image && t.image.index === k && t.image.loaded, { what: entry.file });
      assert.deepEqual(s.errors, []);
      const expected = readNpyU8(path.resolve(`tests/data/${path.basename(entry.file, '.jpg').slice(0, 8)}_expected.npy`));
      const [H, W] = expected.shape;
      assert.deepEqual([s.image.height, s.image.width], [H, W], 'oriented size');
      assert.deepEqual([entry.height, entry.width], [H, W], 'the embedder agrees');
      await page.mouse.move(5, 795);
      await page.waitForTimeout(150);
      const shot = decodePng(await browser.shot(page, `geometry-exif-${k}`));
      // the centre of every 8x8 flat colour block, on screen vs PIL's exif_transpose
      let worst = 0;
      for (let y = 4; y < H; y += 8) {
        for (let x = 4; x < W; x += 8) {
          const p = imageToPage(s, x, y);
          const got = shot.pixel(Math.round(p.x), Math.round(p.y));
          const i = (y * W + x) * 3;
          for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(got[c] - expected.data[i + c]));
        }
      }
      assert.ok(worst <= 24, `${entry.file}: on-screen colours differ from the upright picture by up to ${worst}`);
    }
    await page.close();
  } finally {
    await exifServer.close();
    fs.rmSync(exifDir, { recursive: true, force: true });
  }
});

test('latest request wins: a hover sweep faster than the decoder drops stale requests and shows the newest; clicks feed the mask back', async () => {
  // the tiny model's decoder (hundreds of ms here), so requests arrive faster than decodes
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json');
  await waitReady(page, browser.logs);
  let s = await waitState(page, (t) => t.image && t.image.index === 0 && t.image.loaded && t.decoder.status === 'ready' && t.restored,
    { what: 'ready' });
  const sent0 = s.requests.sent, decoded0 = s.decode_count;
  for (let i = 0; i <= 40; i++) {
    const p = imageToPage(s, 60 + i * 12, 60 + i * 8);
    await page.mouse.move(p.x, p.y);
    await page.waitForTimeout(5);
  }
  s = await waitState(page, (t) => !t.decoder.busy && t.requests.shown_id === t.requests.last_id && t.result_kind === 'hover',
    { what: 'sweep settled on the newest request' });
  const sent = s.requests.sent - sent0, decoded = s.decode_count - decoded0;
  assert.ok(sent >= 10, `only ${sent} hover requests for a 41-position sweep`);
  assert.ok(decoded < sent, `all ${sent} requests decoded: stale ones were not dropped`);

  // first click: no mask fed back; second click: the previous low-res mask goes in as mask_input
  const p1 = imageToPage(s, 200, 150), p2 = imageToPage(s, 230, 160);
  await page.mouse.click(p1.x, p1.y);
  s = await waitState(page, (t) => t.points.length === 1 && t.result_kind === 'prompt' && !t.decoder.busy, { what: 'first click' });
  assert.equal(s.requests.last_has_mask_input, false);
  await page.mouse.click(p2.x, p2.y);
  s = await waitState(page, (t) => t.points.length === 2 && t.result_kind === 'prompt', { what: 'second click' });
  assert.equal(s.requests.last_has_mask_input, true);
  await page.keyboard.press('Escape');
  await page.close();
});
