// dataset.mjs - the dataset folder and its manifest.json (contract version 1):
//   DATASET/manifest.json, images/<file>, embeddings/<stem>.npy, decoder.onnx [, decoder.samw]
//   {"version": 1, "model": {"id", "encoder_sha256", "decoder", "decoder_weights"?},
//    "images": [{"id", "file", "width", "height", "sha256", "embedding", "embedding_dtype"}]}
// Paths are relative to the folder; width/height are those of the EXIF-oriented
// image. embed_one() turns one image file into a manifest entry (without id);
// the embedder CLI and the server's POST /api/embed both go through it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { write_file_atomic, sha256_file } from '../server/atomic_file.mjs';
import { npy_bytes } from './npy_file.mjs';
import { EMBEDDING_SHAPE } from './encoder.mjs';

export const MANIFEST_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

export function read_manifest(file) {
    let text;
    try { text = fs.readFileSync(file, 'utf8'); } catch (err) {
        if (err.code === 'ENOENT') return null;
        throw err;
    }
    let m;
    try { m = JSON.parse(text); } catch (err) { throw new Error(`${file}: not valid JSON (${err.message})`); }
    if (!m || m.version !== MANIFEST_VERSION || !Array.isArray(m.images)) {
        throw new Error(`${file}: not a version ${MANIFEST_VERSION} manifest (need "version": 1 and an "images" array)`);
    }
    return m;
}

export async function write_manifest(file, manifest) {
    await write_file_atomic(file, JSON.stringify(manifest, null, 1) + '\n');
}

// Every entry must be redone when the encoder changed: old embeddings would
// silently pair a new decoder with features from another model.
export function entry_is_current(dataset_dir, manifest, entry, sha256, encoder_sha256, dtype) {
    return !!(entry && manifest && manifest.model && manifest.model.encoder_sha256 === encoder_sha256 &&
        entry.sha256 === sha256 && entry.embedding_dtype === dtype &&
        fs.existsSync(path.join(dataset_dir, entry.embedding)) && fs.existsSync(path.join(dataset_dir, entry.file)));
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
    // at once: the pid alone is not unique there.
    const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.tmp-${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
    await fs.promises.copyFile(src, tmp);
    await fs.promises.rename(tmp, dest);
}

// Preprocess (C++ core), encode, write the embedding, then copy the image in:
// the entry only becomes visible once the manifest names it, and everything it
// names is already on disk by then.
export async function embed_one({ pre, enc, dataset_dir, src, file, embedding, sha256, dtype }) {
    const { info, tensor } = await pre.run(src);
    const values = await enc.run(tensor);
    fs.mkdirSync(path.join(dataset_dir, path.dirname(embedding)), { recursive: true });
    fs.mkdirSync(path.join(dataset_dir, path.dirname(file)), { recursive: true });
    await write_file_atomic(path.join(dataset_dir, embedding), npy_bytes(values, EMBEDDING_SHAPE, dtype));
    await copy_atomic(src, path.join(dataset_dir, file));
    return { file, width: info.width, height: info.height, sha256: sha256 ?? await sha256_file(src), embedding, embedding_dtype: dtype };
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

export function check_decoder_weights(file) {
    const b = fs.readFileSync(file);
    if (b.length < 24 || b.toString('latin1', 0, 4) !== 'SAMW') throw new Error(`${file}: not a decoder weights file (no SAMW header; write one with scripts/model/export)`);
    const size = Number(b.readBigUInt64LE(8));
    if (size !== b.length) throw new Error(`${file}: the header says ${size} bytes but the file has ${b.length}${b.length < size ? ' (truncated)' : ''}`);
    if (crc32(b.subarray(0, b.length - 4)) !== b.readUInt32LE(b.length - 4)) throw new Error(`${file}: checksum mismatch: the file is damaged`);
}

// Copies the decoder(s) in and returns the manifest's "model" object.
export async function prepare_model(dataset_dir, { encoder_sha256, model_id, decoder, decoder_full, decoder_weights, previous }) {
    fs.mkdirSync(dataset_dir, { recursive: true });
    if (decoder_weights) check_decoder_weights(decoder_weights);
    if (decoder) await copy_atomic(decoder, path.join(dataset_dir, 'decoder.onnx'));
    if (decoder_full) await copy_atomic(decoder_full, path.join(dataset_dir, 'decoder_full.onnx'));
    if (decoder_weights) await copy_atomic(decoder_weights, path.join(dataset_dir, DECODER_WEIGHTS_FILE));
    // A new decoder without weights: the weights of the earlier decoder must not stay beside it.
    else if (decoder) fs.rmSync(path.join(dataset_dir, DECODER_WEIGHTS_FILE), { force: true });
    const model = { id: model_id || previous?.id || 'sam', encoder_sha256 };
    if (fs.existsSync(path.join(dataset_dir, 'decoder.onnx'))) model.decoder = 'decoder.onnx';
    if (fs.existsSync(path.join(dataset_dir, 'decoder_full.onnx'))) model.decoder_full = 'decoder_full.onnx';
    if (fs.existsSync(path.join(dataset_dir, DECODER_WEIGHTS_FILE))) model.decoder_weights = DECODER_WEIGHTS_FILE;
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
    const { id, file, width, height, sha256, embedding, embedding_dtype, ...rest } = e;
    return { id, file, width, height, sha256, embedding, embedding_dtype, ...rest };
}
