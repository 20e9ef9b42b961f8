// upload.mjs - embeddings on demand for the server's POST /api/embed: image
// bytes in, manifest entry out. Same code path as scripts/embed (embed_one).
//   const up = await upload_embedder.create({encoder: 'encoder.onnx', threads: 2});
//   const entry = await up.embed_upload(dataset_dir, bytes, 'cat.jpg');  // {..entry, cached}
//   await up.close();
// The type is sniffed from the bytes (JPEG/PNG only; the name's extension is not
// trusted). An image already in the manifest with the same content sha256 and
// the same encoder is not embedded again. Errors carry an HTTP .status.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { http_error } from '../server/request_body.mjs';
import { temp_path } from '../server/atomic_file.mjs';
import { open_journal, close_journal } from './embed_journal.mjs';
import { sam_encoder } from './encoder.mjs';
import { preprocessor } from './preprocess_tool.mjs';
import { MANIFEST_FILE, read_manifest, write_manifest, embed_one, prepare_model, ordered_entry, entry_files_exist } from './dataset.mjs';
import { feature_files_for, manifest_version, spec_of_manifest } from '../lib/model_spec.mjs';

export function sniff_image_type(bytes) {
    if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpg';
    const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'png';
    return null;
}

// A safe file stem from a client-supplied name: no folders, no dots in front,
// only characters every filesystem and URL take as they are.
export function upload_stem(name, sha256) {
    const base = path.basename(String(name || '').replace(/\\/g, '/'));
    const stem = base.slice(0, base.length - path.extname(base).length)
        .replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^[_-]+/, '').slice(0, 80);
    return stem || `upload-${sha256.slice(0, 12)}`;
}

export class upload_embedder {
    static async create({ encoder, threads = 0, max_pixels = 0 }) {
        const u = new upload_embedder();
        u.enc = await sam_encoder.load(encoder, { threads });
        u.max_pixels = max_pixels;
        u.pre = await preprocessor.start({ max_pixels, preprocess: u.enc.spec.preprocess });
        u.locks = new Map();  // dataset dir -> promise chain: one manifest update at a time
        return u;
    }

    embed_upload(dataset_dir, bytes, name) {
        const dir = path.resolve(dataset_dir);
        const job = (this.locks.get(dir) || Promise.resolve()).then(() => this.#embed(dir, bytes, name));
        this.locks.set(dir, job.catch(() => {}));
        return job;
    }

    async #embed(dir, bytes, name) {
        const ext = sniff_image_type(bytes);
        if (!ext) throw new http_error(415, 'the body is not a JPEG or PNG image (type sniffed from its first bytes)');
        const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
        const manifest_file = path.join(dir, MANIFEST_FILE);
        let manifest;
        try { manifest = read_manifest(manifest_file); } catch (err) { throw new http_error(500, err.message); }
        if (manifest?.model?.encoder_sha256 && manifest.model.encoder_sha256 !== this.enc.sha256) {
            throw new http_error(409, `${path.basename(dir)} was embedded with another encoder (sha256 ${manifest.model.encoder_sha256.slice(0, 12)}...); start the server with that encoder`);
        }
        const spec = this.enc.spec;
        if (manifest && spec_of_manifest(manifest, manifest_file) !== spec) {
            throw new http_error(409, `${path.basename(dir)} is a ${spec_of_manifest(manifest).family} dataset; the server's encoder is ${spec.family}`);
        }
        const images = manifest?.images || [];
        const known = images.find((e) => e.sha256 === sha256 && entry_files_exist(dir, e, spec));
        if (known) return { ...known, cached: true };

        // A name already taken by another picture gets the content hash appended.
        const taken = (f) => images.some((e) => e.file === f) || fs.existsSync(path.join(dir, f));
        let stem = upload_stem(name, sha256);
        const feature_taken = (s) => Object.values(feature_files_for(spec, `embeddings/${s}.npy`)).some(taken);
        if (taken(`images/${stem}.${ext}`) || feature_taken(stem)) stem = `${stem}-${sha256.slice(0, 12)}`;
        const file = `images/${stem}.${ext}`;
        const embedding = `embeddings/${stem}.npy`;
        // The dataset's dtype when it has images, else the model's default.
        const dtype = images.length ? (images.every((e) => e.embedding_dtype === 'float16') ? 'float16' : 'float32') : spec.default_dtype;

        fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
        // The upload's bytes, then its files under their final names, are only ever visible
        // together with the manifest entry: a kill at any point leaves temp files (removed
        // at the next start by their names) and a journal (its files removed likewise).
        const tmp = temp_path(path.join(dir, 'images', 'upload'), `.${ext}`);
        const journal = open_journal(dir, [file, ...Object.values(feature_files_for(spec, embedding))]);
        try {
            fs.writeFileSync(tmp, bytes);
            let entry;
            try {
                if (this.pre.exited) this.pre = await preprocessor.start({ max_pixels: this.max_pixels, preprocess: spec.preprocess });
                entry = await embed_one({ pre: this.pre, enc: this.enc, dataset_dir: dir, src: tmp, file, embedding, sha256, dtype });
            } catch (err) {
                if (err.bad_image) throw new http_error(422, err.message.split(tmp).join(name || file));
                throw err;
            }
            const model = manifest?.model || await prepare_model(dir, { encoder_sha256: this.enc.sha256, model_id: null, previous: null, spec });
            const id = images.reduce((m, e) => (Number.isInteger(e.id) ? Math.max(m, e.id) : m), 0) + 1;
            const next = { ...(manifest || {}), version: manifest_version(spec), model, images: [...images, ordered_entry({ id, ...entry })] };
            await write_manifest(manifest_file, next);
            return { ...next.images[next.images.length - 1], cached: false };
        } finally {
            fs.rmSync(tmp, { force: true });
            close_journal(journal, dir);
        }
    }

    async close() {
        this.pre.close();
        await this.enc.close();
    }
}
