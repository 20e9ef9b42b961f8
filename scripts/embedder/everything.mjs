// everything.mjs - scripts/embed --everything: SAM's automatic mask generator over a dataset.
// For each manifest image: grid points -> decoder_batch.onnx (onnxruntime-node) in batches
// -> the native sam_amg tool (C++ core: filtering, NMS, RLE) -> DATASET/proposals/<stem>.json.
// This file only moves tensors between the two; see src/tools/sam_amg.cpp for the protocol.
// A proposals file records the image hash, decoder hash and parameters: an image whose file
// matches is skipped, so a killed run resumes. Also exports amg_tool for boxes.mjs.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { load_decoder_session } from '../lib/decoder_session.mjs';
import { write_file_atomic, sha256_file } from '../server/atomic_file.mjs';
import { read_manifest, MANIFEST_FILE, require_sam1 } from './dataset.mjs';
import { read_npy, npy_to_f32 } from './npy_file.mjs';
import { sam_encoder } from './encoder.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PROPOSALS_VERSION = 1;

const USAGE = `usage: scripts/embed --everything --out DATASET_DIR [--decoder-batch decoder_batch.onnx]
                    [--points-per-side 32] [--points-per-batch 64] [--pred-iou-thresh 0.88]
                    [--stability-score-thresh 0.95] [--stability-score-offset 1.0]
                    [--box-nms-thresh 0.7] [--min-mask-region-area 0] [--low-res-stability]
                    [--crop-n-layers 0 --encoder encoder.onnx] [--crop-nms-thresh 0.7]
                    [--crop-overlap-ratio 0.3413] [--crop-n-points-downscale-factor 1]
                    [--threads T] [--force]
  Runs SamAutomaticMaskGenerator (official parameters and defaults) on
  every image of DATASET_DIR/manifest.json and writes DATASET_DIR/proposals/<stem>.json:
  {"version", "image", "width", "height", "sha256", "decoder_sha256", "params",
   "annotations": [{segmentation (COCO RLE), area, bbox, predicted_iou, point_coords,
   stability_score, crop_box}], "stats"}. Done images are skipped unless --force.
  Crop layers (--crop-n-layers > 0) embed each crop with --encoder (the dataset's encoder,
  checked by its sha256); the whole-image crop uses the stored embedding.
  The decoder defaults to DATASET_DIR/decoder_batch.onnx. SAM_AMG=/path/to/sam_amg picks
  the native tool, else build/native (built when missing) or the newest build/*/sam_amg.`;

// $SAM_AMG, else build/native/sam_amg, else the newest build/*/sam_amg, else build it.
export function find_amg_tool() {
    const env = process.env.SAM_AMG;
    if (env) {
        if (!fs.existsSync(env)) throw new Error(`SAM_AMG=${env} does not exist`);
        return env;
    }
    const build_dir = path.join(repo, 'build');
    const found = [];
    for (const d of fs.existsSync(build_dir) ? fs.readdirSync(build_dir) : []) {
        const p = path.join(build_dir, d, 'sam_amg');
        const st = fs.statSync(p, { throwIfNoEntry: false });
        if (st && st.isFile()) found.push({ p, mtime: st.mtimeMs, native: d === 'native' });
    }
    found.sort((a, b) => (b.native - a.native) || (b.mtime - a.mtime));
    if (found.length) return found[0].p;
    const out = path.join(repo, 'build/native');
    for (const args of [['-S', repo, '-B', out, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release'], ['--build', out, '--target', 'sam_amg']]) {
        const r = spawnSync('cmake', args, { stdio: ['ignore', 'ignore', 'inherit'] });
        if (r.status !== 0) throw new Error(`building sam_amg failed (cmake ${args.join(' ')})`);
    }
    return path.join(out, 'sam_amg');
}

// One long-lived sam_amg --stdin; requests are answered in order.
export class amg_tool {
    static start(tool = find_amg_tool()) {
        const t = new amg_tool();
        t.child = spawn(tool, ['--stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
        t.stderr = '';
        t.child.stderr.on('data', (d) => { t.stderr += d; });
        t.waiting = [];
        t.exited = false;
        readline.createInterface({ input: t.child.stdout }).on('line', (line) => t.waiting.shift()?.resolve(line));
        t.child.on('exit', (code, signal) => {
            t.exited = true;
            const err = new Error(`sam_amg exited (${signal || code}) ${t.stderr.trim()}`);
            for (const w of t.waiting.splice(0)) w.reject(err);
        });
        t.child.stdin.on('error', () => {});
        return t;
    }

    // request: a JSON-able object; payload: float32 typed arrays sent after it as "bytes".
    // Resolves the reply object; rejects with the tool's message when it says ok: false.
    async ask(request, payload = []) {
        if (this.exited) throw new Error(`sam_amg is not running ${this.stderr.trim()}`);
        const bytes = payload.reduce((n, a) => n + a.byteLength, 0);
        const line = await new Promise((resolve, reject) => {
            this.waiting.push({ resolve, reject });
            this.child.stdin.write(JSON.stringify(payload.length ? { ...request, bytes } : request) + '\n');
            for (const a of payload) this.child.stdin.write(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
        });
        const reply = JSON.parse(line);
        if (!reply.ok) throw new Error(`sam_amg ${request.cmd}: ${reply.error}`);
        return reply;
    }

    close() { if (!this.exited) this.child.stdin.end(); }
}

export function read_embedding(file) {
    const npy = read_npy(fs.readFileSync(file));
    if (npy.shape.join(',') !== '1,256,64,64') throw new Error(`${file}: embedding shape [${npy.shape}], expected [1,256,64,64]`);
    return new ort.Tensor('float32', npy_to_f32(npy), [1, 256, 64, 64]);
}

// Runs the whole generator for one image; resolves the finish reply (annotations, stats)
// plus decode/encode/total seconds. crop_embedding(crop_box) -> ort.Tensor embeds a crop
// (needed only when params.crop_n_layers > 0).
export async function everything_one({ tool, decoder, embedding, width, height, params, crop_embedding = null }) {
    const t0 = performance.now();
    let decode_ms = 0, encode_ms = 0;
    const setup = await tool.ask({ cmd: 'everything', height, width, params });
    if (setup.crops.length > 1 && !crop_embedding) throw new Error('crop_n_layers > 0 needs crop embeddings: pass --encoder');
    const per_batch = setup.points_per_batch;
    for (const [crop, box] of setup.crops.entries()) {
        let emb = embedding;
        if (crop > 0) {
            const e0 = performance.now();
            emb = await crop_embedding(box);
            encode_ms += performance.now() - e0;
        }
        decode_ms += await decode_crop({ tool, decoder, embedding: emb, crop, points: setup.points[crop], per_batch });
    }
    const result = await tool.ask({ cmd: 'finish' });
    return { ...result, decode_seconds: decode_ms / 1000, encode_seconds: encode_ms / 1000, seconds: (performance.now() - t0) / 1000 };
}

// Decodes one crop's grid in batches and feeds the outputs to the tool; returns decoder ms.
async function decode_crop({ tool, decoder, embedding, crop, points, per_batch }) {
    let decode_ms = 0;
    const n_points = points.length / 2;
    for (let first = 0; first < n_points; first += per_batch) {
        const n = Math.min(per_batch, n_points - first);
        const feeds = {
            image_embeddings: embedding,
            point_coords: new ort.Tensor('float32', Float32Array.from(points.slice(2 * first, 2 * (first + n))), [n, 1, 2]),
            point_labels: new ort.Tensor('float32', new Float32Array(n).fill(1), [n, 1]),
        };
        const d0 = performance.now();
        const out = await decoder.run(feeds);
        decode_ms += performance.now() - d0;
        const iou = out.iou_predictions, masks = out.low_res_masks;
        const channels = iou.dims[1];
        if (iou.dims[0] !== n || masks.dims.join(',') !== `${n},${channels},256,256`) {
            throw new Error(`${decoder.source}: outputs iou_predictions [${iou.dims}], low_res_masks [${masks.dims}] for ${n} points`);
        }
        await tool.ask({ cmd: 'batch', crop, first, n, channels }, [iou.data, masks.data]);
    }
    return decode_ms;
}

const FLAGS = {
    '--points-per-side': ['points_per_side', 'int'], '--points-per-batch': ['points_per_batch', 'int'],
    '--pred-iou-thresh': ['pred_iou_thresh', 'num'], '--stability-score-thresh': ['stability_score_thresh', 'num'],
    '--stability-score-offset': ['stability_score_offset', 'num'], '--box-nms-thresh': ['box_nms_thresh', 'num'],
    '--min-mask-region-area': ['min_mask_region_area', 'int'],
    '--crop-n-layers': ['crop_n_layers', 'int'], '--crop-nms-thresh': ['crop_nms_thresh', 'num'],
    '--crop-overlap-ratio': ['crop_overlap_ratio', 'num'],
    '--crop-n-points-downscale-factor': ['crop_n_points_downscale_factor', 'int'],
};

function parse_args(argv) {
    const o = { params: {}, threads: 0, force: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
            return argv[++i];
        };
        if (a === '--everything') continue;
        if (a === '--help' || a === '-h') { o.help = true; continue; }
        if (a === '--out') o.out = val();
        else if (a === '--decoder-batch') o.decoder = val();
        else if (a === '--encoder') o.encoder = val();
        else if (a === '--threads') o.threads = Number(val());
        else if (a === '--force') o.force = true;
        else if (a === '--low-res-stability') o.params.stability_score_on_low_res = true;
        else if (FLAGS[a]) {
            const [name, kind] = FLAGS[a];
            const v = Number(val());
            if (!Number.isFinite(v) || (kind === 'int' && !Number.isInteger(v))) throw new Error(`${a} needs a ${kind === 'int' ? 'whole ' : ''}number`);
            o.params[name] = v;
        } else throw new Error(`unknown argument ${a}`);
    }
    if (!o.help && !o.out) throw new Error('--out DATASET_DIR is required');
    if (!Number.isInteger(o.threads) || o.threads < 0) throw new Error('--threads needs a whole number');
    if (o.params.crop_n_layers > 0 && !o.encoder) throw new Error('--crop-n-layers needs --encoder (crops get their own embeddings)');
    return o;
}

export function proposals_path(dataset_dir, entry) {
    const stem = path.basename(entry.embedding, path.extname(entry.embedding));
    return path.join(dataset_dir, 'proposals', `${stem}.json`);
}

function is_done(file, entry, decoder_sha256, params) {
    try {
        const p = JSON.parse(fs.readFileSync(file, 'utf8'));
        return p.version === PROPOSALS_VERSION && p.sha256 === entry.sha256 && p.decoder_sha256 === decoder_sha256 &&
            JSON.stringify(p.params) === JSON.stringify(params) && Array.isArray(p.annotations);
    } catch { return false; }
}

// main(argv) -> exit code: 0 all done, 1 some images failed, 2 usage or setup errors.
export async function main(argv) {
    let o;
    try { o = parse_args(argv); } catch (err) {
        console.error(`embed --everything: ${err.message}\n${USAGE}`);
        return 2;
    }
    if (o.help) { console.log(USAGE); return 0; }
    let manifest, decoder, tool, encoder = null;
    const decoder_file = o.decoder || path.join(o.out, 'decoder_batch.onnx');
    try {
        manifest = read_manifest(path.join(o.out, MANIFEST_FILE));
        if (!manifest) throw new Error(`${path.join(o.out, MANIFEST_FILE)} not found: embed the images first`);
        require_sam1(manifest, path.join(o.out, MANIFEST_FILE), '--everything');
        const session_options = o.threads ? { intraOpNumThreads: o.threads, interOpNumThreads: 1 } : {};
        decoder = await load_decoder_session(ort, decoder_file, { expect: 'batch', session_options });
        if (o.params.crop_n_layers > 0) {
            encoder = await sam_encoder.load(o.encoder, { threads: o.threads });
            const want = manifest.model?.encoder_sha256;
            if (want && encoder.sha256 !== want) {
                throw new Error(`${o.encoder} is not the encoder of this dataset (sha256 ${encoder.sha256.slice(0, 12)}..., manifest says ${want.slice(0, 12)}...)`);
            }
        }
        tool = amg_tool.start();
    } catch (err) {
        console.error(`embed --everything: ${err.message}`);
        return 2;
    }
    const decoder_sha256 = await sha256_file(decoder_file);
    // Every parameter, defaults included, so a changed default redoes the work.
    let params;
    try {
        params = (await tool.ask({ cmd: 'everything', height: 1, width: 1, params: o.params })).params;
    } catch (err) {
        console.error(`embed --everything: ${err.message}`);
        tool.close();
        return 2;
    }
    fs.mkdirSync(path.join(o.out, 'proposals'), { recursive: true });
    const failed = [];
    let done = 0, skipped = 0, total_masks = 0;
    const t_all = performance.now();
    for (const [i, entry] of manifest.images.entries()) {
        const tag = `[${i + 1}/${manifest.images.length}] ${entry.file}`;
        const file = proposals_path(o.out, entry);
        if (!o.force && is_done(file, entry, decoder_sha256, params)) {
            skipped++;
            console.log(`${tag}: skipped (proposals up to date)`);
            continue;
        }
        try {
            const embedding = read_embedding(path.join(o.out, entry.embedding));
            const crop_embedding = encoder && (async (box) => {
                const tmp = path.join(o.out, 'proposals', `.crop-${process.pid}.f32`);
                try {
                    await tool.ask({ cmd: 'crop_input', image: path.resolve(o.out, entry.file), crop: box, out: tmp });
                    const buf = fs.readFileSync(tmp);
                    const bytes = buf.byteOffset % 4 === 0 ? buf : Buffer.from(buf);
                    const values = await encoder.run(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
                    return new ort.Tensor('float32', values, [1, 256, 64, 64]);
                } finally {
                    fs.rmSync(tmp, { force: true });
                }
            });
            const r = await everything_one({ tool, decoder, embedding, width: entry.width, height: entry.height, params, crop_embedding });
            const out = {
                version: PROPOSALS_VERSION, image: entry.file, image_id: entry.id, width: entry.width, height: entry.height,
                sha256: entry.sha256, decoder_sha256, params, annotations: r.annotations,
                stats: { ...r.stats, decode_seconds: r.decode_seconds, encode_seconds: r.encode_seconds, seconds: r.seconds },
            };
            await write_file_atomic(file, JSON.stringify(out) + '\n');
            done++;
            total_masks += r.annotations.length;
            const s = r.stats;
            console.log(`${tag}: ${r.annotations.length} masks (${s.masks_seen} decoded, ${s.passed_iou} passed IoU, ` +
                `${s.passed_stability} stable) in ${r.seconds.toFixed(2)} s (decoder ${r.decode_seconds.toFixed(2)} s` +
                (encoder ? `, crop encoder ${r.encode_seconds.toFixed(2)} s)` : ')'));
        } catch (err) {
            failed.push(`${entry.file}: ${err.message}`);
            console.error(`${tag}: FAILED ${err.message}`);
            if (tool.exited) tool = amg_tool.start();
        }
    }
    tool.close();
    await decoder.release?.();
    await encoder?.close();
    const secs = (performance.now() - t_all) / 1000;
    console.log(`everything: ${done} images done, ${skipped} skipped, ${failed.length} failed; ${total_masks} masks; ` +
        `${secs.toFixed(1)} s${done ? ` (${(secs / done).toFixed(2)} s per image)` : ''}`);
    for (const f of failed) console.log(`  failed: ${f}`);
    return failed.length ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
    main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
        console.error(`embed --everything: ${err.message}`);
        process.exit(2);
    });
}

