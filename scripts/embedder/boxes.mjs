// boxes.mjs - scripts/embed --boxes: detector boxes -> SAM masks -> one COCO file.
// The native sam_amg tool parses the boxes (COCO JSON or a YOLO folder), matches them to
// the dataset's images, maps each box to the 1024 frame, upsamples each mask and writes
// the COCO file; this file runs the decoder (onnxruntime-node) and ferries tensors.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { load_decoder_session, decoder_feeds } from '../lib/decoder_session.mjs';
import { read_manifest, MANIFEST_FILE, require_sam1 } from './dataset.mjs';
import { amg_tool, read_embedding } from './everything.mjs';

const USAGE = `usage: scripts/embed --boxes BOXES --out DATASET_DIR [--classes classes.txt]
                    [--decoder decoder.onnx] [--coco-out FILE] [--rle] [--threads T]
  BOXES is a COCO JSON file (a dataset with images/annotations/categories, matched to
  the dataset's images by file_name, or a detection results list matched by image_id)
  or a folder of YOLO label files <image stem>.txt ("class cx cy w h [score]",
  normalised; class names from --classes, else classes.txt or obj.names in the folder).
  Each box is a SAM box prompt (labels 2, 3; single-mask output); the masks go to
  --coco-out (default DATASET_DIR/boxes_coco.json) as machine-made annotations with the
  detector's category and score. Malformed lines are reported with file and line; a
  summary lists boxes that gave empty or tiny masks.
  Exit status: 0 ok, 1 some boxes were malformed or unmatched, 2 usage or setup errors.`;

function parse_args(argv) {
    const o = { threads: 0, rle: false };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
            return argv[++i];
        };
        if (a === '--help' || a === '-h') o.help = true;
        else if (a === '--boxes') o.boxes = val();
        else if (a === '--out') o.out = val();
        else if (a === '--classes') o.classes = val();
        else if (a === '--decoder') o.decoder = val();
        else if (a === '--coco-out') o.coco_out = val();
        else if (a === '--rle') o.rle = true;
        else if (a === '--threads') o.threads = Number(val());
        else throw new Error(`unknown argument ${a}`);
    }
    if (o.help) return o;
    if (!o.boxes) throw new Error('--boxes FILE_OR_FOLDER is required');
    if (!o.out) throw new Error('--out DATASET_DIR is required');
    if (!Number.isInteger(o.threads) || o.threads < 0) throw new Error('--threads needs a whole number');
    return o;
}

const fmt_box = (b) => `[${b.map((v) => Math.round(v * 10) / 10).join(', ')}]`;

// main(argv) -> exit code.
export async function main(argv) {
    let o;
    try { o = parse_args(argv); } catch (err) {
        console.error(`embed --boxes: ${err.message}\n${USAGE}`);
        return 2;
    }
    if (o.help) { console.log(USAGE); return 0; }
    let manifest, decoder, tool, load;
    try {
        manifest = read_manifest(path.join(o.out, MANIFEST_FILE));
        if (!manifest) throw new Error(`${path.join(o.out, MANIFEST_FILE)} not found: embed the images first`);
        require_sam1(manifest, path.join(o.out, MANIFEST_FILE), '--boxes');
        const decoder_file = o.decoder || path.join(o.out, manifest.model?.decoder || 'decoder.onnx');
        const session_options = o.threads ? { intraOpNumThreads: o.threads, interOpNumThreads: 1 } : {};
        decoder = await load_decoder_session(ort, decoder_file, { expect: 'single', session_options });
        const st = fs.statSync(o.boxes, { throwIfNoEntry: false });
        if (!st) throw new Error(`${o.boxes} does not exist`);
        tool = amg_tool.start();
        load = await tool.ask({
            cmd: 'boxes_load', format: st.isDirectory() ? 'yolo' : 'coco', path: o.boxes, classes: o.classes ?? null,
            images: manifest.images.map(({ id, file, width, height }) => ({ id, file, width, height })),
        });
    } catch (err) {
        tool?.close();
        console.error(`embed --boxes: ${err.message}`);
        return 2;
    }
    for (const p of load.problems) console.error(`malformed: ${p}`);
    for (const u of load.unmatched) console.error(`no such image in the dataset: ${u}`);

    const entries = new Map(manifest.images.map((e) => [e.id, e]));
    const t0 = performance.now();
    let n_boxes = 0, decode_ms = 0;
    for (const [j, job] of load.jobs.entries()) {
        const entry = entries.get(job.image_id);
        const ti = performance.now();
        const embedding = read_embedding(path.join(o.out, entry.embedding));
        for (const b of job.boxes) {
            const d0 = performance.now();
            const out = await decoder.run(decoder_feeds(ort, {
                image_embeddings: embedding, point_coords: b.point_coords, point_labels: [2, 3],
                orig_im_size: [entry.height, entry.width],
            }));
            decode_ms += performance.now() - d0;
            const iou = out.iou_predictions, masks = out.low_res_masks;
            await tool.ask({ cmd: 'boxes_mask', index: b.index, channels: iou.dims[1] }, [iou.data, masks.data]);
            n_boxes++;
        }
        const secs = (performance.now() - ti) / 1000;
        console.log(`[${j + 1}/${load.jobs.length}] ${entry.file}: ${job.boxes.length} boxes in ${secs.toFixed(2)} s` +
            (job.boxes.length ? ` (${(1000 * secs / job.boxes.length).toFixed(0)} ms per box)` : ''));
    }
    const coco_out = o.coco_out || path.join(o.out, 'boxes_coco.json');
    let w;
    try {
        w = await tool.ask({ cmd: 'boxes_write', path: coco_out, segmentation: o.rle ? 'rle' : 'polygons' });
    } catch (err) {
        console.error(`embed --boxes: ${err.message}`);
        return 2;
    } finally {
        tool.close();
        await decoder.release?.();
    }
    const secs = (performance.now() - t0) / 1000;
    console.log(`boxes: ${n_boxes} boxes on ${load.jobs.length} images -> ${w.annotations} masks in ${coco_out}; ` +
        `${w.empty.length} empty, ${w.tiny.length} tiny; ${load.problems.length} malformed, ${load.unmatched.length} unmatched; ` +
        `${secs.toFixed(1)} s${n_boxes ? ` (${(1000 * secs / n_boxes).toFixed(0)} ms per box, decoder ${(decode_ms / n_boxes).toFixed(0)} ms)` : ''}`);
    for (const e of w.empty) console.log(`  empty mask: ${e.image} box ${fmt_box(e.bbox)} ${e.category}`);
    for (const e of w.tiny) console.log(`  tiny mask (${e.area} px): ${e.image} box ${fmt_box(e.bbox)} ${e.category}`);
    return load.problems.length || load.unmatched.length ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
    main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
        console.error(`embed --boxes: ${err.message}`);
        process.exit(2);
    });
}
