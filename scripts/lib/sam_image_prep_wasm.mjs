// sam_image_prep_wasm.mjs - the image-preparation module of in-browser encoding (the one
// web/encoder_worker.js runs: the core's decode + EXIF + SAM preprocessing, compiled to
// WebAssembly) loaded in Node, for tests and benchmarks:
//   const prep = await load_image_prep_wasm();   // build/wasm/src/platform/web/encoder_worker
//   const { tensor /* Float32Array 3x1024x1024 */, width, height, input_h, input_w, ms } = prep.prepare(bytes, 'a.jpg');
// Errors throw with the core's message (which names the file and the problem).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const IMAGE_PREP_DIR = path.join(repo, 'build/wasm/src/platform/web/encoder_worker');

export async function load_image_prep_wasm({ dir = IMAGE_PREP_DIR } = {}) {
    const js = path.join(dir, 'sam_image_prep.mjs');
    if (!fs.existsSync(js)) throw new Error(`${js} not found: build it with scripts/build-wasm`);
    // Emscripten 3.1.6's Node path in an ES module reads the CommonJS globals require and __dirname.
    globalThis.require ??= createRequire(import.meta.url);
    globalThis.__dirname ??= dir;
    const { default: factory } = await import(js);
    const m = await factory({ wasmBinary: fs.readFileSync(path.join(dir, 'sam_image_prep.wasm')) });
    return {
        prepare(bytes, name, { max_pixels = 0 } = {}) {
            const p = m._malloc(Math.max(1, bytes.length));
            m.HEAPU8.set(bytes, p);
            const n = m.lengthBytesUTF8(name) + 1, pn = m._malloc(n);
            m.stringToUTF8(name, pn, n);
            const t0 = performance.now();
            const rc = m._sam_prep_image(p, bytes.length, pn, max_pixels);
            const ms = performance.now() - t0;
            m._free(p);
            m._free(pn);
            if (rc !== 0) throw new Error(m.UTF8ToString(m._sam_prep_error()));
            const t = m._sam_prep_tensor() >> 2;
            return {
                tensor: m.HEAPF32.slice(t, t + 3 * 1024 * 1024), width: m._sam_prep_width(), height: m._sam_prep_height(),
                input_h: m._sam_prep_input_h(), input_w: m._sam_prep_input_w(), ms,
            };
        },
    };
}
