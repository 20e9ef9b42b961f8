// decoder_worker.js - SAM's prompt encoder + mask decoder (any ONNX decoder with the
// official interface: SAM 1's, or SAM 2.1's as common SAM 2 exporters name it) in ONNX
// Runtime Web's wasm backend, off the main thread, speaking the decoder worker protocol
// (/work/notes/decoder_worker_protocol.md; the app's side is
// src/platform/web/worker_decoder.cpp, its scheduling src/app/decoder_scheduler.cpp).
// Thin on purpose: it loads the session, fetches the image's features itself by URL
// (.npy, f32 or f16, checked as the core's feature_from_npy checks them), wraps arrays
// as tensors, runs, and posts iou_predictions and low_res_masks back. Messages are
// handled one at a time in arrival order, so no result of a decode sent before an
// embedding is ever posted after it. Batches are looped here (one prompt per run).
// Embedding messages:
//   SAM 1:   {type:'embedding', id, url, name?, dtype?}  one [1,256,64,64] file -> image_embeddings
//            {type:'embedding', id, data: Float32Array(256*64*64)}  computed in the browser
//   SAM 2.1: {type:'embedding', id, urls: {image_embed: url, high_res_feats_0: url,
//            high_res_feats_1: url}, shapes: {name: [1, C, H, W]}, name?, dtype?}  one file
//            per decoder input, shapes from the dataset's model spec (name: for messages)
// The decoder's own image-side inputs must be exactly the features given (a SAM 1
// decoder with SAM 2.1 features is refused, naming both); the loaded message names them
// (`...;features=image_embed,high_res_feats_0,high_res_feats_1`). SAM 2.1's decoder has no
// orig_im_size and pads the prompt itself; the app lays the points out per family.
import * as ort from './ort.wasm.min.mjs';
import * as names from './decoder_onnx_names.js';

// ORT fetches ort-wasm-simd-threaded.{mjs,wasm} from this folder.
ort.env.wasm.wasmPaths = new URL('./', import.meta.url).href;
// Threads need cross-origin isolation (COOP/COEP); otherwise one thread. The page's
// ?threads=N (passed on in this worker's URL) overrides the default, e.g. for scripts/bench.
const askedThreads = Math.floor(Number(new URL(self.location.href).searchParams.get('threads'))) || 0;
const threads = !self.crossOriginIsolated ? 1
  : askedThreads > 0 ? Math.min(askedThreads, 16) : Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
ort.env.wasm.numThreads = threads;

const EMBEDDING_SHAPE = [1, 256, 64, 64];
let session = null;
let sessionFeatures = [];  // the decoder's image-side inputs (SAM 1: image_embeddings; SAM 2.1: three)
let features = null;       // {input name: ort.Tensor} of the current image

const DTYPES = { '<f4': 'float32', '<f2': 'float16', '<f8': 'float64', '|u1': 'uint8', '|i1': 'int8', '|b1': 'bool',
  '<i2': 'int16', '<u2': 'uint16', '<i4': 'int32', '<u4': 'uint32', '<i8': 'int64', '<u8': 'uint64' };

function shapeString(shape) { return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`; }

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
// All 65536 halves as floats: SAM 2.1's 3.7 M values per image convert by lookup.
let HALVES = null;
function halfTable() {
  if (!HALVES) {
    HALVES = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) HALVES[h] = halfToFloat(h);
  }
  return HALVES;
}

// A .npy file -> Float32Array of `shape`, or an Error naming the file and the problem
// (the same wording as the core's feature_from_npy / embedding_from_npy).
function parseFeature(buf, name, shape) {
  const expected = `${shapeString(shape)} float32 or float16`;
  const b = new Uint8Array(buf);
  const bad = (what) => new Error(`${name}: ${what}; expected a little-endian C-order ${expected} array`);
  if (b.length < 10 || b[0] !== 0x93 || String.fromCharCode(...b.subarray(1, 6)) !== 'NUMPY') return bad('not a .npy file (missing \\x93NUMPY magic)');
  const major = b[6];
  const dv = new DataView(buf);
  const headerLen = major === 1 ? dv.getUint16(8, true) : b.length >= 12 ? dv.getUint32(8, true) : -1;
  const start = major === 1 ? 10 : 12;
  if (major < 1 || major > 3) return bad(`unsupported .npy format version ${major}.${b[7]}`);
  if (headerLen < 0 || start + headerLen > b.length) return bad('truncated .npy header');
  const header = new TextDecoder('latin1').decode(b.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header), order = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !order || !shapeM) return bad('.npy header lacks descr, fortran_order or shape');
  const got = shapeM[1].split(',').map((x) => x.trim()).filter((x) => x.length).map(Number);
  const dtype = DTYPES[descr[1]];
  if (!dtype) return bad(`dtype ${descr[1]}${descr[1][0] === '>' ? ' (big-endian)' : ''} is not supported`);
  if (got.join() !== shape.join() || (dtype !== 'float32' && dtype !== 'float16'))
    return new Error(`${name}: shape ${shapeString(got)} ${dtype}, expected ${expected}`);
  if (order[1] === 'True') return bad('Fortran-order arrays are not supported (expected C order)');
  const n = shape.reduce((a, d) => a * d, 1), size = dtype === 'float32' ? 4 : 2, dataStart = start + headerLen;
  if (b.length - dataStart < n * size) return bad(`truncated data (${b.length - dataStart} bytes, expected ${n * size})`);
  const out = new Float32Array(n);
  if (size === 4) {
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(dataStart + 4 * i, true);
  } else {
    const table = halfTable();
    for (let i = 0; i < n; i++) out[i] = table[dv.getUint16(dataStart + 2 * i, true)];
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(out[i])) {
      const at = [];
      for (let k = shape.length - 1, rest = i; k >= 0; k--) { at.unshift(rest % shape[k]); rest = Math.floor(rest / shape[k]); }
      return new Error(`${name}: embedding holds ${Number.isNaN(out[i]) ? 'NaN' : 'Inf'} at [${at.join(', ')}] (corrupt embedding)`);
    }
  }
  return out;
}

async function load(m) {
  try {
    const s = await ort.InferenceSession.create(m.url, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    // SAM 2.1 when it takes any of SAM 2.1's features, else SAM 1 (the official names).
    const family = names.SAM2_1_FEATURES.some((n) => s.inputNames.includes(n)) ? names.SAM2_1_FEATURES : names.SAM1_FEATURES;
    const missing = [
      ...[...family, ...names.PROMPT_INPUTS].filter((n) => !s.inputNames.includes(n)).map((n) => `input ${n}`),
      ...names.REQUIRED_OUTPUTS.filter((n) => !s.outputNames.includes(n)).map((n) => `output ${n}`)];
    if (missing.length) throw new Error(`not a SAM decoder (missing ${missing.join(', ')})`);
    session = s;
    sessionFeatures = family;
    features = null;
    const meta = (s.outputMetadata || []).find((o) => o && o.name === names.LOW_RES_MASKS);
    const k = meta && meta.shape && typeof meta.shape[1] === 'number' ? meta.shape[1] : 0;
    const variant = s.outputNames.includes(names.MASKS) ? 'official (with masks)' : 'fast (low-res only)';
    self.postMessage({ type: 'loaded', ok: true, message: `backend=ORT ${ort.env.versions?.web || ''} wasm;threads=${threads};outputs=${k};variant=${variant};features=${family.join(',')}` });
  } catch (e) {
    const msg = String(e && e.message || e);
    self.postMessage({ type: 'loaded', ok: false, message: msg.includes(m.url) ? msg : `${m.url}: ${msg}` });
  }
}

async function fetchFeature(url, name, shape) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${r.statusText}`);
  const data = parseFeature(await r.arrayBuffer(), name, shape);
  if (data instanceof Error) throw data;
  return new ort.Tensor('float32', data, shape);
}

async function setImage(m) {
  features = null;
  const name = m.name || m.url || 'embedding';
  try {
    let given;
    if (m.urls) {
      const inputs = Object.keys(m.urls);
      const tensors = await Promise.all(inputs.map((k) => fetchFeature(m.urls[k], m.urls[k], (m.shapes || {})[k] || [])));
      given = Object.fromEntries(inputs.map((k, i) => [k, tensors[i]]));
    } else if (m.data) {
      if (m.data.length !== 256 * 64 * 64) throw new Error(`${name}: ${m.data.length} floats, expected ${shapeString(EMBEDDING_SHAPE)} float32 or float16`);
      given = { [names.IMAGE_EMBEDDINGS]: new ort.Tensor('float32', m.data, EMBEDDING_SHAPE) };
    } else {
      given = { [names.IMAGE_EMBEDDINGS]: await fetchFeature(m.url, name, EMBEDDING_SHAPE) };
    }
    const have = Object.keys(given).sort().join(', '), want = [...sessionFeatures].sort().join(', ');
    if (session && have !== want) throw new Error(`${name}: the image's features are ${have}, but the decoder takes ${want} (a decoder of another model family?)`);
    features = given;
    self.postMessage({ type: 'embedding', id: m.id, ok: true, message: '' });
  } catch (e) {
    self.postMessage({ type: 'embedding', id: m.id, ok: false, message: String(e && e.message || e) });
  }
}

// One decode: {iou, lowRes, ms}.
async function run(pointCoords, pointLabels, maskInput, origImSize) {
  if (!session || !features) throw new Error('decoder or embedding not loaded');
  const n = pointLabels.length;
  const feeds = {
    ...features,
    [names.POINT_COORDS]: new ort.Tensor('float32', pointCoords, [1, n, 2]),
    [names.POINT_LABELS]: new ort.Tensor('float32', pointLabels, [1, n]),
    [names.MASK_INPUT]: new ort.Tensor('float32', maskInput || new Float32Array(256 * 256), [1, 1, 256, 256]),
    [names.HAS_MASK_INPUT]: new ort.Tensor('float32', new Float32Array([maskInput ? 1 : 0]), [1]),
  };
  // The official SAM 1 export requires orig_im_size even though only low_res_masks is used.
  if (session.inputNames.includes(names.ORIG_IM_SIZE)) feeds[names.ORIG_IM_SIZE] = new ort.Tensor('float32', origImSize, [2]);
  const t0 = performance.now();
  const out = await session.run(feeds, [names.IOU_PREDICTIONS, names.LOW_RES_MASKS]);
  return { iou: new Float32Array(out[names.IOU_PREDICTIONS].data), lowRes: new Float32Array(out[names.LOW_RES_MASKS].data), ms: performance.now() - t0 };
}

async function decode(m) {
  try {
    const r = await run(m.pointCoords, m.pointLabels, m.maskInput, m.origImSize);
    self.postMessage({ type: 'result', id: m.id, iou: r.iou, lowRes: r.lowRes, ms: r.ms }, [r.iou.buffer, r.lowRes.buffer]);
  } catch (e) {
    self.postMessage({ type: 'result', id: m.id, error: String(e && e.message || e) });
  }
}

// The prompts one run each; posted in parts of 4 so the page can show progress.
async function batch(m) {
  const B = m.prompts.length, PART = 4;
  for (let offset = 0; offset < B || offset === 0; offset += PART) {
    const count = Math.min(PART, B - offset);
    try {
      let k = 0, ms = 0;
      const ious = [], lows = [];
      for (let i = offset; i < offset + count; i++) {
        const p = m.prompts[i];
        const r = await run(p.pointCoords, p.pointLabels, null, m.origImSize || new Float32Array([1024, 1024]));
        const K = r.iou.length;
        // single-mask jobs (box prompts) take output 0 only
        k = m.multimask ? K : 1;
        ious.push(r.iou.subarray(0, k));
        lows.push(r.lowRes.subarray(0, k * 65536));
        ms += r.ms;
      }
      const iou = new Float32Array(count * k), lowRes = new Float32Array(count * k * 65536);
      ious.forEach((v, i) => iou.set(v, i * k));
      lows.forEach((v, i) => lowRes.set(v, i * k * 65536));
      const done = offset + count >= B;
      self.postMessage({ type: 'batch_result', id: m.id, offset, count, k, iou, lowRes, ms, done }, [iou.buffer, lowRes.buffer]);
      if (B === 0) break;
    } catch (e) {
      self.postMessage({ type: 'batch_result', id: m.id, offset, count, k: 0, ms: 0, done: true, error: String(e && e.message || e) });
      return;
    }
  }
}

const handlers = { load, embedding: setImage, decode, batch };
let chain = Promise.resolve();
self.onmessage = (ev) => {
  const m = ev.data, h = m && handlers[m.type];
  if (h) chain = chain.then(() => h(m));
};
