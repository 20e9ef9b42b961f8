// In-browser encoding in the real app and real Chromium, with nothing but a static host
// (tests/browser/static_server.mjs; no scripts/serve, no /api): photos dropped on the
// offline bundle (scripts/bundle, plain host: one thread) are encoded by
// web/encoder_worker.js with the bundled model's encoder, get candidates after a click,
// and the embedding the app hands to the decoder equals the embedder's (scripts/embed,
// onnxruntime-node) within 1e-4; the next photo is encoded in the background; a reload
// finds the embedding in IndexedDB. A manifest listing images without embeddings
// (cross-origin isolated: 2 threads) is encoded image by image and names its broken
// image. A storage quota that refuses the cache (an init script makes the worker's
// IndexedDB put fail) is reported, and annotation goes on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStaticServer } from './static_server.mjs';
import { launchBrowser, waitReady, waitState, imageToPage } from './browser_harness.mjs';

const repo = path.resolve(import.meta.dirname, '..', '..');
const SITE = path.join(repo, 'build/wasm/site');
const MODEL = path.join(repo, 'assets/model');
const SAMPLES = path.join(repo, 'assets/samples');
const MODEL_ID = JSON.parse(fs.readFileSync(path.join(MODEL, 'model.json'), 'utf8')).id;
let tmp, ref, refManifest, bundle, noemb, browser;

function embed(images, out) {
  const src = fs.mkdtempSync(path.join(tmp, 'src-'));
  for (const f of images) fs.copyFileSync(f, path.join(src, path.basename(f)));
  try {
    execFileSync('scripts/embed', ['--encoder', path.join(MODEL, 'encoder.onnx'), '--decoder', path.join(MODEL, 'decoder.onnx'),
      '--images', src, '--out', out, '--threads', '1', '--model-id', MODEL_ID], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    assert.match(String(e.stderr), /broken\.jpg/, 'only the broken image may fail');
  }
  return JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
}

before(async () => {
  assert.ok(fs.existsSync(path.join(SITE, 'encoder_worker.js')), 'build/wasm/site not built: run scripts/build-wasm');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-browser-encoding-'));
  const broken = path.join(tmp, 'broken.jpg');
  fs.writeFileSync(broken, fs.readFileSync(path.join(SAMPLES, 'coffee.jpg')).subarray(0, 6000));
  // The embedder's embeddings of every sample (f32): the reference.
  ref = path.join(tmp, 'ref');
  refManifest = embed([...['astronaut', 'chelsea', 'coffee', 'rocket'].map((n) => path.join(SAMPLES, `${n}.jpg`)), broken], ref);
  assert.equal(refManifest.images.length, 4);
  // The offline demo: the app + a dataset of two samples; the model's small encoder comes along.
  const demo = path.join(tmp, 'demo');
  embed(['coffee', 'rocket'].map((n) => path.join(SAMPLES, `${n}.jpg`)), demo);
  bundle = path.join(tmp, 'bundle');
  execFileSync('scripts/bundle', [bundle, '--app', SITE, '--dataset', demo], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  const bm = JSON.parse(fs.readFileSync(path.join(bundle, 'manifest.json'), 'utf8'));
  assert.equal(bm.model.encoder, 'encoder.onnx');
  assert.equal(bm.model.browser_encoder, true);
  // A dataset whose manifest lists images and no embeddings: coffee, the broken image, rocket.
  noemb = path.join(tmp, 'noemb');
  fs.mkdirSync(path.join(noemb, 'images'), { recursive: true });
  for (const f of ['decoder.onnx', 'encoder.onnx']) fs.copyFileSync(path.join(MODEL, f), path.join(noemb, f));
  const size = (n) => refManifest.images.find((e) => e.file === `images/${n}`);
  const images = ['coffee.jpg', 'broken.jpg', 'rocket.jpg'].map((n, i) => {
    fs.copyFileSync(n === 'broken.jpg' ? broken : path.join(SAMPLES, n), path.join(noemb, 'images', n));
    const s = size(n === 'broken.jpg' ? 'coffee.jpg' : n);
    return { id: i + 1, file: `images/${n}`, width: s.width, height: s.height };
  });
  fs.writeFileSync(path.join(noemb, 'manifest.json'), JSON.stringify({ version: 1,
    model: { id: MODEL_ID, decoder: 'decoder.onnx', encoder: 'encoder.onnx', browser_encoder: true }, images }));
  browser = await launchBrowser({ width: 1280, height: 800 });
});

after(async () => {
  await browser?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// Drops files fetched from the static host (same origin) on the page, as one drop.
async function dropUrls(page, urls) {
  await page.evaluate(async (list) => {
    const dt = new DataTransfer();
    for (const u of list) dt.items.add(new File([await (await fetch(u)).blob()], u.split('/').pop(), { type: 'image/jpeg' }));
    window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, urls);
}

// max |app's embedding - the embedder's .npy| for the shown image, computed in the page.
async function compareEmbedding(page, npyUrl) {
  return page.evaluate(async (url) => {
    const got = window.samAnnotator.embedding();
    if (!got) return { error: 'the app holds no computed embedding' };
    const b = await (await fetch(url)).arrayBuffer();
    const headerLen = new DataView(b).getUint16(8, true);
    const header = new TextDecoder().decode(new Uint8Array(b, 10, headerLen));
    if (!header.includes("'<f4'")) return { error: `${url}: not float32` };
    const want = new Float32Array(b, 10 + headerLen);
    let maxAbs = 0, scale = 0;
    for (let i = 0; i < want.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(got[i] - want[i]));
      scale = Math.max(scale, Math.abs(want[i]));
    }
    return { length: got.length, wantLength: want.length, maxAbs, scale };
  }, npyUrl);
}

function assertSameEmbedding(r, what) {
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.length, 256 * 64 * 64);
  assert.equal(r.wantLength, r.length);
  assert.ok(r.maxAbs <= 1e-4, `${what}: max |browser - embedder| = ${r.maxAbs}`);
  assert.ok(r.scale > 0.1, `${what}: a flat embedding (${r.scale}) proves nothing`);
}

async function clickForCandidates(page, s) {
  const count = s.decode_count;
  const at = imageToPage(s, Math.round(s.image.width * 0.5), Math.round(s.image.height * 0.5));
  await page.mouse.click(at.x, at.y);
  return waitState(page, (t) => t.points.length === 1 && t.result_kind === 'prompt' && t.decode_count > count && t.candidates.length > 0,
    { what: 'candidates after a click', timeout: 60000 });
}

const refNpy = (name) => `/ref/${refManifest.images.find((e) => e.file === `images/${name}`).embedding}`;

test('static demo, plain host (1 thread): dropped photos are encoded in the browser, segmented, cached', async (t) => {
  const srv = await startStaticServer({ '/ref/': ref, '/': bundle }, { isolation: false });
  try {
    let page = await browser.open(`${srv.url}index.html`);
    await waitReady(page, browser.logs);
    let s = await waitState(page, (x) => x.image?.embedding_loaded && x.encoding.status === 'ready',
      { what: 'the demo dataset, and its encoder loaded ahead', timeout: 60000 });
    assert.equal(s.image.file, 'images/coffee.jpg');
    assert.equal(s.encoding.shown.source, 'file');
    assert.match(s.encoding.description, /^ORT .* wasm, 1 thread$/);

    const t0 = Date.now();
    await dropUrls(page, ['/ref/images/astronaut.jpg', '/ref/images/chelsea.jpg']);
    s = await waitState(page, (x) => x.image?.file === 'local:astronaut.jpg' && x.image.embedding_loaded,
      { what: 'the dropped photo encoded', timeout: 60000 });
    const dropToEmbedding = Date.now() - t0;
    assert.equal(s.image_count, 2);
    assert.equal(s.encoding.shown.source, 'encoder');
    assert.equal(s.encoding.shown.cached, false);
    assert.deepEqual(s.errors, []);
    assertSameEmbedding(await compareEmbedding(page, refNpy('astronaut.jpg')), 'astronaut.jpg');
    s = await clickForCandidates(page, s);
    assert.equal(s.candidates.length, 3);
    t.diagnostic(`drop -> embedding ${dropToEmbedding} ms (encoder ${s.encoding.shown.encode_ms.toFixed(0)} ms, ` +
      `prep ${s.encoding.shown.prep_ms.toFixed(0)} ms), loaded machine`);

    // Left alone, the app encodes the next photo in the background.
    s = await waitState(page, (x) => x.encoding.background_done === 1 && x.encoding.encoded === 2 && !x.encoding.busy,
      { what: 'the next photo encoded in the background', timeout: 60000 });
    await page.keyboard.press('ArrowRight');
    s = await waitState(page, (x) => x.image?.file === 'local:chelsea.jpg' && x.image.embedding_loaded, { what: 'next photo' });
    assert.equal(s.encoding.shown.from_memory, true);
    assertSameEmbedding(await compareEmbedding(page, refNpy('chelsea.jpg')), 'chelsea.jpg');
    assert.deepEqual(s.errors, []);
    await browser.shot(page, 'browser-encoding-dropped');
    await page.close();

    // The same photo on a new page: its embedding comes from IndexedDB.
    page = await browser.open(`${srv.url}index.html`);
    await waitReady(page, browser.logs);
    await waitState(page, (x) => x.image?.embedding_loaded, { what: 'demo again' });
    await dropUrls(page, ['/ref/images/astronaut.jpg']);
    s = await waitState(page, (x) => x.image?.file === 'local:astronaut.jpg' && x.image.embedding_loaded,
      { what: 'the dropped photo again', timeout: 60000 });
    assert.equal(s.encoding.shown.cached, true, 'the second load must come from the IndexedDB cache');
    assertSameEmbedding(await compareEmbedding(page, refNpy('astronaut.jpg')), 'astronaut.jpg (cached)');
    await clickForCandidates(page, s);
    await page.close();
  } finally {
    await srv.close();
  }
});

test('a manifest listing images without embeddings (isolated: 2 threads): encoded one by one; the broken one named', async () => {
  const srv = await startStaticServer({ '/ref/': ref, '/noemb/': noemb, '/': SITE }, { isolation: true });
  try {
    const page = await browser.open(`${srv.url}index.html?manifest=/noemb/manifest.json`);
    await waitReady(page, browser.logs);
    let s = await waitState(page, (x) => x.image?.embedding_loaded, { what: 'first image encoded', timeout: 60000 });
    assert.equal(s.encoding.total, 3);
    assert.match(s.encoding.description, /2 threads$/);
    assertSameEmbedding(await compareEmbedding(page, refNpy('coffee.jpg')), 'coffee.jpg');
    // background: the broken image fails by name, the one after it is encoded (the status bar says so meanwhile)
    await waitState(page, (x) => /^encoding image 2 of 3 \(rocket\.jpg, in the background\)\.\.\.$/.test(x.encoding.progress),
      { what: 'progress of the background encoding', timeout: 60000 });
    s = await waitState(page, (x) => x.encoding.encoded === 2 && x.encoding.failed === 1 && !x.encoding.busy,
      { what: 'background encoding of the next images', timeout: 60000 });
    assert.ok(s.errors.some((e) => /^broken\.jpg: truncated JPEG/.test(e)), JSON.stringify(s.errors));
    assert.equal(s.errors.length, 1, JSON.stringify(s.errors));
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    s = await waitState(page, (x) => x.image?.file === 'images/rocket.jpg' && x.image.embedding_loaded, { what: 'rocket' });
    assert.equal(s.encoding.shown.from_memory, true);
    assertSameEmbedding(await compareEmbedding(page, refNpy('rocket.jpg')), 'rocket.jpg');
    await clickForCandidates(page, s);
    await page.close();
  } finally {
    await srv.close();
  }
});

test('a storage quota that refuses the embedding cache is reported; annotation goes on', async () => {
  const srv = await startStaticServer({ '/ref/': ref, '/': bundle }, { isolation: false });
  try {
    // The encoder worker starts with IndexedDB writes failing as a full quota makes them fail.
    const page = await browser.open(`${srv.url}index.html`, { init: () => {
      const Real = window.Worker;
      window.Worker = function (url, options) {
        const u = new URL(url, location.href);
        if (!u.pathname.endsWith('/encoder_worker.js')) return new Real(url, options);
        const src = `import ${JSON.stringify(u.href)};\n` +
          "IDBObjectStore.prototype.put = function () { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };\n";
        return new Real(URL.createObjectURL(new Blob([src], { type: 'text/javascript' })), { type: 'module' });
      };
    } });
    await waitReady(page, browser.logs);
    await waitState(page, (x) => x.image?.embedding_loaded && x.encoding.status === 'ready', { what: 'demo + encoder', timeout: 60000 });
    await dropUrls(page, ['/ref/images/rocket.jpg']);
    let s = await waitState(page, (x) => x.image?.file === 'local:rocket.jpg' && x.image.embedding_loaded,
      { what: 'the dropped photo encoded', timeout: 60000 });
    assert.equal(s.errors.length, 1, JSON.stringify(s.errors));
    assert.match(s.errors[0], /^rocket\.jpg: embedding not cached \(QuotaExceededError: The quota has been exceeded\.\); annotation goes on/);
    assert.match(s.encoding.cache_error, /QuotaExceededError/);
    assertSameEmbedding(await compareEmbedding(page, refNpy('rocket.jpg')), 'rocket.jpg');
    s = await clickForCandidates(page, s);
    await page.keyboard.press('Enter');
    s = await waitState(page, (x) => x.annotations.length === 1, { what: 'accepted after the quota error' });
    await browser.shot(page, 'browser-encoding-quota');
    await page.close();
  } finally {
    await srv.close();
  }
});
