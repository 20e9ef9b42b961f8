// Browser tests of pre-annotation in the annotator (issue 8): segment-everything
// proposals made by the real `scripts/embed --everything` (tiny test model) shown
// for the current image, picked on the canvas (proposals tool) and in the list,
// accepted with Enter and "accept all with predicted IoU >= X" as one undo step;
// a broken proposals file named in Problems. Detector boxes (COCO JSON, YOLO txt +
// classes.txt) dropped on the page become machine-made annotations through the
// decoder worker, in batches of up to 16 boxes per decoder message, with progress and cancel; malformed
// lines are reported as file:line. Detector masks use the fake disc decoder
// (fixtures/disc_decoder.onnx: a disc around the first prompt point, here the box's
// top-left corner), so their geometry is known. Screenshots: $SAM_TEST_OUTPUT/pre-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStaticServer } from './static_server.mjs';
import { launchBrowser, waitReady, state, waitState, imageToPage } from './browser_harness.mjs';
import { decodeRle } from './coco_rle.mjs';
import { makeTestDataset } from './test_dataset.mjs';
import { set_slider as setSlider } from '../../scripts/benchmark/pre_annotation_run.mjs';

const SITE = path.resolve('build/wasm/site');
const TINY = path.resolve('tests/fixtures/tiny');
let dir, manifest, server, proposals, bareDir;

before(async () => {
  assert.ok(fs.existsSync(path.join(SITE, 'sam_annotator.wasm')), 'build/wasm/site missing: run scripts/build-wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-pre-test-'));
  manifest = makeTestDataset(dir);
  // The random-weight tiny model predicts IoUs near 0.1: loose thresholds keep some
  // masks, and no NMS keeps several (everything.test.mjs checks the filtering itself).
  execFileSync('scripts/embed', ['--everything', '--out', dir, '--decoder-batch', path.join(TINY, 'decoder_batch.onnx'),
    '--points-per-side', '4', '--pred-iou-thresh', '0.05', '--stability-score-thresh', '0', '--box-nms-thresh', '1.0',
    '--threads', '1'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stem = (e) => path.basename(e.embedding, '.npy');
  proposals = JSON.parse(fs.readFileSync(path.join(dir, 'proposals', `${stem(manifest.images[0])}.json`), 'utf8'));
  // the second image's file is broken on purpose: Problems must name it
  const second = path.join(dir, 'proposals', `${stem(manifest.images[1])}.json`);
  const broken = JSON.parse(fs.readFileSync(second, 'utf8'));
  broken.annotations[0].segmentation.counts = '!!';
  fs.writeFileSync(second, JSON.stringify(broken));
  fs.copyFileSync(path.resolve('tests/browser/fixtures/disc_decoder.onnx'), path.join(dir, 'disc_decoder.onnx'));
  // a dataset without proposals: the browser's own everything pass
  bareDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-pre-bare-'));
  makeTestDataset(bareDir, [[320, 240]]);
  server = await startStaticServer({ '/': SITE, '/data/': dir, '/bare/': bareDir });
});

after(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  if (bareDir) fs.rmSync(bareDir, { recursive: true, force: true });
});

// Clicks a named widget's centre, or `options.dx` pixels from its left edge (table rows
// span all columns; their left end is the row's own label).
async function clickUi(page, name, options = {}) {
  await waitState(page, (t) => t.ui && t.ui[name], { what: `widget ${name}` });
  await page.waitForTimeout(100);  // aim with a settled rectangle
  const r = (await waitState(page, (t) => t.ui && t.ui[name], { what: `widget ${name}` })).ui[name];
  const { dx, ...rest } = options;
  await page.mouse.click(dx === undefined ? r[0] + r[2] / 2 : r[0] + dx, r[1] + r[3] / 2, rest);
}

async function dropFiles(page, files) {
  await page.evaluate((list) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([f.text], f.name, { type: 'text/plain' }));
    window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);
}

function rleOf(coco, id) {
  const a = coco.annotations.find((b) => b.id === id);
  assert.ok(a, `annotation ${id} not exported`);
  return a.segmentation;
}

// Each test has its own browser (a fresh IndexedDB: no autosave of the other test restored).
async function withBrowser(fn) {
  const browser = await launchBrowser({ width: 1280, height: 800 });
  try {
    await fn(browser);
  } finally {
    await browser.close();
  }
}

test('proposals: outlines, pick on canvas and in the list, Enter, accept all above IoU, undo', () => withBrowser(async (browser) => {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json');
  await waitReady(page, browser.logs);
  let s = await waitState(page, (t) => t.image && t.image.loaded && t.decoder.status === 'ready' && t.restored &&
    t.proposals.status === 'loaded', { what: 'proposals loaded' });
  assert.deepEqual(s.errors, []);
  const W = s.image.width, H = s.image.height;
  const file = proposals.annotations;
  assert.ok(file.length >= 4, `only ${file.length} proposals made`);
  assert.equal(s.proposals.list.length, file.length);
  const masks = file.map((a) => decodeRle(a.segmentation.counts, H, W));
  s.proposals.list.forEach((p, i) => {
    assert.equal(p.area, masks[i].area, `proposal ${i}: area differs from its RLE`);
    assert.deepEqual(p.bbox, masks[i].bbox);
    assert.equal(p.predicted_iou, file[i].predicted_iou);
    assert.equal(p.taken, false);
  });
  await page.mouse.move(5, 795);
  await page.waitForTimeout(150);
  await browser.shot(page, 'pre-proposals');

  // E: proposals tool; a click selects the smallest proposal under the pixel
  await page.keyboard.press('KeyE');
  s = await waitState(page, (t) => t.tool === 'proposal', { what: 'proposals tool' });
  let px = -1, py = -1, want = -1;
  for (let y = 40; y < H - 40 && want < 0; y += 7) {
    for (let x = 40; x < W - 40; x += 7) {
      const under = masks.map((m, i) => (m.at(x, y) ? i : -1)).filter((i) => i >= 0);
      if (!under.length) continue;
      under.sort((a, b) => masks[a].area - masks[b].area);
      px = x; py = y; want = under[0];
      break;
    }
  }
  assert.ok(want >= 0, 'no pixel covered by a proposal');
  const decodes = s.decode_count;
  const at = imageToPage(s, px, py);
  await page.mouse.click(at.x, at.y);
  s = await waitState(page, (t) => t.proposals.selected === want, { what: `proposal ${want} selected by a click` });
  assert.equal(s.points.length, 0, 'the proposals tool adds no prompt point');
  await page.mouse.move(5, 795);
  await page.waitForTimeout(150);
  await browser.shot(page, 'pre-proposal-selected');

  await page.keyboard.press('Enter');
  s = await waitState(page, (t) => t.annotations.length === 1, { what: 'proposal accepted' });
  const a1 = s.annotations[0];
  assert.equal(a1.area, masks[want].area);
  assert.deepEqual(a1.bbox, masks[want].bbox);
  assert.equal(a1.source, 'machine');
  assert.equal(a1.category_id, s.current_category);
  assert.ok(Math.abs(a1.score - file[want].predicted_iou) < 1e-6);
  assert.equal(s.proposals.list[want].taken, true, 'an accepted proposal leaves the list');
  assert.equal(s.proposals.selected, -1);
  assert.equal(s.decode_count, decodes, 'accepting a proposal runs no decoder');
  let coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })));
  assert.equal(rleOf(coco, a1.id).counts, file[want].segmentation.counts, 'exported RLE = the proposal\'s RLE');

  // undo brings the proposal back, redo takes it again
  await page.keyboard.press('Control+KeyZ');
  s = await waitState(page, (t) => t.annotations.length === 0, { what: 'undo' });
  assert.equal(s.proposals.list[want].taken, false);
  await page.keyboard.press('Control+Shift+KeyZ');
  s = await waitState(page, (t) => t.annotations.length === 1 && t.proposals.list[want].taken, { what: 'redo' });

  // a row of the list selects, the button accepts
  const other = s.proposals.list.find((p) => !p.taken).index;
  await clickUi(page, `proposal_${other}`);
  s = await waitState(page, (t) => t.proposals.selected === other, { what: 'picked in the list' });
  await clickUi(page, 'accept_proposal');
  s = await waitState(page, (t) => t.annotations.length === 2, { what: 'second proposal accepted' });
  assert.equal(s.annotations[1].area, masks[other].area);
  assert.equal(s.proposals.list.filter((p) => !p.taken).length, file.length - 2);

  // accept all with predicted IoU >= X (typed into the slider): one undo step
  const left = s.proposals.list.filter((p) => !p.taken).map((p) => p.predicted_iou).sort((a, b) => b - a);
  const x = Math.floor(((left[0] + left[left.length - 1]) / 2) * 100) / 100;
  const expected = left.filter((v) => v >= x).length;
  assert.ok(expected >= 1 && expected < left.length, `threshold ${x} splits ${left}`);
  await setSlider(page, 'proposal_min_iou', x);
  s = await waitState(page, (t) => Math.abs(t.proposals.min_iou - x) < 1e-6, { what: 'threshold set' });
  const depth = s.undo_depth;
  await clickUi(page, 'accept_all_proposals');
  s = await waitState(page, (t) => t.annotations.length === 2 + expected, { what: 'accept all' });
  assert.equal(s.undo_depth, depth + 1, 'accept all is one undo step');
  for (const a of s.annotations.slice(2)) {
    assert.equal(a.source, 'machine');
    assert.ok(a.score >= x - 1e-9);
  }
  assert.equal(s.proposals.list.filter((p) => !p.taken).length, left.length - expected);
  coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })));
  for (const a of s.annotations) {
    const m = decodeRle(rleOf(coco, a.id).counts, H, W);
    assert.equal(m.area, a.area);
  }
  await page.mouse.move(5, 795);
  await page.waitForTimeout(150);
  await browser.shot(page, 'pre-accepted-all');
  await page.keyboard.press('Control+KeyZ');
  s = await waitState(page, (t) => t.annotations.length === 2, { what: 'accept all undone in one step' });
  assert.equal(s.proposals.list.filter((p) => !p.taken).length, left.length);

  // the next image's proposals file is broken: Problems names it
  await page.keyboard.press('ArrowRight');
  s = await waitState(page, (t) => t.image.index === 1 && t.proposals.status === 'error', { what: 'broken proposals' });
  const stem = path.basename(manifest.images[1].embedding, '.npy');
  assert.ok(s.errors.some((e) => e.startsWith(`proposals/${stem}.json: annotations[0].segmentation`)), JSON.stringify(s.errors));
  assert.equal(s.proposals.list.length, 0);
  await page.close();
}));

// A COCO file of detections, one annotation per line so problems have line numbers.
function detectionsJson(lines) {
  return '{"images": [{"id": 1, "file_name": "picture1.png", "width": 640, "height": 480}],\n' +
    ' "categories": [{"id": 1, "name": "disc"}, {"id": 2, "name": "rect"}],\n' +
    ' "annotations": [\n' + lines.map((l) => '  ' + JSON.stringify(l)).join(',\n') + '\n]}\n';
}

// The disc decoder's single-mask output for a box: a disc of radius 60 (1024 frame)
// around the box's top-left corner.
function checkDisc(a, coco, W, H, corner) {
  const m = decodeRle(rleOf(coco, a.id).counts, H, W);
  assert.equal(m.area, a.area);
  const r = 60 * Math.max(W, H) / 1024;
  assert.ok(Math.abs(a.area - Math.PI * r * r) < 0.06 * Math.PI * r * r, `area ${a.area} vs disc ${Math.PI * r * r}`);
  let sx = 0, sy = 0;
  for (let x = 0; x < W; x++) for (let y = 0; y < H; y++) if (m.at(x, y)) { sx += x; sy += y; }
  assert.ok(Math.abs(sx / m.area - corner[0]) < 2 && Math.abs(sy / m.area - corner[1]) < 2,
    `centre ${sx / m.area},${sy / m.area} vs ${corner}`);
}

test('detector boxes: COCO and YOLO files become machine-made masks; problems by file:line; cancel; undo', () => withBrowser(async (browser) => {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json&decoder=/data/disc_decoder.onnx');
  await waitReady(page, browser.logs);
  let s = await waitState(page, (t) => t.image && t.image.loaded && t.decoder.status === 'ready' && t.restored,
    { what: 'ready' });
  assert.equal(s.image.file, 'images/picture1.png');
  const W = s.image.width, H = s.image.height;
  const categories0 = s.categories.length;

  // two good boxes, one malformed (line 6 of the file), one for another image
  const text = detectionsJson([
    { id: 1, image_id: 1, category_id: 1, bbox: [150, 140, 130, 120], score: 0.9 },
    { id: 2, image_id: 1, category_id: 2, bbox: [400, 100, 150, 230], score: 0.75 },
    { id: 3, image_id: 1, category_id: 2, bbox: [1, 2] },
  ]);
  await dropFiles(page, [{ name: 'dets.json', text }]);
  s = await waitState(page, (t) => !t.detector.active && t.annotations.length === 2, { what: 'COCO boxes decoded' });
  assert.ok(s.errors.some((e) => /^dets\.json:6: annotations\[2\]: bbox/.test(e)), JSON.stringify(s.errors));
  const names = (t, a) => t.categories.find((c) => c.id === a.category_id).name;
  assert.deepEqual(s.annotations.map((a) => names(s, a)), ['disc', 'rect']);
  assert.deepEqual(s.annotations.map((a) => a.score), [0.9, 0.75]);
  assert.ok(s.annotations.every((a) => a.source === 'machine' && a.has_box));
  assert.equal(s.categories.length, categories0 + 2, 'the detector\'s categories were created');
  let coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })));
  checkDisc(s.annotations[0], coco, W, H, [150, 140]);
  checkDisc(s.annotations[1], coco, W, H, [400, 100]);
  assert.ok(s.notices.some((n) => /dets\.json: 2 masks from 2 boxes/.test(n)), JSON.stringify(s.notices));
  assert.equal(s.detector.batches_sent, 1, 'two boxes, one batch message');
  await clickUi(page, 'dismiss_errors');

  // one undo step takes the masks and the new categories away
  await page.keyboard.press('Control+KeyZ');
  s = await waitState(page, (t) => t.annotations.length === 0, { what: 'import undone' });
  assert.equal(s.categories.length, categories0);
  await page.keyboard.press('Control+Shift+KeyZ');
  s = await waitState(page, (t) => t.annotations.length === 2, { what: 'import redone' });

  // confirming a machine-made annotation makes it the person's
  await clickUi(page, `annotation_${s.annotations[0].id}`, { dx: 10 });
  s = await waitState(page, (t) => t.selected_annotation === t.annotations[0].id && t.ui.confirm_annotation, { what: 'selected' });
  await clickUi(page, 'confirm_annotation');
  s = await waitState(page, (t) => t.annotations[0].source === 'human', { what: 'confirmed' });
  assert.equal(s.annotations[1].source, 'machine');

  // YOLO: the class list, then labels with a bad line (line 2)
  await dropFiles(page, [{ name: 'classes.txt', text: 'cat\ndog\n' }]);
  await waitState(page, (t) => t.detector.classes_file === 'classes.txt', { what: 'classes' });
  const yolo = `1 ${(100 + 50) / W} ${(60 + 40) / H} ${100 / W} ${80 / H} 0.6\n0 0.5 0.5\n`;
  await dropFiles(page, [{ name: 'picture1.txt', text: yolo }]);
  s = await waitState(page, (t) => !t.detector.active && t.annotations.length === 3, { what: 'YOLO box decoded' });
  assert.ok(s.errors.some((e) => /^picture1\.txt:2: /.test(e)), JSON.stringify(s.errors));
  const dog = s.annotations[2];
  assert.equal(names(s, dog), 'dog');
  assert.equal(dog.score, 0.6);
  coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })));
  checkDisc(dog, coco, W, H, [100, 60]);
  await clickUi(page, 'dismiss_errors');

  // many boxes: progress is shown, frames keep coming, Cancel keeps what was made
  const many = [];
  for (let k = 0; k < 400; k++) many.push({ id: 10 + k, image_id: 1, category_id: 1, bbox: [20 + (k % 20) * 28, 20 + Math.floor(k / 20) * 20, 40, 30], score: 0.5 });
  const before = s.annotations.length;
  await dropFiles(page, [{ name: 'many.json', text: detectionsJson(many) }]);
  s = await waitState(page, (t) => t.detector.active && t.detector.done >= 3 && t.ui.detector_cancel, { what: 'import running' });
  const frames = s.frames_drawn;
  await page.mouse.move(5, 795);
  await browser.shot(page, 'pre-detector-progress');
  await clickUi(page, 'detector_cancel');
  s = await waitState(page, (t) => !t.detector.active, { what: 'cancelled' });
  const made = s.annotations.length - before;
  assert.ok(made >= 3 && made < 400, `${made} masks kept`);
  assert.ok(s.frames_drawn > frames, 'frames were drawn during the import');
  assert.ok(s.notices.some((n) => /many\.json: \d+ masks from 400 boxes \(cancelled\)/.test(n)), JSON.stringify(s.notices));
  await page.keyboard.press('Control+KeyZ');
  s = await waitState(page, (t) => t.annotations.length === before, { what: 'cancelled import undone in one step' });
  await page.close();
}));

test('segment everything in the browser when the dataset has none: same proposals as scripts/embed --everything; cancel', () => withBrowser(async (browser) => {
  const page = await browser.open(server.url + 'index.html?manifest=/bare/manifest.json');
  await waitReady(page, browser.logs);
  let s = await waitState(page, (t) => t.image && t.image.loaded && t.decoder.status === 'ready' && t.restored &&
    t.proposals.status === 'missing', { what: 'no proposals on the server' });
  assert.deepEqual(s.errors, []);
  const W = s.image.width, H = s.image.height;

  // a start and a cancel: nothing is generated, interactive decoding works again
  await setSlider(page, 'everything_points_per_side', 12);
  await clickUi(page, 'everything_start');
  s = await waitState(page, (t) => t.everything.active && t.ui.everything_cancel, { what: 'pass running' });
  assert.equal(s.everything.total, 144);
  await clickUi(page, 'everything_cancel');
  s = await waitState(page, (t) => !t.everything.active && t.proposals.status === 'missing', { what: 'pass cancelled' });
  assert.ok(s.everything.sent < 144, `${s.everything.sent} points sent before the cancel`);

  // the tiny model's IoUs are near 0.1: loose thresholds, as the server run below
  await setSlider(page, 'everything_points_per_side', 4);
  await setSlider(page, 'everything_pred_iou_thresh', 0.05);
  await setSlider(page, 'everything_stability_thresh', 0);
  s = await state(page);
  assert.equal(s.everything.points_per_side, 4);
  const decodes = s.requests.sent;
  await clickUi(page, 'everything_start');
  s = await waitState(page, (t) => t.proposals.status === 'generated', { what: 'pass done', timeout: 120000 });
  assert.equal(s.everything.done, 16, 'every grid point decoded');
  assert.equal(s.everything.batches_sent, 1, '16 grid points go to the decoder as one batch message');
  assert.equal(s.requests.sent, decodes, 'no interactive request for the grid');
  assert.ok(s.notices.some((n) => /Segment everything: \d+ masks from 16 points/.test(n)), JSON.stringify(s.notices));
  await page.mouse.move(5, 795);
  await page.waitForTimeout(150);
  await browser.shot(page, 'pre-everything');

  execFileSync('scripts/embed', ['--everything', '--out', bareDir, '--decoder-batch', path.join(TINY, 'decoder_batch.onnx'),
    '--points-per-side', '4', '--pred-iou-thresh', '0.05', '--stability-score-thresh', '0', '--threads', '1'],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  const server_p = JSON.parse(fs.readFileSync(path.join(bareDir, 'proposals', 'picture1.json'), 'utf8')).annotations;
  const mine = s.proposals.list;
  assert.equal(mine.length, server_p.length, 'as many masks as the server pass');
  mine.forEach((p, i) => {
    const q = server_p[i];
    assert.ok(Math.abs(p.predicted_iou - q.predicted_iou) < 1e-3, `proposal ${i}: IoU ${p.predicted_iou} vs ${q.predicted_iou}`);
    assert.ok(Math.abs(p.area - q.area) <= 0.01 * q.area, `proposal ${i}: area ${p.area} vs ${q.area}`);
  });

  // generated proposals accept like the server's
  await page.keyboard.press('KeyE');
  await clickUi(page, 'proposal_0');
  s = await waitState(page, (t) => t.proposals.selected === 0, { what: 'selected' });
  await page.keyboard.press('Enter');
  s = await waitState(page, (t) => t.annotations.length === 1, { what: 'accepted' });
  assert.equal(s.annotations[0].area, mine[0].area);
  assert.equal(s.annotations[0].source, 'machine');
  const coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })));
  assert.equal(decodeRle(rleOf(coco, s.annotations[0].id).counts, H, W).area, mine[0].area);
  await page.close();
}));
