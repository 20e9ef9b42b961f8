// decoder_worker.js - runs the SAM prompt encoder + mask decoder (ONNX) with
// ONNX Runtime Web's wasm backend, off the main thread. Thin on purpose: it
// creates the session, wraps the arrays it receives as tensors, runs, and
// posts iou_predictions and low_res_masks back. Which request runs (latest
// wins) and everything about masks is decided in C++ (worker_decoder.cpp).
// Messages in:  {type:'load', url} | {type:'embedding', data: Float32Array(1*256*64*64)}
//               | {type:'decode', id, pointCoords, pointLabels, maskInput, hasMaskInput, origImSize}
// Messages out: {type:'loaded', ok, message} | {type:'result', id, iou, lowRes, ms, error?}
import * as ort from './ort.wasm.min.mjs';

// ORT fetches ort-wasm-simd-threaded.{mjs,wasm} from this folder.
ort.env.wasm.wasmPaths = new URL('./', import.meta.url).href;
// Threads need cross-origin isolation (COOP/COEP); otherwise one thread. The page's
// ?threads=N (passed on in this worker's URL) overrides the default, e.g. for scripts/bench.
const askedThreads = Math.floor(Number(new URL(self.location.href).searchParams.get('threads'))) || 0;
const threads = !self.crossOriginIsolated ? 1
  : askedThreads > 0 ? Math.min(askedThreads, 16) : Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
ort.env.wasm.numThreads = threads;

let session = null;
let embedding = null;

self.onmessage = async (ev) => {
  const m = ev.data;
  if (m.type === 'load') {
    try {
      session = await ort.InferenceSession.create(m.url, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const message = `inputs=${session.inputNames.join(',')};outputs=${session.outputNames.join(',')};` +
        `threads=${threads};backend=ORT ${ort.env.versions?.web || ''} wasm`;
      self.postMessage({ type: 'loaded', ok: true, message });
    } catch (e) {
      self.postMessage({ type: 'loaded', ok: false, message: `${m.url}: ${e && e.message || e}` });
    }
  } else if (m.type === 'embedding') {
    embedding = new ort.Tensor('float32', m.data, [1, 256, 64, 64]);
  } else if (m.type === 'decode') {
    try {
      if (!session || !embedding) throw new Error('decoder or embedding not loaded');
      const n = m.pointLabels.length;
      const feeds = {
        image_embeddings: embedding,
        point_coords: new ort.Tensor('float32', m.pointCoords, [1, n, 2]),
        point_labels: new ort.Tensor('float32', m.pointLabels, [1, n]),
        mask_input: new ort.Tensor('float32', m.maskInput, [1, 1, 256, 256]),
        has_mask_input: new ort.Tensor('float32', new Float32Array([m.hasMaskInput]), [1]),
      };
      // The official export requires orig_im_size even though only low_res_masks is used.
      if (session.inputNames.includes('orig_im_size')) feeds.orig_im_size = new ort.Tensor('float32', m.origImSize, [2]);
      const t0 = performance.now();
      const out = await session.run(feeds, ['iou_predictions', 'low_res_masks']);
      const ms = performance.now() - t0;
      const iou = new Float32Array(out.iou_predictions.data);
      const lowRes = new Float32Array(out.low_res_masks.data);
      self.postMessage({ type: 'result', id: m.id, iou, lowRes, ms }, [iou.buffer, lowRes.buffer]);
    } catch (e) {
      self.postMessage({ type: 'result', id: m.id, error: String(e && e.message || e) });
    }
  }
};
