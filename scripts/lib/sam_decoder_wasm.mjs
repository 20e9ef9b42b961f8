// sam_decoder_wasm.mjs - the C++ decoder's WebAssembly module (the one web/sam_decoder_worker.js
// runs in the browser) loaded in Node, for tests and benchmarks:
//   const dec = await load_decoder_wasm({ threads: 1 });   // build/wasm/.../sam_decoder_st
//   dec.load(bytes, 'decoder.samw'); dec.set_image_npy(npyBytes, 'a.npy');
//   const { iou, lowRes, ms } = dec.predict(coords /* Float32Array 2N, 1024 frame */, labels, maskOrNull);
// SAM 2.1 weights (dec.family === 1): dec.set_features_npy({image_embed, high_res_feats_0,
// high_res_feats_1} /* .npy bytes each */, name) instead of set_image_npy; predict adds the
// padding point itself.
// Errors throw with the module's message (which names the file and the problem).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const WASM_DIR = path.join(repo, 'build/wasm/src/platform/web/decoder_worker');
export const SAM2_FEATURES = ['image_embed', 'high_res_feats_0', 'high_res_feats_1'];

export async function load_decoder_wasm({ threads = 1, dir = WASM_DIR } = {}) {
    const flavour = threads > 1 ? 'mt' : 'st';
    const js = path.join(dir, `sam_decoder_${flavour}.mjs`);
    if (!fs.existsSync(js)) throw new Error(`${js} not found: build it with scripts/build-wasm`);
    // Emscripten 3.1.6's Node path in an ES module reads the CommonJS globals require and __dirname.
    globalThis.require ??= createRequire(import.meta.url);
    globalThis.__dirname ??= dir;
    const { default: factory } = await import(js);
    const m = await factory({ wasmBinary: fs.readFileSync(path.join(dir, `sam_decoder_${flavour}.wasm`)),
                              samPoolSize: Math.max(1, threads - 1) });
    const h = m._sam_decoder_create(threads);
    const error = () => m.UTF8ToString(m._sam_decoder_error(h));
    const withBytes = (bytes, name, fn) => {
        const p = m._malloc(Math.max(1, bytes.length));
        m.HEAPU8.set(bytes, p);
        const n = m.lengthBytesUTF8(name) + 1, pn = m._malloc(n);
        m.stringToUTF8(name, pn, n);
        const rc = fn(p, bytes.length, pn);
        m._free(p);
        m._free(pn);
        if (rc !== 0) throw new Error(error());
    };
    let k = 0, maskCount = 0, family = -1;
    return {
        threads: m._sam_decoder_threads(h),
        get outputs() { return k; },
        get family() { return family; },
        load(bytes, name) {
            family = -1;
            withBytes(bytes, name, (p, n, pn) => m._sam_decoder_load(h, p, n, pn));
            k = m._sam_decoder_num_outputs(h);
            maskCount = m._sam_decoder_mask_count(h);
            family = m._sam_decoder_family(h);
        },
        set_image_npy(bytes, name) { withBytes(bytes, name, (p, n, pn) => m._sam_decoder_set_image_npy(h, p, n, pn)); },
        set_features_npy(files, name = '') {
            SAM2_FEATURES.forEach((f, i) => {
                if (!files[f]) throw new Error(`${name ? name + ': ' : ''}${f} missing`);
                withBytes(files[f], name ? `${name}.${f}` : f, (p, n, pn) => m._sam_decoder_set_feature_npy(h, i, p, n, pn));
            });
            if (m._sam_decoder_set_features(h) !== 0) throw new Error(error());
        },
        predict(coords, labels, mask = null) {
            const n = labels.length;
            const pc = m._malloc(8 * n + 8), pl = m._malloc(4 * n + 4), piou = m._malloc(4 * k);
            const pm = m._malloc(4 * k * maskCount), pmask = mask ? m._malloc(4 * maskCount) : 0;
            m.HEAPF32.set(coords, pc >> 2);
            m.HEAPF32.set(labels, pl >> 2);
            if (mask) m.HEAPF32.set(mask, pmask >> 2);
            const t0 = performance.now();
            const rc = m._sam_decoder_predict(h, pc, pl, n, pmask, piou, pm);
            const ms = performance.now() - t0;
            const out = rc === 0 ? { iou: m.HEAPF32.slice(piou >> 2, (piou >> 2) + k),
                                     lowRes: m.HEAPF32.slice(pm >> 2, (pm >> 2) + k * maskCount), ms } : null;
            for (const p of [pc, pl, piou, pm, pmask]) if (p) m._free(p);
            if (!out) throw new Error(error());
            return out;
        },
    };
}
