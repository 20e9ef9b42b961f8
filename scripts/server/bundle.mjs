// bundle.mjs - the offline demo bundle (what scripts/bundle runs): one static
// folder holding the built app, ONNX Runtime Web's files (already in the app
// site) and one dataset laid out at the folder's root:
//   OUT/index.html, sam_annotator.{js,wasm}, ort*.{mjs,wasm}, decoder_worker.js
//   OUT/manifest.json, images/, embeddings/, decoder.onnx [, decoder_full.onnx, decoder.samw, encoder.onnx]
// The app opens ./manifest.json when no ?manifest is given, so the bundle works
// from any static host (python3 -m http.server: one thread, no COOP/COEP). When the
// dataset's model declares a browser encoder (scripts/embed copies a small one in),
// photos dropped on the demo are encoded in the browser.
//   await make_bundle({out, app, dataset}) -> {out, manifest}
//   verify_bundle(out) -> list of problems ([] = self-contained)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run_embed } from '../embedder/embed_run.mjs';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MARKER = '.sam-bundle';
const APP_FILES = ['index.html', 'sam_annotator.js', 'sam_annotator.wasm'];

// assets/model when the bundled model is there, else the tiny test model.
export function default_model_dir() {
    const bundled = path.join(repo, 'assets/model');
    return fs.existsSync(path.join(bundled, 'encoder.onnx')) ? bundled : path.join(repo, 'tests/fixtures/tiny');
}

// The model's id for the manifest: model.json's "id" when the folder has one,
// else a name derived from the folder.
function model_id(model_dir) {
    try {
        const id = JSON.parse(fs.readFileSync(path.join(model_dir, 'model.json'), 'utf8')).id;
        if (typeof id === 'string' && id) return id;
    } catch { /* no model.json */ }
    return path.resolve(model_dir) === path.join(repo, 'tests/fixtures/tiny') ? 'sam-tiny-test' : `sam-${path.basename(path.resolve(model_dir))}`;
}

// Embeds the sample pictures with the model in model_dir into work_dir
// (idempotent: a second call only checks hashes).
export async function make_sample_dataset({ images, model_dir, work_dir, log = process.stderr }) {
    const model = (f) => (fs.existsSync(path.join(model_dir, f)) ? path.join(model_dir, f) : undefined);
    if (!model('encoder.onnx')) throw new Error(`${model_dir}: no encoder.onnx`);
    if (!model('decoder.onnx')) throw new Error(`${model_dir}: no decoder.onnx`);
    // A decoder_full.onnx of an earlier model must not sit beside the new decoder.
    if (!model('decoder_full.onnx')) fs.rmSync(path.join(work_dir, 'decoder_full.onnx'), { force: true });
    if (!model('decoder.samw')) fs.rmSync(path.join(work_dir, 'decoder.samw'), { force: true });
    const r = await run_embed({
        encoder: model('encoder.onnx'), decoder: model('decoder.onnx'), decoder_full: model('decoder_full.onnx'),
        decoder_weights: model('decoder.samw'),
        images: [images], out: work_dir, model_id: model_id(model_dir), threads: 0, shard: null, max_pixels: 0,  // the model's default dtype
    }, log);
    if (r.code !== 0) throw new Error(`embedding the samples failed:\n${r.summary}`);
    return work_dir;
}

function copy_tree(src, dest, skip = () => false) {
    fs.mkdirSync(dest, { recursive: true });
    for (const ent of fs.readdirSync(src, { withFileTypes: true })) {
        if (ent.name.startsWith('.') || skip(ent.name)) continue;
        const s = path.join(src, ent.name);
        const d = path.join(dest, ent.name);
        const st = fs.statSync(s);  // follows links: the bundle holds real files
        if (st.isDirectory()) copy_tree(s, d);
        else if (st.isFile()) fs.copyFileSync(s, d);
    }
}

// A relative path that stays inside the folder (no "..", not absolute, no URL).
function inside(rel) {
    return typeof rel === 'string' && rel.length > 0 && !/^[a-z][a-z0-9+.-]*:/i.test(rel) && !rel.startsWith('/') &&
        !rel.includes('\\') && !rel.split('/').includes('..');
}

export function verify_bundle(out) {
    const problems = [];
    for (const f of APP_FILES) if (!fs.existsSync(path.join(out, f))) problems.push(`${f} is missing (the app)`);
    let m;
    try { m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')); } catch (err) {
        return [...problems, `manifest.json: ${err.message}`];
    }
    const refs = [m.model?.decoder, m.model?.decoder_full, m.model?.decoder_weights, m.model?.encoder].filter((x) => x !== undefined);
    if (!m.model?.decoder) problems.push('manifest.json: model.decoder is missing');
    for (const e of m.images || []) refs.push(e.file, e.embedding, ...Object.values(e.features || {}));  // SAM 2.1: three feature files
    if (!(m.images || []).length) problems.push('manifest.json: no images');
    for (const r of refs) {
        if (!inside(r)) problems.push(`manifest.json names ${JSON.stringify(r)}, which is not a path inside the bundle`);
        else if (!fs.statSync(path.join(out, r), { throwIfNoEntry: false })?.isFile()) problems.push(`manifest.json names ${r}, which is not in the bundle`);
    }
    // Everything index.html loads must be in the bundle too.
    const html = fs.existsSync(path.join(out, 'index.html')) ? fs.readFileSync(path.join(out, 'index.html'), 'utf8') : '';
    for (const [, src] of html.matchAll(/\b(?:src|href)\s*=\s*"([^"#?]+)"/g)) {
        if (!inside(src)) problems.push(`index.html loads ${src}, which is not a path inside the bundle`);
        else if (!fs.existsSync(path.join(out, src))) problems.push(`index.html loads ${src}, which is not in the bundle`);
    }
    return problems;
}

export async function make_bundle({ out, app, dataset }) {
    out = path.resolve(out);
    if (!fs.existsSync(path.join(app, 'index.html'))) throw new Error(`${app}/index.html not found: build the app first (scripts/build-wasm)`);
    if (!fs.existsSync(path.join(dataset, 'manifest.json'))) throw new Error(`${dataset}/manifest.json not found: not a dataset folder (make one with scripts/embed)`);
    // Only ever delete a folder that an earlier bundle made.
    if (fs.existsSync(out)) {
        const names = fs.readdirSync(out);
        if (names.length && !names.includes(MARKER)) throw new Error(`${out} exists and is not a bundle made by scripts/bundle; give an empty or new folder`);
        fs.rmSync(out, { recursive: true, force: true });
    }
    const tmp = `${out}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    copy_tree(app, tmp);
    // Server-side state (the annotations store and old annotations files, shard manifests)
    // stays out of a public bundle.
    copy_tree(dataset, tmp, (name) => /^annotations(\.json|\.sqlite(-wal|-shm|-journal)?|\.imported(-\d+)?\.json)$/.test(name) || /^manifest\.shard-/.test(name));
    fs.writeFileSync(path.join(tmp, MARKER), 'made by scripts/bundle; the whole folder is replaced by the next run\n');
    const problems = verify_bundle(tmp);
    if (problems.length) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw new Error(`the bundle would not be self-contained:\n  ${problems.join('\n  ')}`);
    }
    fs.renameSync(tmp, out);
    return { out, manifest: JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) };
}

const USAGE = `usage: scripts/bundle OUT_DIR [--dataset DIR] [--app DIR] [--images DIR] [--model DIR] [--work DIR]
  Writes a static folder: the app (--app, default build/wasm/site, built by
  scripts/build-wasm when missing) and one dataset at its root (manifest.json,
  images/, embeddings/, decoder.onnx). Serve it with any static server:
  python3 -m http.server -d OUT_DIR, or scripts/serve --static OUT_DIR.
  --dataset DIR   an embedded dataset folder (scripts/embed --out DIR); default: the
                  pictures in --images (default assets/samples) embedded into --work
                  (default build/datasets/samples) with the model in --model (default
                  assets/model when it holds encoder.onnx, else tests/fixtures/tiny)`;

async function main(argv) {
    const o = { app: null, dataset: null, images: path.join(repo, 'assets/samples'), model: null, work: path.join(repo, 'build/datasets/samples') };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
            return argv[++i];
        };
        if (a === '--help' || a === '-h') { console.log(USAGE); return 0; }
        else if (a === '--dataset') o.dataset = val();
        else if (a === '--app') o.app = val();
        else if (a === '--images') o.images = val();
        else if (a === '--model') o.model = val();
        else if (a === '--work') o.work = val();
        else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
        else if (!o.out) o.out = a;
        else throw new Error(`one OUT_DIR only (got ${o.out} and ${a})`);
    }
    if (!o.out) throw new Error('OUT_DIR is required');
    if (!o.app) {
        o.app = path.join(repo, 'build/wasm/site');
        if (!fs.existsSync(path.join(o.app, 'index.html'))) {
            const { spawnSync } = await import('node:child_process');
            console.error('bundle: building the app (scripts/build-wasm)');
            const r = spawnSync(path.join(repo, 'scripts/build-wasm'), { stdio: ['ignore', 2, 2] });
            if (r.status !== 0) throw new Error('scripts/build-wasm failed');
        }
    }
    const dataset = o.dataset || await make_sample_dataset({ images: o.images, model_dir: o.model || default_model_dir(), work_dir: o.work });
    const { out, manifest } = await make_bundle({ out: o.out, app: o.app, dataset });
    console.log(`bundle: ${out} (${manifest.images.length} images, model ${manifest.model.id})`);
    return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
        console.error(`bundle: ${err.message}`);
        process.exit(err.message.startsWith('usage') ? 2 : 1);
    });
}
