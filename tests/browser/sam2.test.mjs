// Browser tests of a SAM 2.1 dataset (issue 17): a version 2 manifest made by the real
// scripts/embed with the tiny SAM 2.1-shaped test model (three float16 feature files per
// image), decoded through the decoder seam by the C++ decoder's worker (the embedder
// copies the decoder.samw that scripts/model/export wrote beside decoder.onnx, so the
// manifest names decoder_weights; core/sam2_decoder.h in WebAssembly).
// Every decode the app asks for is checked against an independent run: the prompt the
// worker receives (recorded in the page) must be SAM 2's (x * 1024 / W, y * 1024 / H,
// box corners first, no padding point), and its outputs must equal onnxruntime-node's run
// of the same decoder.onnx on the dataset's features with the prompt computed here from
// the clicked pixels (within 1e-4). Accepted masks must equal the C++ core's
// sam2::postprocess_to_mask of the chosen logits (build/native/sam2_masks), the chosen
// candidate SAM 2's single-mask choice; then COCO export. Pre-annotation (detector boxes,
// segment everything) runs the same way, and so does an image dropped on scripts/serve
// --encoder (the SAM 2.1 encoder) and embedded there. The frame on screen: with a fake
// SAM 2.1 decoder drawing a disc around the first point in the 1024 frame
// (fixtures/disc_decoder_sam2.onnx), the candidate overlay and the accepted mask are the
// ellipse that disc is in the stretched image. Screenshots: $SAM_TEST_OUTPUT/sam2-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { startStaticServer } from './static_server.mjs';
import { launchBrowser, waitReady, state, waitState, imageToPage } from './browser_harness.mjs';
import { decodeRle } from './coco_rle.mjs';
import { decodePng, encodePng } from './png.mjs';
import { makeTestDataset } from './test_dataset.mjs';
import { spawn_server } from '../node/server_harness.mjs';
import { npy_bytes, npy_to_f32, read_npy } from '../../scripts/embedder/npy_file.mjs';
import { find_native_tool } from '../../scripts/lib/native_tool.mjs';
import { set_slider as setSlider } from '../../scripts/benchmark/pre_annotation_run.mjs';

const SITE = path.resolve('build/wasm/site');
const TOL = 1e-4;
let dir, manifest, server, session, sam2Masks, tmp;

before(async () => {
  assert.ok(fs.existsSync(path.join(SITE, 'sam_annotator.wasm')), 'build/wasm/site missing: run scripts/build-wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam2-browser-'));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam2-masks-'));
  manifest = makeTestDataset(dir, [[640, 480], [300, 500]], { model: 'sam2.1' });
  assert.equal(manifest.version, 2);
  session = await ort.InferenceSession.create(path.join(dir, manifest.model.decoder));
  sam2Masks = find_native_tool('sam2_masks', 'SAM2_MASKS');
  for (const f of ['disc_decoder_sam2.onnx', 'disc_decoder.onnx']) fs.copyFileSync(path.resolve('tests/browser/fixtures', f), path.join(dir, f));
  server = await startStaticServer({ '/': SITE, '/data/': dir });
});

after(async () => {
  await server?.close();
  for (const d of [dir, tmp]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

// Records, in the page, what the app sends to the decoder worker and what comes back.
function recordDecoderMessages() {
  const Base = window.Worker;
  window.samDecoderLog = { sent: [], results: [] };
  window.Worker = class extends Base {
    constructor(url, options) {
      super(url, options);
      if (!String(url).includes('decoder_worker')) return;
      const post = this.postMessage.bind(this);
      const list = (a) => (a ? Array.from(a) : null);
      this.postMessage = (m, transfer) => {
        const c = { type: m.type, id: m.id };
        if (m.type === 'decode') Object.assign(c, { pointCoords: list(m.pointCoords), pointLabels: list(m.pointLabels), maskInput: list(m.maskInput) });
        if (m.type === 'batch') Object.assign(c, { multimask: m.multimask, prompts: m.prompts.map((p) => ({ pointCoords: list(p.pointCoords), pointLabels: list(p.pointLabels) })) });
        if (m.type === 'embedding') Object.assign(c, { url: m.url, urls: m.urls, shapes: m.shapes, dtype: m.dtype });
        window.samDecoderLog.sent.push(c);
        post(m, transfer);
      };
      this.addEventListener('message', (ev) => {
        if (ev.data && (ev.data.type === 'result' || ev.data.type === 'batch_result')) window.samDecoderLog.results.push(ev.data);
      });
    }
  };
}

async function sentMessage(page, id) {
  return page.evaluate((i) => window.samDecoderLog.sent.find((m) => m.id === i), id);
}

// The worker's answers for request `id` (a batch's parts concatenated), floats through base64.
async function receivedResult(page, id) {
  const r = await page.evaluate((i) => {
    const parts = window.samDecoderLog.results.filter((m) => m.id === i);
    if (!parts.length) return null;
    const b64 = (a) => {
      const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      let s = '';
      for (let k = 0; k < u8.length; k += 8192) s += String.fromCharCode(...u8.subarray(k, k + 8192));
      return btoa(s);
    };
    return { k: parts[0].k || parts[0].iou.length, iou: parts.map((p) => b64(p.iou)), lowRes: parts.map((p) => b64(p.lowRes)), error: parts[0].error };
  }, id);
  assert.ok(r, `no result for request ${id}`);
  assert.equal(r.error, undefined);
  const floats = (list) => new Float32Array(Uint8Array.from(Buffer.concat(list.map((s) => Buffer.from(s, 'base64')))).buffer);
  return { k: r.k, iou: floats(r.iou), lowRes: floats(r.lowRes) };
}

// The dataset's features of image `entry`, as the worker must feed them.
function featuresOf(entry) {
  const feeds = {};
  for (const f of manifest.model.spec.features) {
    const npy = read_npy(fs.readFileSync(path.join(dir, entry.features[f.name])));
    assert.deepEqual(npy.shape, f.shape);
    feeds[f.name] = new ort.Tensor('float32', npy_to_f32(npy), f.shape);
  }
  return feeds;
}

// SAM2Transforms.transform_coords in float32: x / W * 1024, y / H * 1024.
const f32 = Math.fround;
const toFrame = (x, y, W, H) => [f32(f32(x / W) * 1024), f32(f32(y / H) * 1024)];

// onnxruntime-node's run of the dataset's decoder.onnx: {iou, lowRes}.
async function expected(features, coords, labels, maskInput = null) {
  const n = labels.length;
  const out = await session.run({
    ...features,
    point_coords: new ort.Tensor('float32', Float32Array.from(coords), [1, n, 2]),
    point_labels: new ort.Tensor('float32', Float32Array.from(labels), [1, n]),
    mask_input: new ort.Tensor('float32', maskInput ? Float32Array.from(maskInput) : new Float32Array(65536), [1, 1, 256, 256]),
    has_mask_input: new ort.Tensor('float32', Float32Array.from([maskInput ? 1 : 0]), [1]),
  });
  return { iou: out.iou_predictions.data, lowRes: out.low_res_masks.data };
}

function maxDiff(a, b) {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// The core's SAM 2 postprocessing and single-mask choice of one result (K outputs):
// {single, masks: K Uint8Array(H*W)}.
function coreMasks(iou, lowRes, H, W) {
  const K = iou.length, tag = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const l = path.join(tmp, `low-${tag}.npy`), i = path.join(tmp, `iou-${tag}.npy`), m = path.join(tmp, `mask-${tag}.npy`);
  fs.writeFileSync(l, npy_bytes(lowRes, [1, K, 256, 256]));
  fs.writeFileSync(i, npy_bytes(iou, [1, K]));
  const out = JSON.parse(execFileSync(sam2Masks, ['--low-res', l, '--iou', i, '--size', String(H), String(W), '--mask', m], { encoding: 'utf8' }));
  const data = read_npy(fs.readFileSync(m)).data;
  const masks = [];
  for (let k = 0; k < K; k++) masks.push(Uint8Array.from(data.subarray(k * H * W, (k + 1) * H * W)));
  return { single: out.single_mask, masks };
}

// The annotation's exported RLE, pixel by pixel, equals `mask` (row-major H x W).
function assertMaskEquals(coco, id, mask, H, W, what) {
  const a = coco.annotations.find((b) => b.id === id);
  assert.ok(a, `annotation ${id} not exported`);
  const m = decodeRle(a.segmentation.counts, H, W);
  let area = 0, differ = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      area += mask[y * W + x];
      if (m.at(x, y) !== mask[y * W + x]) differ++;
    }
  }
  assert.equal(differ, 0, `${what}: ${differ} pixels differ from sam2::postprocess_to_mask`);
  assert.equal(a.area, area);
  assert.ok(area > 0, `${what}: empty mask`);
}

// A decode the app made (request `id`) against onnxruntime-node's run of `coords, labels`.
async function checkDecode(page, s, id, features, coords, labels, what) {
  const sent = await sentMessage(page, id);
  assert.ok(sent && sent.type === 'decode', `${what}: request ${id} not sent as a decode`);
  assert.deepEqual(sent.pointCoords, coords.map(f32), `${what}: point_coords are not SAM 2's frame`);
  assert.deepEqual(sent.pointLabels, labels, `${what}: point_labels`);
  const got = await receivedResult(page, id);
  const want = await expected(features, coords, labels, sent.maskInput);
  const dLow = maxDiff(got.lowRes, want.lowRes), dIou = maxDiff(got.iou, want.iou);
  assert.ok(dLow <= TOL && dIou <= TOL, `${what}: browser vs onnxruntime-node: low-res ${dLow}, IoU ${dIou}`);
  // the app's candidates are those values
  assert.equal(s.candidates.length, 3);
  s.candidates.forEach((c) => assert.ok(Math.abs(c.iou - want.iou[c.output]) <= TOL, `${what}: candidate ${c.number}`));
  return { sent, got, want };
}

// SAM's ONNX select_masks for an ambiguous prompt: the multimask output (1..3) with the best IoU.
function bestMultimask(iou) {
  let best = 1;
  for (let k = 2; k < 4; k++) if (iou[k] > iou[best]) best = k;
  return best;
}

// An integer page position inside image pixel (x, y) and the pixel the app takes it for
// (image_pixel_at: floor of the view transform's inverse), so the test knows the prompt.
function aim(s, x, y) {
  const c = imageToPage(s, x, y);
  const p = { x: Math.round(c.x), y: Math.round(c.y) };
  return { ...p, px: Math.floor((p.x - s.view.offset_x) / s.view.scale), py: Math.floor((p.y - s.view.offset_y) / s.view.scale) };
}

// The dataset's first image, its features with the decoder, the decoder worker's messages recorded.
async function openDataset(browser) {
  const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json', { init: recordDecoderMessages });
  await waitReady(page, browser.logs);
  await waitState(page, (t) => t.image && t.image.loaded && t.image.embedding_loaded && t.decoder.status === 'ready' && t.restored,
    { what: 'ready' });
  return page;
}

const settled = (t) => !t.decoder.busy && t.requests.shown_id === t.requests.last_id && t.result_kind !== 'none';

test('SAM 2.1 dataset: hover, clicks with refinement, box, accept and COCO export equal onnxruntime-node and the core', async () => {
  const browser = await launchBrowser({ width: 1280, height: 800 });
  try {
    const page = await openDataset(browser);
    let s = await state(page);
    assert.deepEqual(s.errors, []);
    assert.equal(manifest.model.decoder_weights, 'decoder.samw');
    assert.equal(s.decoder.worker, 'sam_decoder_worker.js');
    assert.match(s.decoder.description, /^C\+\+ wasm SIMD, \d threads?/);
    const W = s.image.width, H = s.image.height;
    const entry = manifest.images[0];
    const features = featuresOf(entry);
    // the worker was sent the three feature files with the spec's shapes
    const emb = (await page.evaluate(() => window.samDecoderLog.sent.filter((m) => m.type === 'embedding'))).at(-1);
    assert.deepEqual(Object.keys(emb.urls).sort(), ['high_res_feats_0', 'high_res_feats_1', 'image_embed']);
    for (const f of manifest.model.spec.features) {
      assert.ok(emb.urls[f.name].endsWith(`/data/${entry.features[f.name]}`), emb.urls[f.name]);
      assert.deepEqual(emb.shapes[f.name], f.shape);
    }

    // hover: one point, no padding point
    const hp = aim(s, Math.round(W * 0.7), Math.round(H * 0.4));
    await page.mouse.move(hp.x, hp.y);
    s = await waitState(page, (t) => t.result_kind === 'hover' && settled(t), { what: 'hover decode' });
    await checkDecode(page, s, s.requests.shown_id, features, toFrame(hp.px, hp.py, W, H), [1], 'hover');

    // a click, then a negative click refining it (its chosen low-res logits fed back)
    const p1 = aim(s, Math.round(W * 0.35), Math.round(H * 0.45)), p2 = aim(s, Math.round(W * 0.5), Math.round(H * 0.2));
    const [x1, y1, x2, y2] = [p1.px, p1.py, p2.px, p2.py];
    await page.mouse.click(p1.x, p1.y);
    s = await waitState(page, (t) => t.points.length === 1 && t.result_kind === 'prompt' && settled(t), { what: 'first click' });
    assert.deepEqual(s.points, [{ x: x1, y: y1, label: 1 }]);
    const first = await checkDecode(page, s, s.requests.shown_id, features, toFrame(x1, y1, W, H), [1], 'click');
    assert.equal(first.sent.maskInput, null);
    assert.equal(s.selected_output, bestMultimask(first.want.iou), 'one point: the best multimask output');
    const chosen1 = first.got.lowRes.subarray(s.selected_output * 65536, (s.selected_output + 1) * 65536);
    await page.mouse.click(p2.x, p2.y, { button: 'right' });
    s = await waitState(page, (t) => t.points.length === 2 && t.result_kind === 'prompt' && settled(t), { what: 'second click' });
    assert.equal(s.requests.last_has_mask_input, true);
    const second = await checkDecode(page, s, s.requests.shown_id, features, [...toFrame(x1, y1, W, H), ...toFrame(x2, y2, W, H)], [1, 0], 'refinement');
    assert.ok(maxDiff(second.sent.maskInput, chosen1) === 0, 'mask_input is the shown candidate\'s low-res logits');
    // two points: SAM 2's single-mask choice, as the core makes it
    const core2 = coreMasks(second.got.iou, second.got.lowRes, H, W);
    assert.equal(s.selected_output, core2.single);

    // accept: the annotation is sam2::postprocess_to_mask of the chosen logits
    await page.keyboard.press('Enter');
    s = await waitState(page, (t) => t.annotations.length === 1, { what: 'accepted' });
    let coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })));
    assertMaskEquals(coco, s.annotations[0].id, core2.masks[core2.single], H, W, 'clicks');
    await page.mouse.move(5, 795);
    await page.waitForTimeout(150);
    await browser.shot(page, 'sam2-clicks-accepted');

    // a box: its corners first, labels 2 and 3, and nothing else
    const b0 = aim(s, Math.round(W * 0.58), Math.round(H * 0.18)), b1 = aim(s, Math.round(W * 0.87), Math.round(H * 0.72));
    const [bx0, by0, bx1, by1] = [b0.px, b0.py, b1.px, b1.py];
    await page.mouse.move(b0.x, b0.y);
    await page.mouse.down();
    await page.mouse.move(b1.x, b1.y, { steps: 6 });
    await page.mouse.up();
    s = await waitState(page, (t) => t.box && t.result_kind === 'prompt' && settled(t), { what: 'box decode' });
    const box = await checkDecode(page, s, s.requests.shown_id, features, [...toFrame(s.box[0], s.box[1], W, H), ...toFrame(s.box[2], s.box[3], W, H)],
      [2, 3], 'box');
    assert.deepEqual(s.box, [bx0, by0, bx1, by1]);
    const coreBox = coreMasks(box.got.iou, box.got.lowRes, H, W);
    const boxSelected = s.selected_output;
    assert.equal(boxSelected, bestMultimask(box.want.iou), 'a box alone: the best multimask output');
    await page.keyboard.press('Enter');
    s = await waitState(page, (t) => t.annotations.length === 2, { what: 'box accepted' });
    assert.equal(s.annotations[1].has_box, true);
    coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })));
    assertMaskEquals(coco, s.annotations[1].id, coreBox.masks[boxSelected], H, W, 'box');

    // COCO export (polygons): both annotations, areas and boxes as the app reports them
    coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco()));
    assert.equal(coco.images.length, manifest.images.length);
    assert.deepEqual(coco.annotations.map((a) => [a.id, a.area, a.bbox]), s.annotations.map((a) => [a.id, a.area, a.bbox]));
    // polygons, or RLE where a mask has no faithful polygon (coco_json.h)
    assert.ok(coco.annotations.every((a) => (Array.isArray(a.segmentation) && a.segmentation.length > 0) ||
      typeof a.segmentation.counts === 'string'));
    await page.mouse.move(5, 795);
    await page.waitForTimeout(150);
    await browser.shot(page, 'sam2-box-accepted');
    assert.deepEqual((await state(page)).errors, []);
    await page.close();
  } finally {
    await browser.close();
  }
});

async function clickUi(page, name) {
  await waitState(page, (t) => t.ui && t.ui[name], { what: `widget ${name}` });
  await page.waitForTimeout(100);  // aim with a settled rectangle
  const r = (await waitState(page, (t) => t.ui && t.ui[name], { what: `widget ${name}` })).ui[name];
  await page.mouse.click(r[0] + r[2] / 2, r[1] + r[3] / 2);
}

test('SAM 2.1 dataset: detector boxes and segment everything go as SAM 2 prompts; masks are the core\'s', async () => {
  const browser = await launchBrowser({ width: 1280, height: 800 });
  try {
    const page = await openDataset(browser);
    let s = await state(page);
    const W = s.image.width, H = s.image.height;
    const features = featuresOf(manifest.images[0]);

    // detector boxes (COCO results): one batch, all four outputs back for SAM 2's choice
    const boxes = [[150, 140, 130, 120], [400, 100, 150, 230]];
    const text = JSON.stringify(boxes.map((bbox, i) => ({ image_id: manifest.images[0].id, category_id: i + 1, bbox, score: 0.9 - 0.1 * i })));
    await page.evaluate((t) => {
      const dt = new DataTransfer();
      dt.items.add(new File([t], 'dets.json', { type: 'application/json' }));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, text);
    s = await waitState(page, (t) => !t.detector.active && t.detector.file === '' && t.notices.some((n) => /dets\.json: \d+ masks from 2 boxes/.test(n)),
      { what: 'detector boxes decoded', timeout: 60000 });
    const batches = await page.evaluate(() => window.samDecoderLog.sent.filter((m) => m.type === 'batch'));
    assert.equal(batches.length, 1);
    assert.equal(batches[0].multimask, true);
    const got = await receivedResult(page, batches[0].id);
    assert.equal(got.k, 4);
    let coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })));
    for (let i = 0; i < boxes.length; i++) {
      const [x, y, w, h] = boxes[i];
      const coords = [...toFrame(x, y, W, H), ...toFrame(x + w, y + h, W, H)];
      assert.deepEqual(batches[0].prompts[i].pointCoords, coords, `box ${i}: SAM 2's frame`);
      assert.deepEqual(batches[0].prompts[i].pointLabels, [2, 3], `box ${i}: corners only`);
      const iou = got.iou.subarray(4 * i, 4 * i + 4), low = got.lowRes.subarray(4 * i * 65536, 4 * (i + 1) * 65536);
      const want = await expected(features, coords, [2, 3]);
      assert.ok(maxDiff(low, want.lowRes) <= TOL && maxDiff(iou, want.iou) <= TOL, `box ${i}: browser vs onnxruntime-node`);
      const core = coreMasks(iou, low, H, W);
      const a = s.annotations.find((b) => b.score === 0.9 - 0.1 * i);
      if (!core.masks[core.single].some((v) => v)) {
        assert.equal(a, undefined, `box ${i}: an empty mask makes no annotation`);
        continue;
      }
      assert.ok(a, `box ${i}: no annotation`);
      assertMaskEquals(coco, a.id, core.masks[core.single], H, W, `box ${i}`);
    }
    assert.ok(s.annotations.length >= 1, 'no detector box gave a mask');

    // segment everything: 16 single positive points in SAM 2's frame, one batch message
    await setSlider(page, 'everything_points_per_side', 4);
    await setSlider(page, 'everything_pred_iou_thresh', 0);
    await setSlider(page, 'everything_stability_thresh', 0);
    await clickUi(page, 'everything_start');
    s = await waitState(page, (t) => t.proposals.status === 'generated', { what: 'everything done', timeout: 120000 });
    assert.equal(s.everything.done, 16);
    const pass = (await page.evaluate(() => window.samDecoderLog.sent.filter((m) => m.type === 'batch'))).at(-1);
    assert.equal(pass.prompts.length, 16);
    const res = await receivedResult(page, pass.id);
    const candidates = [];
    for (let i = 0; i < 16; i++) {
      const gx = ((i % 4) + 0.5) / 4 * W, gy = (Math.floor(i / 4) + 0.5) / 4 * H;  // build_point_grid, row-major
      assert.deepEqual(pass.prompts[i].pointCoords, toFrame(gx, gy, W, H), `grid point ${i}`);
      assert.deepEqual(pass.prompts[i].pointLabels, [1], `grid point ${i}: no padding point`);
      const iou = res.iou.subarray(4 * i, 4 * i + 4), core = coreMasks(iou, res.lowRes.subarray(4 * i * 65536, 4 * (i + 1) * 65536), H, W);
      for (let c = 1; c < 4; c++) candidates.push({ iou: iou[c], area: core.masks[c].reduce((n, v) => n + v, 0) });
    }
    // every proposal is one of the multimask outputs, upsampled by the core's SAM 2 path
    assert.ok(s.proposals.list.length > 0, 'no proposal kept');
    for (const q of s.proposals.list) {
      assert.ok(candidates.some((c) => Math.abs(c.iou - q.predicted_iou) < 1e-6 && c.area === q.area),
        `proposal with IoU ${q.predicted_iou}, area ${q.area} is none of the decoded masks`);
    }
    await page.mouse.move(5, 795);
    await page.waitForTimeout(150);
    await browser.shot(page, 'sam2-everything');
    coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })));
    assert.equal(coco.annotations.length, s.annotations.length);
    await page.close();
  } finally {
    await browser.close();
  }
});

// scripts/serve --encoder with the SAM 2.1 encoder: a dropped image is embedded by the
// server (three feature files) and decodes in the browser like the others.
test('SAM 2.1 dataset on scripts/serve: a dropped image is embedded by the server and decodes', async () => {
  const served = fs.mkdtempSync(path.join(os.tmpdir(), 'sam2-served-'));
  fs.cpSync(dir, served, { recursive: true });
  const serve = await spawn_server(['--app', SITE, '--encoder', 'tests/fixtures/tiny_sam2/encoder.onnx', served]);
  const browser = await launchBrowser({ width: 1280, height: 800 });
  const fresh = path.join(tmp, 'dropped.png');
  try {
    const base = serve.url;
    const page = await browser.open(`${base}index.html`, { init: recordDecoderMessages });
    await waitReady(page, browser.logs);
    let s = await waitState(page, (t) => t.restored && t.image && t.image.embedding_loaded && t.decoder.status === 'ready', { what: 'ready' });
    assert.equal(s.server.dataset, path.basename(served));
    fs.writeFileSync(fresh, encodePng(200, 120, new Uint8Array(200 * 120 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) % 251))));
    await page.setInputFiles('#sam-file-input', fresh);
    s = await waitState(page, (t) => t.image_count === 3 && t.image && t.image.width === 200 && t.image.loaded && t.image.embedding_loaded,
      { what: 'dropped image embedded and opened', timeout: 60000 });
    assert.deepEqual(s.errors, []);
    const entry = JSON.parse(fs.readFileSync(path.join(served, 'manifest.json'), 'utf8')).images.find((e) => e.id === s.image.id);
    assert.ok(entry.features, 'the server wrote three feature files');
    const emb = (await page.evaluate(() => window.samDecoderLog.sent.filter((m) => m.type === 'embedding'))).at(-1);
    for (const f of manifest.model.spec.features) assert.ok(emb.urls[f.name].endsWith(entry.features[f.name]), emb.urls[f.name]);
    const feeds = {};
    for (const f of manifest.model.spec.features) {
      feeds[f.name] = new ort.Tensor('float32', npy_to_f32(read_npy(fs.readFileSync(path.join(served, entry.features[f.name])))), f.shape);
    }
    const r = await page.evaluate(() => window.samAnnotator.prompt({ points: [[50, 40, 1]] }));
    assert.equal(r.candidates.length, 3);
    s = await state(page);
    await checkDecode(page, s, s.requests.shown_id, feeds, toFrame(50, 40, 200, 120), [1], 'dropped image');
    await page.close();
  } finally {
    await browser.close();
    await serve.stop();
    fs.rmSync(served, { recursive: true, force: true });
  }
});

test('SAM 2.1 frame on screen: a disc in the 1024 frame is an ellipse around the click, in the overlay and the mask', async () => {
  const browser = await launchBrowser({ width: 1280, height: 800 });
  const tinted = (a, b, p) => {
    const i = (Math.round(p.y) * a.width + Math.round(p.x)) * 4;
    return Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]);
  };
  try {
    const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json&decoder=/data/disc_decoder_sam2.onnx');
    await waitReady(page, browser.logs);
    let s = await waitState(page, (t) => t.image && t.image.embedding_loaded && t.decoder.status === 'ready' && t.restored, { what: 'ready' });
    assert.deepEqual(s.errors, []);
    const W = s.image.width, H = s.image.height;
    assert.notEqual(W, H);
    await page.mouse.move(5, 795);
    await page.waitForTimeout(200);
    const plain = decodePng(await browser.shot(page, 'sam2-disc-plain'));
    const at = aim(s, 200, 150);
    await page.mouse.click(at.x, at.y);
    s = await waitState(page, (t) => t.result_kind === 'prompt' && t.points.length === 1 && settled(t), { what: 'click decode' });
    assert.equal(s.selected_output, 2, 'best IoU (0.95): the disc of radius 120');
    const hit = s.points[0];
    const rx = 120 * W / 1024, ry = 120 * H / 1024;  // SAM 1's frame would make a circle of radius 120 * W / 1024
    await page.mouse.move(5, 795);
    await page.waitForTimeout(200);
    const shown = decodePng(await browser.shot(page, 'sam2-disc-prompt'));
    for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1], [0.7, 0.7], [-0.7, -0.7]]) {
      const inside = imageToPage(s, hit.x + dx * 0.85 * rx, hit.y + dy * 0.85 * ry);
      const outside = imageToPage(s, hit.x + dx * 1.15 * rx, hit.y + dy * 1.15 * ry);
      assert.ok(tinted(plain, shown, inside) > 30, `no overlay at 0.85 of the ellipse towards ${dx},${dy}`);
      assert.ok(tinted(plain, shown, outside) < 10, `overlay at 1.15 of the ellipse towards ${dx},${dy}`);
    }
    await page.keyboard.press('Enter');
    s = await waitState(page, (t) => t.annotations.length === 1, { what: 'accepted' });
    const coco = JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })));
    const m = decodeRle(coco.annotations[0].segmentation.counts, H, W);
    let sx = 0, sy = 0;
    for (let x = 0; x < W; x++) for (let y = 0; y < H; y++) if (m.at(x, y)) { sx += x; sy += y; }
    // centred on the corner between pixels hit - 1 and hit (the point's continuous position)
    assert.ok(Math.abs(sx / m.area - (hit.x - 0.5)) < 0.3 && Math.abs(sy / m.area - (hit.y - 0.5)) < 0.3, `centroid ${sx / m.area}, ${sy / m.area}`);
    assert.ok(Math.abs(m.area - Math.PI * rx * ry) / (Math.PI * rx * ry) < 0.03, `area ${m.area} vs ${Math.PI * rx * ry}`);
    assert.ok(Math.abs(m.bbox[3] - 2 * ry) <= 2 && Math.abs(m.bbox[2] - 2 * rx) <= 2, `bbox ${m.bbox} vs ${2 * rx} x ${2 * ry}`);
    await page.close();

    // a SAM 1 decoder forced on the SAM 2.1 dataset: the features are refused, both named
    const wrong = await browser.open(server.url + 'index.html?manifest=/data/manifest.json&decoder=/data/disc_decoder.onnx');
    await waitReady(wrong, browser.logs);
    s = await waitState(wrong, (t) => t.errors.length > 0, { what: 'family mismatch reported' });
    assert.match(s.errors[0], /^embeddings\/image_embed\/picture1\.npy: the image's features are high_res_feats_0, high_res_feats_1, image_embed, but the decoder takes image_embeddings/);
    assert.equal(s.image.embedding_loaded, false);
    await wrong.close();
  } finally {
    await browser.close();
  }
});
