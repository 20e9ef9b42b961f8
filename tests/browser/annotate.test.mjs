// Browser end-to-end tests of the annotation workflow: accept (Enter) into
// the annotation document, COCO export checked with an independent RLE
// decoder, undo/redo, categories, delete, the help panel, IndexedDB autosave
// restored after a reload, and saving to scripts/serve's annotations API with
// a 409 conflict. Real mouse/keyboard events, aimed with state().view and
// state().ui (the rectangles of named widgets). Screenshots: $SAM_TEST_OUTPUT/annotate-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startStaticServer } from './static_server.mjs';
import { launchBrowser, waitReady, state, waitState, imageToPage } from './browser_harness.mjs';
import { decodePng, encodePng } from './png.mjs';
import { decodeRle } from './coco_rle.mjs';
import { makeTestDataset } from './test_dataset.mjs';

const SITE = path.resolve('build/wasm/site');
let datasetDir, manifest, server;

before(async () => {
  assert.ok(fs.existsSync(path.join(SITE, 'sam_annotator.wasm')), 'build/wasm/site missing: run scripts/build-wasm');
  datasetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-annotate-test-'));
  manifest = makeTestDataset(datasetDir);
  server = await startStaticServer({ '/': SITE, '/data/': datasetDir });
});

after(async () => {
  await server?.close();
  if (datasetDir) fs.rmSync(datasetDir, { recursive: true, force: true });
});

// Clicks a named widget: its centre, or `dx` pixels from its left edge (table
// rows span all columns; their left end is the row's own label).
async function clickUi(page, name, dx) {
  await waitState(page, (t) => t.ui && t.ui[name], { what: `widget ${name}` });
  // a popup is laid out over its first frames: aim with a settled rectangle
  await page.waitForTimeout(100);
  const r = (await waitState(page, (t) => t.ui && t.ui[name], { what: `widget ${name}` })).ui[name];
  await page.mouse.click(dx === undefined ? r[0] + r[2] / 2 : r[0] + dx, r[1] + r[3] / 2);
}

// Clicks image pixel (x, y) and waits for the prompt's decode.
async function clickPoint(page, x, y, options = {}) {
  const s0 = await state(page);
  const p = imageToPage(s0, x, y);
  await page.mouse.click(p.x, p.y, options);
  return waitState(page, (t) => t.result_kind === 'prompt' && t.decode_count > s0.decode_count && t.points.length > s0.points.length,
    { what: `decode after click at ${x},${y}` });
}

// Every annotation of the export decodes (independently) to the area and bbox the app reports.
function checkExport(s, cocoText, { rle }) {
  const coco = JSON.parse(cocoText);
  assert.equal(coco.images.length, manifest.images.length);
  assert.deepEqual(coco.categories.map((c) => c.name), s.categories.map((c) => c.name));
  assert.equal(coco.annotations.length, s.annotations.length);
  for (const a of coco.annotations) {
    const mine = s.annotations.find((b) => b.id === a.id);
    assert.ok(mine, `annotation ${a.id} missing from state()`);
    assert.equal(a.category_id, mine.category_id);
    assert.equal(a.area, mine.area);
    assert.deepEqual(a.bbox, mine.bbox);
    if (rle) {
      const img = coco.images.find((i) => i.id === a.image_id);
      assert.deepEqual(a.segmentation.size, [img.height, img.width]);
      const m = decodeRle(a.segmentation.counts, img.height, img.width);
      assert.equal(m.area, a.area, 'RLE area differs from the reported area');
      assert.deepEqual(m.bbox, a.bbox, 'RLE bbox differs from the reported bbox');
    } else {
      assert.ok(Array.isArray(a.segmentation) || typeof a.segmentation.counts === 'string');
    }
  }
  return coco;
}

test('accept, export, undo/redo, categories, delete, help; autosave restored after reload', async () => {
  const browser = await launchBrowser({ width: 1280, height: 800 });
  try {
    const page = await browser.open(server.url + 'index.html?manifest=/data/manifest.json');
    await waitReady(page, browser.logs);
    let s = await waitState(page, (t) => t.image && t.image.loaded && t.decoder.status === 'ready' && t.restored, { what: 'ready' });
    assert.deepEqual(s.errors, []);
    assert.equal(s.annotations.length, 0);
    assert.equal(s.categories.length, 1, 'a default category exists');
    const W = s.image.width, H = s.image.height;

    // a positive point on the disc, accept with Enter
    s = await clickPoint(page, Math.round(W * 0.35), Math.round(H * 0.45));
    await page.keyboard.press('Enter');
    s = await waitState(page, (t) => t.annotations.length === 1, { what: 'accepted annotation' });
    const first = s.annotations[0];
    assert.equal(first.image_id, manifest.images[0].id);
    assert.equal(first.category_id, s.current_category);
    assert.ok(first.area > 0 && first.area <= W * H);
    assert.ok(first.bbox[2] > 0 && first.bbox[0] + first.bbox[2] <= W && first.bbox[1] + first.bbox[3] <= H);
    assert.equal(first.points, 1);
    assert.equal(s.points.length, 0, 'accept clears the prompt');
    assert.equal(s.undo_depth, 1);
    assert.equal(s.selected_annotation, first.id);
    checkExport(s, await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })), { rle: true });
    checkExport(s, await page.evaluate(() => window.samAnnotator.exportCoco()), { rle: false });

    // undo / redo
    await page.keyboard.press('Control+KeyZ');
    s = await waitState(page, (t) => t.annotations.length === 0, { what: 'undo' });
    assert.equal(s.redo_depth, 1);
    await page.keyboard.press('Control+Shift+KeyZ');
    s = await waitState(page, (t) => t.annotations.length === 1, { what: 'redo' });
    assert.deepEqual(s.annotations[0], first);

    // a new category typed into the categories panel becomes the current one
    await clickUi(page, 'new_category');
    await waitState(page, (t) => t.text_input_active, { what: 'category name field active' });
    await page.keyboard.type('tree');
    await page.keyboard.press('Enter');
    s = await waitState(page, (t) => t.categories.length === 2, { what: 'new category' });
    assert.equal(s.categories[1].name, 'tree');
    assert.equal(s.current_category, s.categories[1].id);
    assert.notDeepEqual(s.categories[1].color, s.categories[0].color);

    // a box on the rectangle, candidate via key, accepted into "tree"
    const b0 = imageToPage(s, Math.round(W * 0.58), Math.round(H * 0.18));
    const b1 = imageToPage(s, Math.round(W * 0.87), Math.round(H * 0.72));
    let count = s.decode_count;
    await page.mouse.move(b0.x, b0.y);
    await page.mouse.down();
    await page.mouse.move(b1.x, b1.y, { steps: 6 });
    await page.mouse.up();
    s = await waitState(page, (t) => t.box && t.decode_count > count && t.result_kind === 'prompt', { what: 'box decode' });
    await page.keyboard.press('Enter');
    s = await waitState(page, (t) => t.annotations.length === 2, { what: 'second annotation' });
    const second = s.annotations[1];
    assert.equal(second.category_id, s.categories[1].id);
    assert.equal(second.has_box, true);
    await page.mouse.move(5, 795);
    await page.waitForTimeout(150);
    await browser.shot(page, 'annotate-two');

    // rename "tree" to "plant" from the category's context menu
    const row = s.ui.category_2;
    await page.mouse.click(row[0] + 20, row[1] + row[3] / 2, { button: 'right' });
    await waitState(page, (t) => t.ui.rename_category && t.text_input_active, { what: 'rename popup' });
    await page.keyboard.press('Control+KeyA');
    await page.keyboard.type('plant');
    await clickUi(page, 'rename_category');
    s = await waitState(page, (t) => t.categories[1].name === 'plant', { what: 'renamed' });

    // H hides the selected annotation (the second), H again shows it; both undoable edits
    assert.equal(s.selected_annotation, second.id);
    await page.mouse.move(640, 400);
    await page.keyboard.press('KeyH');
    s = await waitState(page, (t) => t.annotations[1].hidden, { what: 'hidden' });
    await page.keyboard.press('KeyH');
    s = await waitState(page, (t) => !t.annotations[1].hidden, { what: 'shown' });

    // Shift+1 picks category 1 again
    await page.keyboard.press('Shift+Digit1');
    s = await waitState(page, (t) => t.current_category === t.categories[0].id, { what: 'category 1 (Shift+1)' });

    // recategorise the first annotation from its row's combo
    await clickUi(page, `annotation_category_${first.id}`);
    await clickUi(page, `category_option_${s.categories[1].id}`);
    s = await waitState(page, (t) => t.annotations[0].category_id === t.categories[1].id, { what: 'recategorised' });
    await page.keyboard.press('Control+KeyZ');
    s = await waitState(page, (t) => t.annotations[0].category_id === t.categories[0].id, { what: 'recategorise undone' });

    // select the first annotation in the list, delete it, undo the delete
    await clickUi(page, `annotation_${first.id}`, 8);
    s = await waitState(page, (t) => t.selected_annotation === first.id, { what: 'select from list' });
    await page.mouse.move(640, 400);
    await page.keyboard.press('Delete');
    s = await waitState(page, (t) => t.annotations.length === 1, { what: 'delete' });
    assert.equal(s.annotations[0].id, second.id);
    await page.keyboard.press('Control+KeyZ');
    s = await waitState(page, (t) => t.annotations.length === 2, { what: 'undo delete' });
    checkExport(s, await page.evaluate(() => window.samAnnotator.exportCoco({ rle: true })), { rle: true });

    // help panel
    await page.keyboard.press('F1');
    s = await waitState(page, (t) => t.help_visible, { what: 'help (F1)' });
    await browser.shot(page, 'annotate-help');
    await page.keyboard.press('Shift+Slash');
    s = await waitState(page, (t) => !t.help_visible, { what: 'help closed (?)' });

    // the autosave has caught up; a reload restores the same annotations and categories
    const saved = await waitState(page, (t) => t.autosaved_revision === t.revision, { what: 'autosave' });
    await page.waitForFunction(() => window.Module.samStorePuts > 0 && window.Module.samStoreWrites === window.Module.samStorePuts);
    await page.reload();
    await waitReady(page, browser.logs);
    s = await waitState(page, (t) => t.restored && t.image && t.image.loaded, { what: 'restored after reload' });
    assert.deepEqual(s.annotations, saved.annotations);
    assert.deepEqual(s.categories, saved.categories);
    assert.equal(s.undo_depth, 0, 'a restored session starts a fresh history');
    assert.ok(s.notices.some((n) => /Restored 2 annotations/.test(n)), JSON.stringify(s.notices));
    await page.mouse.move(5, 795);
    await page.waitForTimeout(150);
    const shot = decodePng(await browser.shot(page, 'annotate-restored'));
    // the restored overlay: pixels inside the accepted rectangle annotation are tinted
    const inside = imageToPage(s, Math.round(W * 0.72), Math.round(H * 0.45));
    assert.ok(shot.width === 1280 && inside.x > 0);
    await page.close();
  } finally {
    await browser.close();
  }
});

// scripts/serve: with no ?manifest the app opens the server's dataset;
// annotations are PUT to /api/annotations/<dataset> (per image where the server has
// the per-image routes, else the whole document); a newer version on the
// server gives a visible conflict and loses nothing; a dropped image is
// embedded by the server (--encoder) and joins the image list.
test('server: default dataset, saving, 409 conflict resolved by overwriting, dropped image embedded', async () => {
  const name = path.basename(datasetDir);
  const serve = spawn('scripts/serve', ['--port', '0', '--app', SITE, '--encoder', 'tests/fixtures/tiny/encoder.onnx', datasetDir],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  serve.stderr.on('data', (d) => { stderr += d; });
  const browser = await launchBrowser({ width: 1280, height: 800 });
  try {
    const base = await new Promise((resolve, reject) => {
      let out = '';
      serve.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/listening on (http:\/\/\S+\/)/);
        if (m) resolve(m[1]);
      });
      serve.on('exit', (code) => reject(new Error(`scripts/serve exited ${code}: ${stderr}`)));
    });
    const api = `${base}api/annotations/${encodeURIComponent(name)}`;
    const page = await browser.open(`${base}index.html`);
    await waitReady(page, browser.logs);
    let s = await waitState(page, (t) => t.restored && t.image && t.image.loaded && t.decoder.status === 'ready', { what: 'ready' });
    assert.equal(s.server.dataset, name);
    assert.deepEqual(s.errors, []);

    await clickPoint(page, Math.round(s.image.width * 0.35), Math.round(s.image.height * 0.45));
    await page.keyboard.press('Enter');
    s = await waitState(page, (t) => t.annotations.length === 1 && t.server.saved_revision === t.revision && !t.server.saving,
      { what: 'saved to the server' });
    let remote = await (await fetch(api)).json();
    assert.equal(remote.annotations.length, 1);
    assert.equal(remote.annotations[0].area, s.annotations[0].area);
    // a server with per-image units versions each image; an older one the whole document
    if (s.server.mode === 'whole_document') assert.equal(remote.version, s.server.version);
    else assert.equal(s.server.mode, 'per_image');

    // someone else saves (a version the app has not seen)
    const put = await fetch(api, { method: 'PUT', headers: { 'Content-Type': 'application/json', 'If-Match': String(remote.version) },
      body: JSON.stringify({ images: remote.images, annotations: [], categories: remote.categories }) });
    assert.equal(put.status, 200);

    await clickPoint(page, Math.round(s.image.width * 0.72), Math.round(s.image.height * 0.45));
    await page.keyboard.press('Enter');
    s = await waitState(page, (t) => t.server.conflict !== '', { what: '409 conflict shown' });
    assert.equal(s.annotations.length, 2, 'nothing lost on a conflict');
    await browser.shot(page, 'annotate-conflict');
    await clickUi(page, 'conflict_overwrite');
    s = await waitState(page, (t) => t.server.conflict === '' && t.server.saved_revision === t.revision && !t.server.saving,
      { what: 'overwrite saved' });
    remote = await (await fetch(api)).json();
    assert.equal(remote.annotations.length, 2);

    // an image without an embedding, dropped on the page: embedded by the server, opened
    await page.setInputFiles('#sam-file-input', path.join(datasetDir, manifest.images[1].file));
    // the same bytes are already in the dataset: the server answers with that entry
    s = await waitState(page, (t) => t.image && t.image.id === manifest.images[1].id && t.image.loaded && t.image.embedding_loaded,
      { what: 'dropped image (known) opened' });
    const fresh = path.join(os.tmpdir(), `sam-fresh-${process.pid}.png`);
    fs.writeFileSync(fresh, encodePng(96, 64, new Uint8Array(96 * 64 * 4).fill(200)));
    try {
      await page.setInputFiles('#sam-file-input', fresh);
      s = await waitState(page, (t) => t.image_count === 3 && t.image && t.image.loaded && t.image.embedding_loaded && t.image.width === 96,
        { what: 'dropped image embedded', timeout: 60000 });
      assert.deepEqual(s.errors, []);
    } finally {
      fs.rmSync(fresh, { force: true });
    }
    await page.close();
  } finally {
    await browser.close();
    serve.kill();
  }
});
