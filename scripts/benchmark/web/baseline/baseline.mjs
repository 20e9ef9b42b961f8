// baseline.mjs - the official segment-anything web demo's click-to-mask pipeline
// (demo/src: App.tsx, Stage.tsx, Tool.tsx, helpers/onnxModelAPI.tsx,
// helpers/maskUtils.tsx), without React, as scripts/bench's baseline:
//   mousemove on the <img> -> one positive click in image pixels -> ONNX Runtime Web on
//   the MAIN thread runs the official decoder (return_single_mask: one full-resolution
//   `masks` output) -> every logit > 0 becomes a blue RGBA pixel in an ImageData ->
//   putImageData on a canvas -> canvas.toDataURL() (PNG) -> new Image -> shown as an
//   <img> over the photo.
// "Mask drawn" = the mask <img> decoded and set, the frame that paints it, and the next
// animation frame (by then that frame has been produced; ours is timed the same way).
// window.baseline = { ready, arm() -> Promise<timing of the next mask drawn>, info }.
const params = new URLSearchParams(location.search);
const threads = Number(params.get('threads') || 1);
const ort = await import(params.get('ort'));
ort.env.wasm.wasmPaths = new URL('./', new URL(params.get('ort'), location.href)).href;
ort.env.wasm.numThreads = threads;
// The demo keeps ORT on the page's main thread (no proxy worker).
ort.env.wasm.proxy = false;

const imageEl = document.getElementById('image');
const maskEl = document.getElementById('mask');
let armed = null;  // {resolve} of the timing promise for the next mask

// npyjs stand-in: little-endian float32, C order, .npy version 1 or 2.
function parse_npy(buf) {
  const u8 = new Uint8Array(buf);
  const major = u8[6];
  const hlen = major === 1 ? new DataView(buf).getUint16(8, true) : new DataView(buf).getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(u8.subarray(hstart, hstart + hlen));
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) throw new Error(`npy: unsupported header ${header}`);
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  return { data: new Float32Array(buf.slice(hstart + hlen)), shape };
}

// helpers/scaleHelper.tsx
function handle_image_scale(w, h) {
  const LONG_SIDE_LENGTH = 1024;
  return { height: h, width: w, samScale: LONG_SIDE_LENGTH / Math.max(h, w) };
}

// helpers/onnxModelAPI.tsx modelData(): clicks plus the (0,0) label -1 padding point.
function model_data(clicks, tensor, scale) {
  const n = clicks.length;
  const pointCoords = new Float32Array(2 * (n + 1));
  const pointLabels = new Float32Array(n + 1);
  for (let i = 0; i < n; i++) {
    pointCoords[2 * i] = clicks[i].x * scale.samScale;
    pointCoords[2 * i + 1] = clicks[i].y * scale.samScale;
    pointLabels[i] = clicks[i].clickType;
  }
  pointCoords[2 * n] = 0.0;
  pointCoords[2 * n + 1] = 0.0;
  pointLabels[n] = -1.0;
  return {
    image_embeddings: tensor,
    point_coords: new ort.Tensor('float32', pointCoords, [1, n + 1, 2]),
    point_labels: new ort.Tensor('float32', pointLabels, [1, n + 1]),
    orig_im_size: new ort.Tensor('float32', [scale.height, scale.width]),
    mask_input: new ort.Tensor('float32', new Float32Array(256 * 256), [1, 1, 256, 256]),
    has_mask_input: new ort.Tensor('float32', [0]),
  };
}

// helpers/maskUtils.tsx onnxMaskToImage()
function array_to_image_data(input, width, height) {
  const [r, g, b, a] = [0, 114, 189, 255];
  const arr = new Uint8ClampedArray(4 * width * height).fill(0);
  for (let i = 0; i < input.length; i++) {
    if (input[i] > 0.0) {
      arr[4 * i + 0] = r;
      arr[4 * i + 1] = g;
      arr[4 * i + 2] = b;
      arr[4 * i + 3] = a;
    }
  }
  return new ImageData(arr, width, height);
}
function image_data_to_image(imageData) {
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d');
  canvas.width = imageData.width;
  canvas.height = imageData.height;
  ctx.putImageData(imageData, 0, 0);
  const image = new Image();
  image.src = canvas.toDataURL();
  return image;
}

const next_frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now())));

async function load() {
  const manifestUrl = new URL(params.get('manifest'), location.href);
  const manifest = await (await fetch(manifestUrl)).json();
  const entry = manifest.images[0];
  const [session, npy] = await Promise.all([
    ort.InferenceSession.create(params.get('model'), { executionProviders: ['wasm'] }),
    fetch(new URL(entry.embedding, manifestUrl)).then((r) => r.arrayBuffer()).then(parse_npy),
    new Promise((resolve, reject) => {
      imageEl.onload = resolve;
      imageEl.onerror = () => reject(new Error(`image ${entry.file} did not load`));
      imageEl.src = new URL(entry.file, manifestUrl).href;
    }),
  ]);
  const tensor = new ort.Tensor('float32', npy.data, npy.shape);
  const scale = handle_image_scale(imageEl.naturalWidth, imageEl.naturalHeight);
  // Tool.tsx fitToPage(): fit to width when the image is wider than the page.
  const fitWidth = scale.width / scale.height > window.innerWidth / window.innerHeight;
  for (const el of [imageEl, maskEl]) el.className = fitWidth ? 'fit-width' : 'fit-height';

  let busy = Promise.resolve();
  async function run_onnx(clicks, t_event) {
    const t0 = performance.now();
    const feeds = model_data(clicks, tensor, scale);
    const results = await session.run(feeds);
    const output = results[session.outputNames[0]];
    const t1 = performance.now();
    const maskImg = image_data_to_image(array_to_image_data(output.data, output.dims[3], output.dims[2]));
    const t2 = performance.now();
    // React re-renders <img src={maskImg.src}>; the mask is on screen once that image
    // is decoded and a frame has been produced.
    maskEl.src = maskImg.src;
    maskEl.hidden = false;
    await maskEl.decode();
    const t3 = await next_frame();  // the frame that paints the mask starts
    const t4 = await next_frame();  // ... and has been produced
    const timing = {
      click_to_mask_ms: t4 - t_event, to_mask_frame_ms: t3 - t_event, decode_ms: t1 - t0, to_image_ms: t2 - t1,
      show_ms: t4 - t2, handler_delay_ms: t0 - t_event, mask_w: output.dims[3], mask_h: output.dims[2], t_shown: t4,
    };
    if (armed) { armed.resolve(timing); armed = null; }
  }
  // Stage.tsx handleMouseMove: client position -> natural image pixels.
  imageEl.addEventListener('mousemove', (e) => {
    const rect = imageEl.getBoundingClientRect();
    const imageScale = imageEl.naturalWidth / imageEl.offsetWidth;
    const x = (e.clientX - rect.left) * imageScale;
    const y = (e.clientY - rect.top) * imageScale;
    const t_event = e.timeStamp;
    busy = busy.then(() => run_onnx([{ x, y, clickType: 1 }], t_event)).catch((err) => console.error(err));
  });
  return {
    threads, crossOriginIsolated: self.crossOriginIsolated, inputs: session.inputNames, outputs: session.outputNames,
    image: { width: scale.width, height: scale.height }, ort_version: ort.env.versions?.web || '',
  };
}

window.baseline = {
  ready: load().then((info) => { window.baseline.info = info; return info; }),
  // Resolves with the timing of the next mask drawn; call before moving the mouse.
  arm() { return new Promise((resolve) => { armed = { resolve }; }); },
  // Where image pixel (x, y) is on the page, for the driver's mouse.
  client_point(x, y) {
    const rect = imageEl.getBoundingClientRect();
    const s = imageEl.offsetWidth / imageEl.naturalWidth;
    return { x: rect.left + x * s, y: rect.top + y * s };
  },
};
