// In-browser encoding in real Chromium: web/encoder_worker.js (the core's decode +
// preprocessing in WebAssembly, the bundled encoder in ONNX Runtime Web) gives the
// embedder's embedding for the same image and model (onnxruntime-node) within 1e-4,
// caches it in IndexedDB under the image's SHA-256 and the model id, and refuses a
// bad image by name. Both with threads (cross-origin isolated) and without (1 thread).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser } from './browser_harness.mjs';
import { startStaticServer } from './static_server.mjs';

const repo = path.resolve(import.meta.dirname, '..', '..');
const SITE = path.join(repo, 'build/wasm/site');
const MODEL = path.join(repo, 'assets/model');
const IMAGES = ['assets/samples/coffee.jpg', 'assets/samples/rocket.jpg', 'tests/data/orient_6_mm.jpg', 'tests/data/rgba.png'];
let tmp, ds, manifest, browser;

before(async () => {
  assert.ok(fs.existsSync(path.join(SITE, 'encoder_worker.js')), 'build/wasm/site not built: run scripts/build-wasm');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-encoder-worker-'));
  const src = path.join(tmp, 'src');
  fs.mkdirSync(src);
  for (const f of IMAGES) fs.copyFileSync(path.join(repo, f), path.join(src, path.basename(f)));
  fs.writeFileSync(path.join(src, 'broken.jpg'), fs.readFileSync(path.join(repo, IMAGES[0])).subarray(0, 5000));
  ds = path.join(tmp, 'ds');
  // The embedder's own output (f32) is the reference; broken.jpg is listed as bad (exit 1).
  try {
    execFileSync('scripts/embed', ['--encoder', path.join(MODEL, 'encoder.onnx'), '--images', src, '--out', ds, '--threads', '1'],
      { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    assert.match(String(e.stderr), /broken\.jpg/);
  }
  manifest = JSON.parse(fs.readFileSync(path.join(ds, 'manifest.json'), 'utf8'));
  assert.equal(manifest.images.length, IMAGES.length);
  fs.writeFileSync(path.join(tmp, 'blank.html'), '<!doctype html><title>encoder worker test</title>');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// Runs in the page: encodes each image twice through the worker and compares with the .npy.
async function encodeAll(page, images, threads) {
  return page.evaluate(async ({ images, threads }) => {
    const worker = new Worker(`/encoder_worker.js?threads=${threads}`, { type: 'module' });
    let next = 1;
    const pending = new Map();
    worker.onmessage = (ev) => { const p = pending.get(ev.data.id ?? 'load'); pending.delete(ev.data.id ?? 'load'); p?.(ev.data); };
    const ask = (msg, transfer = []) => new Promise((resolve) => {
      const id = msg.type === 'load' ? 'load' : next++;
      pending.set(id, resolve);
      worker.postMessage(msg.type === 'load' ? msg : { ...msg, id }, transfer);
    });
    const loaded = await ask({ type: 'load', url: '/model/encoder.onnx', modelId: 'bundled-test' });
    if (!loaded.ok) return { loaded };
    const npy = async (url) => {
      const b = await (await fetch(url)).arrayBuffer();
      const v = new DataView(b);
      const headerLen = v.getUint16(8, true);
      const header = new TextDecoder().decode(new Uint8Array(b, 10, headerLen));
      if (!header.includes("'<f4'")) throw new Error(`${url}: not float32 (${header})`);
      return new Float32Array(b, 10 + headerLen);
    };
    const out = [];
    for (const im of images) {
      const bytes = await (await fetch(im.url)).arrayBuffer();
      const first = await ask({ type: 'encode', bytes: bytes.slice(0), name: im.name });
      const again = await ask({ type: 'encode', bytes, name: im.name });
      const r = { name: im.name, ok: first.ok, error: first.error };
      if (first.ok) {
        const want = await npy(im.npy);
        let maxAbs = 0, scale = 0, same = true;
        for (let i = 0; i < want.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs(first.embedding[i] - want[i]));
          scale = Math.max(scale, Math.abs(want[i]));
          if (again.embedding[i] !== first.embedding[i]) same = false;
        }
        Object.assign(r, { maxAbs, scale, length: first.embedding.length, width: first.width, height: first.height,
          sha256: first.sha256, cached: [first.cached, again.cached], againSame: same, ms: first.ms, cacheError: first.cacheError });
      }
      out.push(r);
    }
    worker.terminate();
    return { loaded, out };
  }, { images, threads });
}

for (const isolated of [true, false]) {
  test(`encoder_worker.js equals the embedder within 1e-4 (${isolated ? 'cross-origin isolated, 2 threads' : 'plain static host, 1 thread'})`, async (t) => {
    const srv = await startStaticServer({ '/model/': MODEL, '/data/': ds, '/test/': tmp, '/': SITE }, { isolation: isolated });
    try {
      const page = await browser.open(`${srv.url}test/blank.html`);
      const images = manifest.images.map((e) => ({ name: path.basename(e.file), url: `/data/${e.file}`, npy: `/data/${e.embedding}` }));
      images.push({ name: 'broken.jpg', url: '/test/src/broken.jpg' });
      const r = await encodeAll(page, images, 2);
      assert.ok(r.loaded.ok, r.loaded.message);
      assert.match(r.loaded.message, new RegExp(`threads=${isolated ? 2 : 1}$`));
      for (const im of r.out.slice(0, -1)) {
        const entry = manifest.images.find((e) => path.basename(e.file) === im.name);
        assert.ok(im.ok, `${im.name}: ${im.error}`);
        assert.equal(im.length, 256 * 64 * 64);
        assert.ok(im.maxAbs <= 1e-4, `${im.name}: max |browser - embedder| = ${im.maxAbs} (values up to ${im.scale})`);
        assert.ok(im.scale > 0.1, `${im.name}: a flat embedding (${im.scale}) proves nothing`);
        assert.deepEqual([im.width, im.height], [entry.width, entry.height]);
        const file = path.join(ds, entry.file);
        assert.equal(im.sha256, crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'));
        assert.deepEqual(im.cached, [false, true], `${im.name}: the second request must come from IndexedDB`);
        assert.ok(im.againSame, `${im.name}: the cached embedding differs`);
        assert.equal(im.cacheError, undefined);
        t.diagnostic(`${im.name}: max abs ${im.maxAbs.toExponential(2)}, prep ${im.ms.prep.toFixed(0)} ms, encode ${im.ms.encode.toFixed(0)} ms`);
      }
      const bad = r.out.at(-1);
      assert.equal(bad.ok, false);
      assert.match(bad.error, /^broken\.jpg: truncated JPEG/);
      await page.close();
    } finally {
      await srv.close();
    }
  });
}
