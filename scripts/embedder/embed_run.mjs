// embed_run.mjs - the embedder's two jobs: run_embed (images -> embeddings +
// manifest, idempotent, resumable, optionally one shard of N) and run_merge
// (shard manifests -> one manifest.json, checking every image is covered once).
// Both return {code, summary}; the CLI (cli.mjs) only parses arguments.
import fs from 'node:fs';
import path from 'node:path';
import { sha256_file } from '../server/atomic_file.mjs';
import { sam_encoder } from './encoder.mjs';
import { preprocessor } from './preprocess_tool.mjs';
import { progress } from './progress.mjs';
import {
    MANIFEST_FILE, MANIFEST_VERSION, read_manifest, write_manifest, entry_is_current, embedding_names,
    embed_one, prepare_model, decoder_weights_for, assign_ids, ordered_entry, entry_files_exist,
} from './dataset.mjs';
import { SAM1_SPEC, check_decoder_names, manifest_version, spec_of_manifest } from '../lib/model_spec.mjs';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.gif', '.bmp'];

function glob_to_regex(pattern) {
    let re = '';
    for (const c of pattern) re += c === '*' ? '[^/]*' : c === '?' ? '[^/]' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`^${re}$`);
}

// A folder (its image files, by extension, not recursive), a single file, or a
// glob whose wildcards are in the last path component ("photos/*.jpg").
// Returns absolute paths sorted by file name.
export function list_images(specs) {
    const found = [];
    for (const spec of specs) {
        const st = fs.statSync(spec, { throwIfNoEntry: false });
        if (st?.isDirectory()) {
            for (const f of fs.readdirSync(spec)) {
                if (f.startsWith('.') || !IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase())) continue;
                const p = path.resolve(spec, f);
                if (fs.statSync(p).isFile()) found.push(p);
            }
        } else if (st?.isFile()) {
            found.push(path.resolve(spec));
        } else if (/[*?]/.test(path.basename(spec))) {
            const dir = path.dirname(spec);
            if (/[*?]/.test(dir)) throw new Error(`--images ${spec}: wildcards are only supported in the last path component`);
            const re = glob_to_regex(path.basename(spec));
            const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
            for (const f of names) {
                const p = path.resolve(dir, f);
                if (re.test(f) && !f.startsWith('.') && fs.statSync(p).isFile()) found.push(p);
            }
        } else {
            throw new Error(`--images ${spec}: no such file or folder`);
        }
    }
    const by_name = new Map();
    for (const p of found) {
        const b = path.basename(p);
        if (by_name.has(b) && by_name.get(b) !== p) throw new Error(`two images named ${b}: ${by_name.get(b)} and ${p} (dataset images share one folder)`);
        by_name.set(b, p);
    }
    return [...by_name.values()].sort((a, b) => (path.basename(a) < path.basename(b) ? -1 : 1));
}

export function shard_file(k, n) { return `manifest.shard-${k}-of-${n}.json`; }

// The decoder copied into the dataset must take this encoder's features.
async function check_decoder(file, spec) {
    const { default: ort } = await import('onnxruntime-node');
    let session;
    try { session = await ort.InferenceSession.create(file); } catch (err) { throw new Error(`${file}: cannot load the decoder: ${err.message}`); }
    try { check_decoder_names(spec, session.inputNames, session.outputNames, file); } finally { await session.release?.(); }
}

export async function run_embed(o, log = process.stderr) {
    const out = path.resolve(o.out);
    const files = list_images(o.images);
    if (files.length === 0) throw new Error(`no images found in ${o.images.join(', ')}`);
    const shard = o.shard;  // {k, n} or null
    const mine = shard ? files.filter((_, i) => i % shard.n === shard.k) : files;
    const emb_names = embedding_names(files.map((f) => path.basename(f)));

    const enc = await sam_encoder.load(o.encoder, { threads: o.threads });
    const spec = enc.spec;
    // float16 by default for SAM 2.1 (8 MiB per image instead of 16), float32 for SAM 1.
    const dtype = o.fp16 === undefined || o.fp16 === null ? spec.default_dtype : o.fp16 ? 'float16' : 'float32';
    if (o.decoder) await check_decoder(o.decoder, spec);
    if (o.decoder_full && spec !== SAM1_SPEC) throw new Error(`--decoder-full is SAM 1's official interface; ${o.encoder} is a ${spec.family} encoder`);
    const base = read_manifest(path.join(out, MANIFEST_FILE));
    const own_file = path.join(out, shard ? shard_file(shard.k, shard.n) : MANIFEST_FILE);
    const own = shard ? read_manifest(own_file) : base;
    const model = await prepare_model(out, { encoder_sha256: enc.sha256, model_id: o.model_id, decoder: o.decoder, decoder_full: o.decoder_full,
        decoder_weights: decoder_weights_for(o), previous: base?.model, spec, encoder: o.encoder, browser_encoder: o.browser_encoder ?? 'auto' });

    const previous_ids = new Map((base?.images || []).map((e) => [e.file, e.id]));
    const entries = new Map();  // file -> entry, what this run's manifest will hold
    if (own && own.model?.encoder_sha256 === enc.sha256) for (const e of own.images) entries.set(e.file, e);
    else if (own && own.images.length) log.write(`encoder changed since the last run: every image of ${path.basename(own_file)} will be embedded again\n`);
    const base_entries = new Map((base?.model?.encoder_sha256 === enc.sha256 ? base.images : []).map((e) => [e.file, e]));

    const failed = [];
    let embedded = 0;
    let skipped = 0;
    const manifest = () => {
        const images = (shard ? [...entries.values()].sort((a, b) => (a.file < b.file ? -1 : 1)) : assign_ids([...entries.values()], previous_ids)).map(ordered_entry);
        const m = { version: manifest_version(spec), model, images };
        if (shard) {
            m.shard = { index: shard.k, count: shard.n, total: files.length, assigned: mine.map((f) => `images/${path.basename(f)}`) };
            m.failed = failed;
        }
        return m;
    };

    const pre = await preprocessor.start({ max_pixels: o.max_pixels, preprocess: spec.preprocess });
    const bar = new progress(mine.length, { stream: log, label: shard ? `shard ${shard.k}/${shard.n} ` : '' });
    try {
        for (const src of mine) {
            const name = path.basename(src);
            const file = `images/${name}`;
            const t0 = Date.now();
            const sha256 = await sha256_file(src);
            const prev = entries.get(file) || base_entries.get(file);
            const prev_manifest = entries.has(file) ? { model } : base;
            if (entry_is_current(out, prev_manifest, prev, sha256, enc.sha256, dtype, spec)) {
                if (!entries.has(file)) { entries.set(file, { ...prev, ...(shard ? { id: undefined } : {}) }); await write_manifest(own_file, manifest()); }
                skipped++;
                bar.tick(name, 'skipped');
                continue;
            }
            let entry;
            try {
                entry = await embed_one({ pre, enc, dataset_dir: out, src, file, embedding: emb_names.get(name), sha256, dtype });
            } catch (err) {
                if (!err.bad_image) throw err;
                failed.push({ file: name, error: err.message });
                bar.note(`bad image ${name}: ${err.message}`);
                entries.delete(file);
                bar.tick(name, 'failed');
                continue;
            }
            const id = previous_ids.get(file);
            entries.set(file, shard || id === undefined ? entry : { id, ...entry });
            // Written after every image: a killed run loses at most the image in flight.
            await write_manifest(own_file, manifest());
            embedded++;
            bar.tick(name, 'embedded', (Date.now() - t0) / 1000);
        }
        await write_manifest(own_file, manifest());
    } finally {
        bar.done();
        pre.close();
        await enc.close();
    }
    const summary = `${mine.length} images${shard ? ` (shard ${shard.k}/${shard.n} of ${files.length})` : ''}: ${embedded} embedded, ${skipped} unchanged, ${failed.length} failed` +
        failed.map((f) => `\n  ${f.file}: ${f.error}`).join('');
    return { code: failed.length ? 1 : 0, summary, failed, embedded, skipped };
}

export async function run_merge(o) {
    const out = path.resolve(o.out);
    const shard_re = /^manifest\.shard-(\d+)-of-(\d+)\.json$/;
    const shards = fs.readdirSync(out).filter((f) => shard_re.test(f)).map((f) => {
        const [, k, n] = shard_re.exec(f);
        return { k: Number(k), n: Number(n), file: f, m: read_manifest(path.join(out, f)) };
    });
    if (!shards.length) throw new Error(`${out}: no manifest.shard-K-of-N.json files to merge`);
    const ns = [...new Set(shards.map((s) => s.n))];
    if (ns.length > 1) throw new Error(`${out}: shard files of different splits (N = ${ns.join(', ')}); remove the stale ones`);
    const n = ns[0];
    const missing = [];
    for (let k = 0; k < n; k++) if (!shards.some((s) => s.k === k)) missing.push(`${k}/${n}`);
    if (missing.length) throw new Error(`cannot merge: shard ${missing.join(', ')} has not written its manifest`);
    const shas = [...new Set(shards.map((s) => s.m.model?.encoder_sha256))];
    if (shas.length > 1) throw new Error('cannot merge: the shards used different encoders');
    const totals = [...new Set(shards.map((s) => s.m.shard?.total))];
    if (totals.length > 1) throw new Error(`cannot merge: the shards saw different image lists (${totals.join(' vs ')} images)`);

    const problems = [];
    const assigned = new Map();
    const images = new Map();
    const failed = [];
    for (const s of shards.sort((a, b) => a.k - b.k)) {
        for (const f of s.m.shard?.assigned || []) {
            if (assigned.has(f)) problems.push(`${f} is assigned to shards ${assigned.get(f)} and ${s.k}`);
            assigned.set(f, s.k);
        }
        for (const e of s.m.images) {
            if (images.has(e.file)) problems.push(`${e.file} was embedded by two shards`);
            images.set(e.file, e);
        }
        failed.push(...(s.m.failed || []));
    }
    if (assigned.size !== totals[0]) problems.push(`the shards cover ${assigned.size} of ${totals[0]} images`);
    const not_done = [...assigned.keys()].filter((f) => !images.has(f));
    const failed_names = new Set(failed.map((f) => `images/${f.file}`));
    const unfinished = not_done.filter((f) => !failed_names.has(f));
    if (unfinished.length) problems.push(`not embedded yet (shard still running or killed?): ${unfinished.join(', ')}`);
    if (problems.length) throw new Error(`cannot merge:\n  ${problems.join('\n  ')}`);

    const base = read_manifest(path.join(out, MANIFEST_FILE));
    const previous_ids = new Map((base?.images || []).map((e) => [e.file, e.id]));
    // Images of an earlier run with the same encoder that no shard saw stay in.
    if (base && base.model?.encoder_sha256 === shas[0]) {
        for (const e of base.images) if (!images.has(e.file) && entry_files_exist(out, e, spec_of_manifest(base))) images.set(e.file, e);
    }
    const entries = [...images.values()].map(({ id, ...e }) => e);
    const model = { ...shards[0].m.model };
    if (o.model_id) model.id = o.model_id;
    const spec = spec_of_manifest(shards[0].m, shards[0].file);
    const merged = { version: manifest_version(spec), model, images: assign_ids(entries, previous_ids).map(ordered_entry) };
    await write_manifest(path.join(out, MANIFEST_FILE), merged);
    const summary = `merged ${n} shards: ${merged.images.length} images in ${MANIFEST_FILE}, ${failed.length} failed` +
        failed.map((f) => `\n  ${f.file}: ${f.error}`).join('');
    return { code: failed.length ? 1 : 0, summary, manifest: merged };
}
