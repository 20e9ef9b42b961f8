// dataset.mjs - the dataset folder and its manifest.json:
//   DATASET/manifest.json, images/<file>, embeddings/<stem>.npy, decoder.onnx [, decoder.samw, encoder.onnx]
//   {"version": 1, "model": {"id", "encoder_sha256", "decoder", "decoder_weights"?, "spec"[, "encoder", "browser_encoder"]},
//    "images": [{"id", "file", "width", "height", "sha256", "embedding", "embedding_dtype"}]}
// SAM 2.1 datasets are version 2 (readers of version 1 cannot decode them): their
// model.spec is required and each image has three feature files,
//   "features": {"image_embed": "embeddings/image_embed/<stem>.npy",
//                "high_res_feats_0": "embeddings/high_res_feats_0/<stem>.npy", "high_res_feats_1": ...}
// with "embedding" = the image_embed file (scripts/lib/model_spec.mjs; the app reads
// the spec with src/core/model_spec.h). Paths are relative to the folder;
// width/height are those of the EXIF-oriented image. embed_one() turns one image
// file into a manifest entry (without id); the embedder CLI and the server's POST
// /api/embed both go through it.
import fs from 'node:fs';
import path from 'node:path';
import { write_file_atomic, sha256_file, temp_path } from '../server/atomic_file.mjs';
import { npy_bytes } from './npy_file.mjs';
import { SAM1_SPEC, entry_feature_files, feature_files_for, manifest_version, spec_json, spec_of_manifest } from '../lib/model_spec.mjs';

// The version of SAM 1 manifests; manifest_version(spec) gives 2 for SAM 2.1.
export const MANIFEST_VERSION = 1;
export const MANIFEST_VERSIONS = [1, 2];
export const MANIFEST_FILE = 'manifest.json';
export { manifest_version };

export function read_manifest(file) {
    let text;
    try { text = fs.readFileSync(file, 'utf8'); } catch (err) {
        if (err.code === 'ENOENT') return null;
        throw err;
    }
    let m;
    try { m = JSON.parse(text); } catch (err) { throw new Error(`${file}: not valid JSON (${err.message})`); }
    if (!m || !MANIFEST_VERSIONS.includes(m.version) || !Array.isArray(m.images)) {
        throw new Error(`${file}: not a version 1 or 2 manifest (need "version": 1 or 2 and an "images" array)`);
    }
    return m;
}

// Modes that only know SAM 1's decoder (segment everything, detector boxes) refuse
// other datasets up front instead of failing on the decoder's inputs.
export function require_sam1(manifest, file, what) {
    const spec = spec_of_manifest(manifest, file);
    if (spec !== SAM1_SPEC) throw new Error(`${file}: a ${spec.family} dataset; ${what} supports SAM 1 datasets only for now`);
}

export async function write_manifest(file, manifest) {
    await write_file_atomic(file, JSON.stringify(manifest, null, 1) + '\n');
}

// Every entry must be redone when the encoder changed: old embeddings would
// silently pair a new decoder with features from another model.
export function entry_is_current(dataset_dir, manifest, entry, sha256, encoder_sha256, dtype, spec = SAM1_SPEC) {
    return !!(entry && manifest && manifest.model && manifest.model.encoder_sha256 === encoder_sha256 &&
        entry.sha256 === sha256 && entry.embedding_dtype === dtype && entry_files_exist(dataset_dir, entry, spec));
}

// The image and every feature file an entry names are on disk.
export function entry_files_exist(dataset_dir, entry, spec = SAM1_SPEC) {
    const files = [entry.file, ...entry_feature_files(spec, entry)];
    return files.every((f) => typeof f === 'string' && fs.existsSync(path.join(dataset_dir, f)));
}

// Embedding file names for a sorted list of image basenames: <stem>.npy, or the
// whole name with dots replaced when two images share a stem (cat.jpg, cat.png).
export function embedding_names(basenames) {
    const stem = (b) => b.slice(0, b.length - path.extname(b).length) || b;
    const counts = new Map();
    for (const b of basenames) counts.set(stem(b), (counts.get(stem(b)) || 0) + 1);
    const out = new Map();
    for (const b of basenames) out.set(b, `embeddings/${counts.get(stem(b)) > 1 ? b.replace(/\./g, '_') : stem(b)}.npy`);
    return out;
}

// Copies src to dest through a temp file + rename, unless they are the same file.
async function copy_atomic(src, dest) {
    const a = fs.statSync(src);
    const b = fs.statSync(dest, { throwIfNoEntry: false });
    if (b && a.ino === b.ino && a.dev === b.dev) return;
    // Shards on several machines may copy the same decoder into a shared folder
    // at once: the temp name holds host, pid and a random part (and lets the next
    // start of scripts/serve remove it if this process is killed).
    const tmp = temp_path(dest);
    await fs.promises.copyFile(src, tmp);
    await fs.promises.rename(tmp, dest);
}

// Preprocess (C++ core), encode, write the embedding, then copy the image in:
// the entry only becomes visible once the manifest names it, and everything it
// names is already on disk by then.
// `embedding` is the SAM 1 file name (embeddings/<stem>.npy); SAM 2.1's three files
// derive from it (feature_files_for). The preprocessing must be enc.spec's.
export async function embed_one({ pre, enc, dataset_dir, src, file, embedding, sha256, dtype }) {
    const spec = enc.spec || SAM1_SPEC;
    if ((pre.preprocess || SAM1_SPEC.preprocess) !== spec.preprocess) {
        throw new Error(`embed_one: images preprocessed as ${pre.preprocess} for a ${spec.family} encoder (needs ${spec.preprocess})`);
    }
    const { info, tensor } = await pre.run(src);
    const values = await enc.run_all(tensor);
    const files = feature_files_for(spec, embedding);
    for (const f of spec.features) {
        const dest = path.join(dataset_dir, files[f.name]);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        await write_file_atomic(dest, npy_bytes(values[f.name], f.shape, dtype));
    }
    fs.mkdirSync(path.join(dataset_dir, path.dirname(file)), { recursive: true });
    await copy_atomic(src, path.join(dataset_dir, file));
    const entry = {
        file, width: info.width, height: info.height, sha256: sha256 ?? await sha256_file(src),
        embedding: files[spec.features[0].name], embedding_dtype: dtype,
    };
    if (spec.features.length > 1) entry.features = files;
    return entry;
}

// The C++ decoder's weights file (scripts/model/export writes decoder.samw beside the ONNX
// files): checked here by its header and CRC-32, so a damaged copy is refused by name
// before it reaches a dataset (the app's parser checks the rest).
export const DECODER_WEIGHTS_FILE = 'decoder.samw';

let crc_table = null;
function crc32(buf) {
    if (!crc_table) {
        crc_table = new Uint32Array(256);
        for (let i = 0; i < 256; i++) {
            let c = i;
            for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
            crc_table[i] = c >>> 0;
        }
    }
    let c = 0xffffffff;
    for (let i = 0; i < buf.length; i++) c = crc_table[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
}

// The header's version says the family: 1 SAM, 2 SAM 2.1 (scripts/model/sam_model/decoder_weights.py).
const WEIGHTS_FAMILY = { 1: 'sam', 2: 'sam2.1' };

export function check_decoder_weights(file, spec = null) {
    const b = fs.readFileSync(file);
    if (b.length < 24 || b.toString('latin1', 0, 4) !== 'SAMW') throw new Error(`${file}: not a decoder weights file (no SAMW header; write one with scripts/model/export)`);
    const size = Number(b.readBigUInt64LE(8));
    if (size !== b.length) throw new Error(`${file}: the header says ${size} bytes but the file has ${b.length}${b.length < size ? ' (truncated)' : ''}`);
    if (crc32(b.subarray(0, b.length - 4)) !== b.readUInt32LE(b.length - 4)) throw new Error(`${file}: checksum mismatch: the file is damaged`);
    const family = WEIGHTS_FAMILY[b.readUInt32LE(4)];
    if (!family) throw new Error(`${file}: version ${b.readUInt32LE(4)} is not a known decoder weights version`);
    if (spec && spec.family !== family) throw new Error(`${file}: ${family} decoder weights for a ${spec.family} dataset (export them from the same model as the decoder)`);
}

// In-browser encoding (the app's src/app/browser_encoding.h): a SAM 1 encoder small
// enough for a browser tab is copied in as encoder.onnx and declared
// ("encoder": "encoder.onnx", "browser_encoder": true), so the app computes the
// embeddings of images listed without one, and of photos dropped on the static demo.
// MobileSAM's TinyViT encoder is ~28 MB, SAM ViT-B ~360 MB.
export const BROWSER_ENCODER_MAX_BYTES = 48 * 2 ** 20;
export const BROWSER_ENCODER_MODES = ['auto', 'yes', 'ask', 'no'];

// auto: copy and declare up to BROWSER_ENCODER_MAX_BYTES; yes: whatever the size; ask: copy
// without declaring (the app then offers "encode in the browser (slow)"); no: neither.
export function browser_encoder_plan(encoder, spec, mode = 'auto') {
    if (!BROWSER_ENCODER_MODES.includes(mode)) throw new Error(`--browser-encoder ${mode}: expected ${BROWSER_ENCODER_MODES.join(', ')}`);
    if (!encoder || mode === 'no') return { copy: false, declare: false };
    if (spec !== SAM1_SPEC) {
        if (mode === 'yes' || mode === 'ask') throw new Error(`--browser-encoder ${mode}: a ${spec.family} encoder cannot run in the browser yet (SAM 1 only)`);
        return { copy: false, declare: false };
    }
    if (mode === 'ask') return { copy: true, declare: false };
    const small = fs.statSync(encoder).size <= BROWSER_ENCODER_MAX_BYTES;
    return { copy: mode === 'yes' || small, declare: mode === 'yes' || small };
}

// Copies the decoder(s) (and, see browser_encoder_plan, the encoder) in and returns the
// manifest's "model" object (with the model spec; SAM 2.1's decoder interface is checked by
// the app when it loads).
export async function prepare_model(dataset_dir, { encoder_sha256, model_id, decoder, decoder_full, decoder_weights, previous, spec = SAM1_SPEC,
    encoder = null, browser_encoder = 'auto' }) {
    fs.mkdirSync(dataset_dir, { recursive: true });
    if (decoder_weights) check_decoder_weights(decoder_weights, spec);
    const plan = browser_encoder_plan(encoder, spec, browser_encoder);
    if (decoder) await copy_atomic(decoder, path.join(dataset_dir, 'decoder.onnx'));
    if (decoder_full) await copy_atomic(decoder_full, path.join(dataset_dir, 'decoder_full.onnx'));
    if (decoder_weights) await copy_atomic(decoder_weights, path.join(dataset_dir, DECODER_WEIGHTS_FILE));
    // A new decoder without weights: the weights of the earlier decoder must not stay beside it.
    else if (decoder) fs.rmSync(path.join(dataset_dir, DECODER_WEIGHTS_FILE), { force: true });
    if (plan.copy) await copy_atomic(encoder, path.join(dataset_dir, 'encoder.onnx'));
    const model = { id: model_id || previous?.id || (spec === SAM1_SPEC ? 'sam' : spec.family), encoder_sha256, spec: spec_json(spec) };
    if (fs.existsSync(path.join(dataset_dir, 'decoder.onnx'))) model.decoder = 'decoder.onnx';
    if (fs.existsSync(path.join(dataset_dir, 'decoder_full.onnx'))) model.decoder_full = 'decoder_full.onnx';
    if (fs.existsSync(path.join(dataset_dir, DECODER_WEIGHTS_FILE))) model.decoder_weights = DECODER_WEIGHTS_FILE;
    if (plan.copy) Object.assign(model, { encoder: 'encoder.onnx', browser_encoder: plan.declare });
    return model;
}

// --decoder-weights, or the decoder.samw the exporter wrote beside --decoder.
export function decoder_weights_for(o) {
    if (o.decoder_weights) return o.decoder_weights;
    if (!o.decoder) return undefined;
    const beside = path.join(path.dirname(o.decoder), DECODER_WEIGHTS_FILE);
    return fs.existsSync(beside) ? beside : undefined;
}

// Ids are stable: a file keeps the id it had; new files get the next ids in
// file-name order.
export function assign_ids(entries, previous_ids) {
    let next = Math.max(0, ...previous_ids.values(), ...entries.filter((e) => Number.isInteger(e.id)).map((e) => e.id)) + 1;
    const sorted = [...entries].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    for (const e of sorted) {
        if (!Number.isInteger(e.id)) e.id = previous_ids.get(e.file) ?? next++;
    }
    return sorted.sort((a, b) => a.id - b.id);
}

export function ordered_entry(e) {
    const { id, file, width, height, sha256, embedding, embedding_dtype, features, ...rest } = e;
    return { id, file, width, height, sha256, embedding, embedding_dtype, ...(features ? { features } : {}), ...rest };
}
