// Training-data exports and imports in the real app: the export menu's YOLO segmentation
// and PNG masks buttons download ZIPs (read here with an independent store-only ZIP reader)
// whose files equal what the command line (scripts/convert export ... --zip) writes for the
// same document; the PNG masks' pixels agree with their legend; the YOLO ZIP dropped on a
// fresh dataset brings the same masks back (IoU >= 0.98), and so do its loose files
// (data.yaml + label .txt files dropped together).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStaticServer } from './static_server.mjs';
import { launchBrowser, waitReady, waitState } from './browser_harness.mjs';
import { makeTestDataset } from './test_dataset.mjs';
import { decodeRle } from './coco_rle.mjs';
import { decodePng } from './png.mjs';

const repo = path.resolve(import.meta.dirname, '..', '..');
const SITE = path.join(repo, 'build/wasm/site');
let tmp, ds, ds2, server, browser;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-exports-'));
  ds = path.join(tmp, 'ds');
  fs.mkdirSync(ds);
  makeTestDataset(ds, [[640, 480], [300, 500]]);
  fs.copyFileSync(path.join(repo, 'tests/browser/fixtures/disc_decoder.onnx'), path.join(ds, 'disc_decoder.onnx'));
  ds2 = path.join(tmp, 'ds2');  // the same dataset at another URL: a browser store of its own
  fs.cpSync(ds, ds2, { recursive: true });
  server = await startStaticServer({ '/data/': ds, '/data2/': ds2, '/': SITE });
  browser = await launchBrowser({ width: 1280, height: 800 });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// ---- a store-only ZIP reader (PKWARE APPNOTE), CRC-32 checked ----
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function readZip(buf) {
  const eocd = buf.length - 22;
  assert.equal(buf.readUInt32LE(eocd), 0x06054b50, 'end of central directory record');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const files = new Map();
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'central directory entry');
    const method = buf.readUInt16LE(p + 10), crc = buf.readUInt32LE(p + 16), size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28), extraLen = buf.readUInt16LE(p + 30), commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    assert.equal(method, 0, `${name}: stored`);
    assert.equal(buf.readUInt32LE(local), 0x04034b50, `${name}: local header`);
    const data = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const bytes = buf.subarray(data, data + size);
    assert.equal(crc32(bytes), crc, `${name}: CRC-32`);
    files.set(name, Buffer.from(bytes));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return files;
}

async function clickWidget(page, name) {
  const s = await waitState(page, (t) => t.ui[name], { what: `widget ${name}` });
  const [x, y, w, h] = s.ui[name];
  await page.mouse.click(x + w / 2, y + h / 2);
}

async function downloadFrom(page, widget) {
  const [download] = await Promise.all([page.waitForEvent('download'), clickWidget(page, widget)]);
  const file = path.join(tmp, download.suggestedFilename());
  await download.saveAs(file);
  return { name: download.suggestedFilename(), bytes: fs.readFileSync(file) };
}

async function open(base) {
  const page = await browser.open(`${server.url}index.html?manifest=/${base}/manifest.json&decoder=/${base}/disc_decoder.onnx`);
  await waitReady(page, browser.logs);
  await waitState(page, (t) => t.image?.embedding_loaded && t.decoder.status === 'ready' && t.restored, { what: 'dataset' });
  return page;
}

async function dropFiles(page, files) {
  await page.evaluate((list) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
    window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files.map((f) => ({ name: f.name, bytes: Array.from(f.bytes) })));
}

const masksOf = (coco) => coco.annotations.map((a) => {
  const im = coco.images.find((i) => i.id === a.image_id);
  return { image: im.file_name, category: coco.categories.find((c) => c.id === a.category_id).name,
    mask: decodeRle(a.segmentation.counts, im.height, im.width) };
});

function iou(a, b, w, h) {
  let i = 0, u = 0;
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) { const p = a.at(x, y), q = b.at(x, y); i += p & q; u += p | q; }
  return i / u;
}

function assertSameMasks(got, want, sizes) {
  assert.equal(got.length, want.length);
  for (let k = 0; k < want.length; k++) {
    assert.equal(got[k].image, want[k].image);
    assert.equal(got[k].category, want[k].category);
    const [w, h] = sizes[want[k].image];
    const v = iou(got[k].mask, want[k].mask, w, h);
    assert.ok(v >= 0.98, `annotation ${k} on ${want[k].image}: IoU ${v.toFixed(4)} after the round trip`);
  }
}

test('export menu: YOLO segmentation and PNG masks ZIPs equal the command line export; YOLO labels import back', async () => {
  let page = await open('data');
  // Three discs: two on picture1 (cat, dog), one on picture2 (dog).
  const accept = async (points, category) => {
    await page.evaluate((p) => window.samAnnotator.prompt({ points: p }), points);
    return page.evaluate((c) => window.samAnnotator.accept({ category: c }), category);
  };
  await accept([[200, 150, 1]], 'cat');
  await accept([[450, 300, 1]], 'dog');
  await page.keyboard.press('ArrowRight');
  await waitState(page, (t) => t.image?.index === 1 && t.image.loaded && t.image.embedding_loaded, { what: 'second image' });
  await accept([[150, 250, 1]], 'dog');
  let s = await waitState(page, (t) => t.annotations.length === 3, { what: 'three annotations' });

  const yolo = await downloadFrom(page, 'export_yolo_seg');
  const png = await downloadFrom(page, 'export_png_masks');
  assert.equal(yolo.name, 'yolo_seg.zip');
  assert.equal(png.name, 'png_masks.zip');
  const cocoText = await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true }));
  const coco = JSON.parse(cocoText);
  const cocoFile = path.join(tmp, 'coco.json');
  fs.writeFileSync(cocoFile, cocoText);
  // exportZip() gives the same bytes as the download
  const api = await page.evaluate(() => { const z = window.samAnnotator.exportZip('yolo_seg'); return { name: z.name, bytes: Array.from(z.bytes) }; });
  assert.equal(api.name, 'yolo_seg.zip');
  assert.deepEqual(Buffer.from(api.bytes), yolo.bytes);

  for (const [format, got] of [['yolo_seg', yolo], ['png_masks', png]]) {
    const cli = path.join(tmp, `cli_${format}.zip`);
    execFileSync('scripts/convert', ['export', cocoFile, '--format', format, '--zip', cli], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
    const mine = readZip(got.bytes), theirs = readZip(fs.readFileSync(cli));
    assert.deepEqual([...mine.keys()].sort(), [...theirs.keys()].sort(), `${format}: the same files`);
    for (const [name, bytes] of theirs) assert.ok(mine.get(name).equals(bytes), `${format}: ${name} differs from the CLI's`);
  }
  const files = readZip(yolo.bytes);
  assert.deepEqual([...files.keys()].sort(), ['yolo_seg/data.yaml', 'yolo_seg/labels/picture1.txt', 'yolo_seg/labels/picture2.txt']);
  assert.equal(files.get('yolo_seg/labels/picture1.txt').toString().trim().split('\n').length, 2);
  assert.match(files.get('yolo_seg/data.yaml').toString(), /names:/);
  // PNG masks: each instance's pixels in the instance map are its legend's visible_area
  const masks = readZip(png.bytes);
  const legend = JSON.parse(masks.get('png_masks/legend.json').toString());
  for (const im of legend.images) {
    const map = decodePng(masks.get(`png_masks/${im.instance_map}`));
    assert.deepEqual([map.width, map.height], [im.width, im.height]);
    const counts = new Map();
    for (let y = 0; y < map.height; y++) for (let x = 0; x < map.width; x++) {
      const v = map.pixel(x, y)[0];
      if (v) counts.set(v, (counts.get(v) || 0) + 1);
    }
    for (const inst of im.instances) assert.equal(counts.get(inst.id), inst.visible_area, `${im.file_name} instance ${inst.id}`);
  }
  await page.close();

  // A fresh dataset (another store) gets the annotations back from the downloaded ZIP...
  const want = masksOf(coco);
  const sizes = Object.fromEntries(coco.images.map((i) => [i.file_name, [i.width, i.height]]));
  page = await open('data2');
  assert.equal((await waitState(page, () => true)).annotations.length, 0);
  await dropFiles(page, [yolo]);
  s = await waitState(page, (t) => t.annotations.length === 3, { what: 'YOLO ZIP imported' });
  assert.deepEqual(s.errors, []);
  assert.ok(s.notices.some((n) => /^Imported 3 annotations from 2 YOLO segmentation label file\(s\) \(class names from yolo_seg\.zip\/yolo_seg\/data\.yaml\)/.test(n)), JSON.stringify(s.notices));
  assertSameMasks(masksOf(JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })))), want, sizes);
  // ... as one undo step; then the same from its loose files dropped together
  await page.keyboard.press('Control+KeyZ');
  await waitState(page, (t) => t.annotations.length === 0, { what: 'import undone in one step' });
  await dropFiles(page, [...files].map(([name, bytes]) => ({ name: path.basename(name), bytes })));
  s = await waitState(page, (t) => t.annotations.length === 3, { what: 'loose label files imported' });
  assertSameMasks(masksOf(JSON.parse(await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })))), want, sizes);
  await browser.shot(page, 'exports-imported');
  await page.close();
});
