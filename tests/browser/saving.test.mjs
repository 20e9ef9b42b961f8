// Browser tests of saves in proportion to the edit (issue 15), against scripts/serve's
// per-image annotations API (/work/notes/annotations_api.md): an edit PUTs its image's
// unit only, with the version it was edited from, and the browser store keeps the same
// units; a reload restores them; a stale unit gets 409, the conflict is shown, nothing
// is lost, "overwrite" resolves it; 100 edits and a reload lose nothing; the old forms
// still load: the single-record IndexedDB autosave, and a server with only the
// whole-document route (annotations.json). Always against the real scripts/serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStaticServer } from './static_server.mjs';
import { launchBrowser, waitReady, state, waitState } from './browser_harness.mjs';
import { makeTestDataset } from './test_dataset.mjs';

const SITE = path.resolve('build/wasm/site');
let dir, name, manifest, serve, base;

function startServe(dataset) {
  const child = spawn('scripts/serve', ['--port', '0', '--app', SITE, dataset], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '', err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+\/)/);
      if (m) resolve({ url: m[1], close: () => new Promise((r) => { child.once('exit', r); child.kill(); }) });
    });
    child.on('exit', (code) => reject(new Error(`scripts/serve exited ${code}: ${err}`)));
  });
}

before(async () => {
  assert.ok(fs.existsSync(path.join(SITE, 'sam_annotator.wasm')), 'build/wasm/site missing: run scripts/build-wasm');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-saving-test-'));
  manifest = makeTestDataset(dir);
  fs.copyFileSync(path.resolve('tests/browser/fixtures/disc_decoder.onnx'), path.join(dir, 'disc_decoder.onnx'));
  name = path.basename(dir);
  serve = await startServe(dir);
  base = serve.url;
  const probe = await fetch(`${serve.url}api/annotations/${encodeURIComponent(name)}/index`);
  assert.equal(probe.status, 200, 'scripts/serve has no per-image annotations API');
});

after(async () => {
  await serve?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const api = () => `${base}api/annotations/${encodeURIComponent(name)}`;
const unitOf = async (file) => (await fetch(`${api()}/images/${encodeURIComponent(file)}`)).json();
const appUrl = (extra = '') => `${base}index.html?manifest=/datasets/${encodeURIComponent(name)}/manifest.json` +
  `&decoder=/datasets/${encodeURIComponent(name)}/disc_decoder.onnx${extra}`;
const saved = (t) => t.restored && t.server.saved_revision === t.revision && !t.server.saving && t.server.dirty === 0 &&
  t.autosaved_revision === t.revision;

async function openApp(browser, extra) {
  const page = await browser.open(appUrl(extra));
  await waitReady(page, browser.logs);
  await waitState(page, (t) => t.image && t.image.loaded && t.decoder.status === 'ready' && t.restored, { what: 'ready' });
  return page;
}

async function storeCaughtUp(page) {
  await page.waitForFunction(() => window.Module.samStoreWrites === window.Module.samStorePuts, null, { timeout: 30000 });
}

// A disc at (x, y) through the prompt API, accepted (the disc decoder: fast and exact).
async function acceptAt(page, x, y, category) {
  await page.evaluate(([px, py]) => window.samAnnotator.prompt({ points: [[px, py, 1]] }), [x, y]);
  return page.evaluate((c) => window.samAnnotator.accept(c ? { category: c } : {}), category);
}

test('per-image saves: an edit writes its image only; the browser store and a reload give it back', async (t) => {
  const browser = await launchBrowser();
  try {
    const page = await openApp(browser, '&token=test-token');
    let s = await state(page);
    assert.equal(s.server.mode, 'per_image');
    const puts = [];
    page.on('request', (r) => { if (r.method() === 'PUT') puts.push({ url: r.url(), bytes: (r.postData() || '').length, auth: r.headers().authorization }); });
    await acceptAt(page, 200, 150, 'cup');
    s = await waitState(page, saved, { what: 'saved' });
    // saveState(): the same save fields as state(), without the annotation list
    const light = await page.evaluate(() => window.samAnnotator.saveState());
    for (const k of ['revision', 'autosaved_revision', 'restored', 'server']) assert.deepEqual(light[k], s[k], k);
    assert.ok(saved(light) && !('annotations' in light), JSON.stringify(light));
    const file = path.basename(manifest.images[0].file);
    const mine = puts.filter((p) => p.url.endsWith(`/images/${encodeURIComponent(file)}`));
    assert.ok(mine.length >= 1, JSON.stringify(puts));
    assert.ok(puts.every((p) => !/\/annotations\/[^/]+$/.test(new URL(p.url).pathname)), 'no whole-document PUT');
    assert.ok(puts.every((p) => p.auth === 'Bearer test-token'), 'the page URL\'s token goes on /api calls');
    const unit = await unitOf(file);
    assert.equal(unit.annotations.length, 1);
    assert.equal(unit.annotations[0].area, s.annotations[0].area);
    assert.ok(unit.version >= 1);
    const other = await unitOf(path.basename(manifest.images[1].file));
    assert.equal(other.version, 0, 'the other image was not written');
    await storeCaughtUp(page);
    const before = s.annotations;
    await page.reload();
    await waitReady(page, browser.logs);
    s = await waitState(page, (x) => x.restored && x.image && x.image.loaded, { what: 'restored' });
    assert.deepEqual(s.annotations, before);
    assert.ok(s.categories.some((c) => c.name === 'cup'));
    await page.close();
  } finally {
    await browser.close();
  }
});

test('a stale per-image write gets 409: the conflict is shown, nothing is lost, overwrite resolves it', async (t) => {
  const browser = await launchBrowser();
  try {
    const page = await openApp(browser);
    const file = path.basename(manifest.images[0].file);
    const start = (await state(page)).annotations.length;
    await acceptAt(page, 300, 200);
    await waitState(page, saved, { what: 'saved' });
    // another client writes this image's unit
    const cur = await unitOf(file);
    const w = await fetch(`${api()}/images/${encodeURIComponent(file)}`, { method: 'PUT', headers: { 'Content-Type': 'application/json', 'If-Match': `"${cur.version}"` },
      body: JSON.stringify({ annotations: [] }) });
    assert.equal(w.status, 200);
    await acceptAt(page, 450, 300);
    let s = await waitState(page, (x) => x.server.conflicts.length === 1, { what: 'conflict shown' });
    assert.equal(s.server.conflicts[0].unit, `image:${file}`);
    assert.match(s.server.conflict, /changed/);
    assert.equal(s.annotations.length, start + 2, 'nothing lost');
    await waitState(page, (x) => x.ui.conflict_overwrite, { what: 'conflict window' });
    await page.waitForTimeout(100);
    const r = (await state(page)).ui.conflict_overwrite;
    await page.mouse.click(r[0] + r[2] / 2, r[1] + r[3] / 2);
    s = await waitState(page, (x) => x.server.conflicts.length === 0 && saved(x), { what: 'overwritten' });
    const unit = await unitOf(file);
    assert.equal(unit.annotations.length, s.annotations.filter((a) => a.image_id === manifest.images[0].id).length);
    await page.close();
  } finally {
    await browser.close();
  }
});

test('100 edits, a reload: nothing lost, in the browser or on the server', async (t) => {
  const browser = await launchBrowser();
  try {
    const page = await openApp(browser);
    let edits = 0;
    for (let i = 0; i < 30; i++, edits++) await acceptAt(page, 30 + (i % 10) * 55, 40 + Math.floor(i / 10) * 140);
    await page.mouse.move(5, 795);
    for (; edits < 100; edits++) await page.keyboard.press('KeyH');  // hide / show the selected annotation
    let s = await waitState(page, saved, { what: 'all saved', timeout: 60000 });
    await storeCaughtUp(page);
    const before = s.annotations;
    await page.reload();
    await waitReady(page, browser.logs);
    s = await waitState(page, (x) => x.restored && x.image && x.image.loaded, { what: 'restored' });
    assert.deepEqual(s.annotations, before);
    // the server alone (a browser without this one's store) gives the same
    const fresh = await launchBrowser();
    try {
      const other = await openApp(fresh);
      assert.deepEqual((await state(other)).annotations.map((a) => [a.id, a.area, a.hidden]), before.map((a) => [a.id, a.area, a.hidden]));
    } finally {
      await fresh.close();
    }
    await page.close();
  } finally {
    await browser.close();
  }
});

test('the old single-record autosave in IndexedDB still loads, and becomes per-image units', async () => {
  const staticDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-saving-old-'));
  const m = makeTestDataset(staticDir, [[320, 240]]);
  const server = await startStaticServer({ '/': SITE, '/data/': staticDir });
  const browser = await launchBrowser();
  try {
    const first = m.images[0];
    const coco = { images: [{ id: first.id, file_name: path.basename(first.file), width: 320, height: 240 }],
      categories: [{ id: 5, name: 'box', supercategory: '' }],
      annotations: [{ id: 7, image_id: first.id, category_id: 5, iscrowd: 0, area: 1200, bbox: [10, 20, 40, 30],
        segmentation: [[10, 20, 50, 20, 50, 50, 10, 50]] }] };
    // written as the previous app wrote it: database version 1, store "autosave", key "manifest:<url>"
    const page = await browser.open(server.url + 'data/manifest.json');
    await page.evaluate(([key, text]) => new Promise((resolve, reject) => {
      const req = indexedDB.open('sam-annotator', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('autosave');
      req.onsuccess = () => {
        const tx = req.result.transaction('autosave', 'readwrite');
        tx.objectStore('autosave').put({ text, number: -1, saved: Date.now() }, key);
        tx.oncomplete = () => { req.result.close(); resolve(); };
        tx.onerror = () => reject(tx.error);
      };
      req.onerror = () => reject(req.error);
    }), [`manifest:${server.url}data/manifest.json`, JSON.stringify(coco)]);
    await page.goto(server.url + 'index.html?manifest=/data/manifest.json');
    await waitReady(page, browser.logs);
    let s = await waitState(page, (x) => x.restored && x.image && x.image.loaded, { what: 'restored from the old form' });
    assert.equal(s.annotations.length, 1);
    assert.ok(Math.abs(s.annotations[0].area - 1200) <= 80, `area ${s.annotations[0].area}`);
    assert.ok(s.notices.some((n) => /Restored 1 annotations/.test(n)), JSON.stringify(s.notices));
    await storeCaughtUp(page);
    const units = await page.evaluate(() => new Promise((resolve) => {
      const req = indexedDB.open('sam-annotator', 2);
      req.onsuccess = () => {
        const keys = req.result.transaction('units').objectStore('units').getAllKeys();
        keys.onsuccess = () => resolve(keys.result);
      };
    }));
    assert.ok(units.some((k) => k.endsWith(`|image:${path.basename(first.file)}`)), JSON.stringify(units));
    await page.reload();
    await waitReady(page, browser.logs);
    s = await waitState(page, (x) => x.restored && x.image && x.image.loaded, { what: 'reloaded' });
    assert.equal(s.annotations.length, 1);
    await page.close();
  } finally {
    await browser.close();
    await server.close();
    fs.rmSync(staticDir, { recursive: true, force: true });
  }
});

test('annotations.json of the whole-document form loads from scripts/serve, and edits are saved', async () => {
  const oldDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-saving-whole-'));
  const m = makeTestDataset(oldDir, [[320, 240]]);
  fs.copyFileSync(path.resolve('tests/browser/fixtures/disc_decoder.onnx'), path.join(oldDir, 'disc_decoder.onnx'));
  const first = m.images[0];
  fs.writeFileSync(path.join(oldDir, 'annotations.json'), JSON.stringify({
    images: [{ id: first.id, file_name: path.basename(first.file), width: 320, height: 240 }],
    categories: [{ id: 1, name: 'old', supercategory: '' }],
    annotations: [{ id: 3, image_id: first.id, category_id: 1, iscrowd: 0, area: 400, bbox: [5, 5, 20, 20],
      segmentation: [[5, 5, 25, 5, 25, 25, 5, 25]] }],
    version: 4 }));
  const srv = await startServe(oldDir);
  const browser = await launchBrowser();
  try {
    const oldName = path.basename(oldDir);
    const page = await browser.open(`${srv.url}index.html?manifest=/datasets/${oldName}/manifest.json&decoder=/datasets/${oldName}/disc_decoder.onnx`);
    await waitReady(page, browser.logs);
    let s = await waitState(page, (x) => x.restored && x.image && x.image.loaded && x.decoder.status === 'ready', { what: 'loaded' });
    assert.equal(s.annotations.length, 1);
    assert.equal(s.categories.find((c) => c.id === s.annotations[0].category_id).name, 'old');
    await acceptAt(page, 200, 150);
    s = await waitState(page, saved, { what: 'saved' });
    const remote = await (await fetch(`${srv.url}api/annotations/${encodeURIComponent(oldName)}`)).json();
    assert.equal(remote.annotations.length, 2);
    await page.close();
  } finally {
    await browser.close();
    await srv.close();
    fs.rmSync(oldDir, { recursive: true, force: true });
  }
});
