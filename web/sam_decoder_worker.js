// sam_decoder_worker.js - the C++ decoder's worker: runs our own WebAssembly module
// (src/platform/web/decoder_worker, core/sam_decoder.h) off the main thread and speaks the
// decoder worker protocol (the same messages as decoder_worker.js, the ONNX Runtime one):
//   in:  {type:'load', url} | {type:'embedding', id, url, dtype?} | {type:'embedding', id, data}
//        | {type:'embedding', id, urls: {image_embed, high_res_feats_0, high_res_feats_1}, shapes?, name?}
//          (SAM 2.1 weights: one .npy per feature, as web/decoder_worker.js takes them)
//        | {type:'decode', id, pointCoords, pointLabels, maskInput|null, origImSize}
//        | {type:'batch', id, prompts:[{pointCoords, pointLabels}], multimask}
//   out: {type:'loaded', ok, message} | {type:'embedding', id, ok, message}
//        | {type:'result', id, iou, lowRes, ms, error?} | {type:'batch_result', id, offset, count, k,
//          iou, lowRes, ms, done, error?}
// Points are in the 1024 frame; SAM: with the padding point already added; SAM 2.1 (the
// weights file says the family; the loaded message then ends ';family=sam2.1'): without it, the
// decoder pads as SAM 2.1's decoder.onnx does. K = 4 (0 single-mask,
// 1-3 multimask) for every decode and batch. Threads: the -pthread build with N threads when
// the page is cross-origin isolated (?threads=N overrides the default), else the
// single-threaded build. Messages are handled one at a time in order (downloads start at
// once), so a decode sent after an embedding always sees that embedding. Works as a classic
// or a module worker.
'use strict';

const params = new URL(self.location.href).searchParams;
const askedThreads = Math.floor(Number(params.get('threads'))) || 0;
const wantedThreads = !self.crossOriginIsolated ? 1
  : askedThreads > 0 ? Math.min(askedThreads, 16) : Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
const BATCH_CHUNK = 4;  // prompts per batch_result message (progress)

let mod = null;        // the Emscripten module
let handle = 0;
let threads = 1;
let buffers = null;    // heap scratch: {coords, labels, mask, iou, masks, capacityPoints}
let outputs = 0, maskCount = 0, family = -1;  // family: 0 SAM, 1 SAM 2.1
const SAM2_FEATURES = ['image_embed', 'high_res_feats_0', 'high_res_feats_1'];

async function startModule() {
  const attempt = async (flavour, n) => {
    const url = new URL(`sam_decoder_${flavour}.mjs`, self.location.href).href;
    try {
      const { default: factory } = await import(url);
      const m = await factory({ samPoolSize: Math.max(1, n - 1) });
      const h = m._sam_decoder_create(n);
      return { m, h, n: m._sam_decoder_threads(h) };
    } catch (e) {
      throw new Error(`${url}: ${e && e.message || e}`);
    }
  };
  let r;
  if (wantedThreads > 1) {
    try { r = await attempt('mt', wantedThreads); } catch (e) { r = null; }  // e.g. no SharedArrayBuffer
  }
  if (!r) r = await attempt('st', 1);
  mod = r.m;
  handle = r.h;
  threads = r.n;
}

function heapString(s) {
  const n = mod.lengthBytesUTF8(s) + 1;
  const p = mod._malloc(n);
  mod.stringToUTF8(s, p, n);
  return p;
}

function heapBytes(bytes) {
  const p = mod._malloc(Math.max(1, bytes.length));
  mod.HEAPU8.set(bytes, p);
  return p;
}

function lastError() { return mod.UTF8ToString(mod._sam_decoder_error(handle)); }

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

function ensureBuffers(points) {
  if (buffers && buffers.capacityPoints >= points) return;
  if (buffers) for (const k of ['coords', 'labels', 'mask', 'iou', 'masks']) mod._free(buffers[k]);
  const cap = Math.max(points, 16);
  buffers = {
    capacityPoints: cap,
    coords: mod._malloc(8 * cap), labels: mod._malloc(4 * cap), mask: mod._malloc(4 * maskCount),
    iou: mod._malloc(4 * outputs), masks: mod._malloc(4 * outputs * maskCount),
  };
}

async function load(m) {
  try {
    if (!mod) await startModule();
    const bytes = await m.bytes;
    const pb = heapBytes(bytes), pn = heapString(m.url);
    const rc = mod._sam_decoder_load(handle, pb, bytes.length, pn);
    mod._free(pb);
    mod._free(pn);
    if (rc !== 0) throw new Error(lastError());
    outputs = mod._sam_decoder_num_outputs(handle);
    maskCount = mod._sam_decoder_mask_count(handle);
    family = mod._sam_decoder_family(handle);
    if (buffers) { for (const k of ['coords', 'labels', 'mask', 'iou', 'masks']) mod._free(buffers[k]); buffers = null; }
    self.postMessage({ type: 'loaded', ok: true,
      message: `backend=C++ wasm SIMD;threads=${threads};outputs=${outputs}${family === 1 ? ';family=sam2.1' : ''}` });
  } catch (e) {
    const text = String(e && e.message || e);
    self.postMessage({ type: 'loaded', ok: false, message: text.startsWith(m.url) ? text : `${m.url}: ${text}` });
  }
}

async function embedding(m) {
  try {
    if (!handle || !outputs) throw new Error('no decoder weights loaded');
    let rc;
    if (m.urls) {
      if (family !== 1) throw new Error(`${m.name || 'embedding'}: SAM 2.1 features (${Object.keys(m.urls).join(', ')}) for a SAM decoder`);
      const files = await m.bytes;
      rc = 0;
      for (let i = 0; i < SAM2_FEATURES.length && rc === 0; i++) {
        const f = SAM2_FEATURES[i], url = m.urls[f];
        if (!url) throw new Error(`${m.name || 'embedding'}: no ${f} file (the SAM 2.1 decoder takes ${SAM2_FEATURES.join(', ')})`);
        const bytes = files[i];
        const pb = heapBytes(bytes), pn = heapString(url);
        rc = mod._sam_decoder_set_feature_npy(handle, i, pb, bytes.length, pn);
        mod._free(pb);
        mod._free(pn);
      }
      if (rc === 0) rc = mod._sam_decoder_set_features(handle);
    } else if (m.url) {
      const bytes = await m.bytes;
      const pb = heapBytes(bytes), pn = heapString(m.url);
      rc = mod._sam_decoder_set_image_npy(handle, pb, bytes.length, pn);
      mod._free(pb);
      mod._free(pn);
    } else {
      const data = m.data instanceof Float32Array ? m.data : new Float32Array(m.data);
      const p = mod._malloc(4 * data.length);
      mod.HEAPF32.set(data, p >> 2);
      rc = mod._sam_decoder_set_image(handle, p, data.length);
      mod._free(p);
    }
    if (rc !== 0) throw new Error(lastError());
    self.postMessage({ type: 'embedding', id: m.id, ok: true, message: '' });
  } catch (e) {
    const text = String(e && e.message || e);
    self.postMessage({ type: 'embedding', id: m.id, ok: false,
      message: m.url && !text.startsWith(m.url) ? `${m.url}: ${text}` : text });
  }
}

function writePrompt(pointCoords, pointLabels, at) {
  mod.HEAPF32.set(pointCoords, (buffers.coords >> 2) + 2 * at);
  mod.HEAPF32.set(pointLabels, (buffers.labels >> 2) + at);
}

function decode(m) {
  try {
    if (!handle || !outputs) throw new Error('no decoder weights loaded');
    const n = m.pointLabels.length;
    if (m.pointCoords.length !== 2 * n) throw new Error(`pointCoords has ${m.pointCoords.length} values for ${n} labels`);
    ensureBuffers(n);
    writePrompt(m.pointCoords, m.pointLabels, 0);
    let mask = 0;
    if (m.maskInput && m.hasMaskInput !== 0) {
      if (m.maskInput.length !== maskCount) throw new Error(`maskInput has ${m.maskInput.length} values, expected ${maskCount}`);
      mod.HEAPF32.set(m.maskInput, buffers.mask >> 2);
      mask = buffers.mask;
    }
    const t0 = performance.now();
    const rc = mod._sam_decoder_predict(handle, buffers.coords, buffers.labels, n, mask, buffers.iou, buffers.masks);
    const ms = performance.now() - t0;
    if (rc !== 0) throw new Error(lastError());
    const iou = mod.HEAPF32.slice(buffers.iou >> 2, (buffers.iou >> 2) + outputs);
    const lowRes = mod.HEAPF32.slice(buffers.masks >> 2, (buffers.masks >> 2) + outputs * maskCount);
    self.postMessage({ type: 'result', id: m.id, iou, lowRes, ms }, [iou.buffer, lowRes.buffer]);
  } catch (e) {
    self.postMessage({ type: 'result', id: m.id, error: String(e && e.message || e) });
  }
}

function batch(m) {
  const prompts = m.prompts || [];
  try {
    if (!handle || !outputs) throw new Error('no decoder weights loaded');
    if (prompts.length === 0) {
      self.postMessage({ type: 'batch_result', id: m.id, offset: 0, count: 0, k: outputs, iou: new Float32Array(0),
        lowRes: new Float32Array(0), ms: 0, done: true });
      return;
    }
    for (let offset = 0; offset < prompts.length; offset += BATCH_CHUNK) {
      const part = prompts.slice(offset, offset + BATCH_CHUNK);
      part.forEach((p, i) => {
        if (!p || !p.pointLabels || !p.pointCoords || p.pointCoords.length !== 2 * p.pointLabels.length)
          throw new Error(`prompt ${offset + i}: pointCoords must hold 2 values per pointLabels entry`);
      });
      const total = part.reduce((s, p) => s + p.pointLabels.length, 0);
      ensureBuffers(total);
      const counts = mod._malloc(4 * part.length);
      const masks = mod._malloc(4 * part.length * outputs * maskCount), iouP = mod._malloc(4 * part.length * outputs);
      let at = 0;
      part.forEach((p, i) => {
        writePrompt(p.pointCoords, p.pointLabels, at);
        mod.HEAP32[(counts >> 2) + i] = p.pointLabels.length;
        at += p.pointLabels.length;
      });
      const t0 = performance.now();
      const rc = mod._sam_decoder_predict_batch(handle, buffers.coords, buffers.labels, counts, part.length, iouP, masks);
      const ms = performance.now() - t0;
      const error = rc !== 0 ? lastError() : undefined;
      const iou = mod.HEAPF32.slice(iouP >> 2, (iouP >> 2) + part.length * outputs);
      const lowRes = mod.HEAPF32.slice(masks >> 2, (masks >> 2) + part.length * outputs * maskCount);
      mod._free(counts);
      mod._free(masks);
      mod._free(iouP);
      const done = error !== undefined || offset + part.length >= prompts.length;
      self.postMessage({ type: 'batch_result', id: m.id, offset, count: part.length, k: outputs, iou, lowRes, ms, done,
        ...(error ? { error } : {}) }, [iou.buffer, lowRes.buffer]);
      if (error) return;
    }
  } catch (e) {
    self.postMessage({ type: 'batch_result', id: m.id, offset: 0, count: 0, k: outputs, iou: new Float32Array(0),
      lowRes: new Float32Array(0), ms: 0, done: true, error: String(e && e.message || e) });
  }
}

let queue = Promise.resolve();
self.onmessage = (ev) => {
  const m = ev.data;
  // Downloads start as the message arrives (the weights and the first embedding load
  // together); their use still waits its turn.
  if ((m.type === 'load' || m.type === 'embedding') && m.url) {
    m.bytes = fetchBytes(m.url);
    m.bytes.catch(() => {});
  } else if (m.type === 'embedding' && m.urls) {
    m.bytes = Promise.all(SAM2_FEATURES.map((f) => (m.urls[f] ? fetchBytes(m.urls[f]) : Promise.resolve(new Uint8Array(0)))));
    m.bytes.catch(() => {});
  }
  queue = queue.then(async () => {
    if (m.type === 'load') await load(m);
    else if (m.type === 'embedding') await embedding(m);
    else if (m.type === 'decode') decode(m);
    else if (m.type === 'batch') batch(m);
  });
};
