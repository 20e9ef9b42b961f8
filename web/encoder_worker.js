// encoder_worker.js - in-browser encoding for small SAM encoders: the image
// encoder (ONNX) in ONNX Runtime Web off the main thread, fed by the core's own
// decode + preprocessing (sam_image_prep, the same C++ as the embedder), with the
// embeddings cached in IndexedDB under the model id and the image's SHA-256.
// Thin on purpose: it moves bytes and tensors; the core decides every pixel.
// Messages in:  {type:'load', url, modelId, warmUp?}  warmUp: a load ahead of need; one run
//               on a blank input (and the cache opened) before 'loaded', so that the first
//               image does not pay ONNX Runtime's first-run cost
//               {type:'encode', id, bytes: ArrayBuffer, name, cache?: false (neither read nor write it)}
// Messages out: {type:'loaded', ok, message}   message: "backend=ORT <v> wasm;threads=N" or the error
//               {type:'encoded', id, ok, error?, embedding: Float32Array(1*256*64*64), width, height,
//                sha256, cached, ms: {prep, encode}, cacheError?}
// Threads only when the page is cross-origin isolated (as scripts/serve makes it); ?threads=N overrides.
import * as ort from './ort.wasm.min.mjs';
import sam_image_prep_module from './sam_image_prep.mjs';

const EMBEDDING_DIMS = [1, 256, 64, 64];
const EMBEDDING_FLOATS = 256 * 64 * 64;

ort.env.wasm.wasmPaths = new URL('./', import.meta.url).href;
const askedThreads = Math.floor(Number(new URL(self.location.href).searchParams.get('threads'))) || 0;
const threads = !self.crossOriginIsolated ? 1
  : askedThreads > 0 ? Math.min(askedThreads, 16) : Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
ort.env.wasm.numThreads = threads;

let session = null, inputName = '', outputName = '', modelId = '';
const prep = sam_image_prep_module();

// ---- IndexedDB cache: {embedding, width, height} by "<model id>|<sha256>" ----
let dbPromise = null;
function cacheDb() {
  dbPromise ??= new Promise((resolve, reject) => {
    const req = indexedDB.open('sam-embeddings', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('embeddings');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return dbPromise;
}
async function cacheOp(mode, fn) {
  const db = await cacheDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction('embeddings', mode);
    const req = fn(tx.objectStore('embeddings'));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = tx.onabort = () => reject(tx.error || req.error);
  });
}
// Storage errors are DOMExceptions whose name says what happened (QuotaExceededError).
const describe = (e) => (e instanceof DOMException ? `${e.name}: ${e.message}` : e && e.message) || String(e);

async function sha256Hex(bytes) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function encode(m) {
  const bytes = new Uint8Array(m.bytes);
  const sha256 = await sha256Hex(bytes);
  const key = `${modelId}|${sha256}`;
  let cacheError;
  const useCache = m.cache !== false;
  if (useCache) try {
    const hit = await cacheOp('readonly', (s) => s.get(key));
    if (hit && hit.embedding && hit.embedding.length === EMBEDDING_FLOATS)
      return { embedding: hit.embedding, width: hit.width, height: hit.height, sha256, cached: true, ms: { prep: 0, encode: 0 } };
  } catch (e) {
    cacheError = `embedding cache not readable (${describe(e)})`;
  }
  if (!session) throw new Error('no encoder loaded');
  const mod = await prep;
  const t0 = performance.now();
  const p = mod._malloc(bytes.length), name = mod._malloc(mod.lengthBytesUTF8(m.name) + 1);
  let width, height, input;
  try {
    mod.HEAPU8.set(bytes, p);
    mod.stringToUTF8(m.name, name, mod.lengthBytesUTF8(m.name) + 1);
    if (mod._sam_prep_image(p, bytes.length, name, 0) !== 0) throw new Error(mod.UTF8ToString(mod._sam_prep_error()));
    width = mod._sam_prep_width();
    height = mod._sam_prep_height();
    const t = mod._sam_prep_tensor() >> 2;
    input = mod.HEAPF32.slice(t, t + 3 * 1024 * 1024);
  } finally {
    mod._free(p);
    mod._free(name);
  }
  const t1 = performance.now();
  const out = await session.run({ [inputName]: new ort.Tensor('float32', input, [1, 3, 1024, 1024]) }, [outputName]);
  const embedding = new Float32Array(out[outputName].data);
  const t2 = performance.now();
  if (useCache) try {
    await cacheOp('readwrite', (s) => s.put({ embedding, width, height, saved: Date.now() }, key));
  } catch (e) {
    // A full or refused quota: annotation goes on, the app reports it.
    cacheError = `embedding not cached (${describe(e)})`;
  }
  return { embedding, width, height, sha256, cached: false, ms: { prep: t1 - t0, encode: t2 - t1 }, cacheError };
}

self.onmessage = async (ev) => {
  const m = ev.data;
  if (m.type === 'load') {
    try {
      session = await ort.InferenceSession.create(m.url, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      modelId = m.modelId || m.url;
      // The embedding output: [1,256,64,64] (our exporter's image_embeddings; an export
      // with other names works when it has one image input and that output).
      inputName = session.inputNames[0];
      outputName = session.outputNames.includes('image_embeddings') ? 'image_embeddings' : session.outputNames[0];
      if (session.inputNames.length !== 1) throw new Error(`expected one image input, found ${session.inputNames.join(', ')}`);
      if (m.warmUp) {
        await session.run({ [inputName]: new ort.Tensor('float32', new Float32Array(3 * 1024 * 1024), [1, 3, 1024, 1024]) }, [outputName]);
        await prep;
        await cacheDb().catch(() => {});  // a refused store is reported by the first encode
      }
      self.postMessage({ type: 'loaded', ok: true, message: `backend=ORT ${ort.env.versions?.web || ''} wasm;threads=${threads}` });
    } catch (e) {
      session = null;
      self.postMessage({ type: 'loaded', ok: false, message: `${m.url}: ${describe(e)}` });
    }
  } else if (m.type === 'encode') {
    try {
      const r = await encode(m);
      if (r.embedding.length !== EMBEDDING_FLOATS) throw new Error(`the encoder gave ${r.embedding.length} values, expected ${EMBEDDING_DIMS.join('x')}`);
      self.postMessage({ type: 'encoded', id: m.id, ok: true, ...r }, [r.embedding.buffer]);
    } catch (e) {
      const why = describe(e);
      self.postMessage({ type: 'encoded', id: m.id, ok: false, error: why.startsWith(m.name) ? why : `${m.name}: ${why}` });
    }
  }
};
