// scripts/embed --boxes with the tiny test model: COCO dataset JSON, COCO detection
// results and a YOLO folder become one COCO file of machine-made masks with the
// detector's categories and scores; malformed lines are reported with file and line;
// each mask equals the official full-resolution decoder output for that box prompt.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { TINY, run_embed, make_images, read_json } from './embed_harness.mjs';
import { amg_tool, read_embedding } from '../../scripts/embedder/everything.mjs';

const ENCODER = path.join(TINY, 'encoder.onnx');
const DECODER = path.join(TINY, 'decoder.onnx');
let tmp, ds, manifest;

before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-boxes-'));
    ds = path.join(tmp, 'ds');
    make_images(path.join(tmp, 'src'), 2);  // img00.png 40x30, img01.png 48x36
    const r = await run_embed(['--encoder', ENCODER, '--decoder', DECODER, '--images', path.join(tmp, 'src'), '--out', ds]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    manifest = read_json(path.join(ds, 'manifest.json'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const entry = (name) => manifest.images.find((e) => e.file.endsWith(name));

// The official full-resolution decoder (decoder_full.onnx computes `masks` itself) with the
// box mapped by ResizeLongestSide.apply_boxes: the mask area the C++ path must reproduce.
async function official_area(e, box_xywh) {
    const session = await ort.InferenceSession.create(path.join(TINY, 'decoder_full.onnx'), { intraOpNumThreads: 1 });
    const scale = 1024 / Math.max(e.width, e.height);
    const nw = Math.floor(e.width * scale + 0.5), nh = Math.floor(e.height * scale + 0.5);
    const [x, y, w, h] = box_xywh;
    const coords = [x * nw / e.width, y * nh / e.height, (x + w) * nw / e.width, (y + h) * nh / e.height];
    const out = await session.run({
        image_embeddings: read_embedding(path.join(ds, e.embedding)),
        point_coords: new ort.Tensor('float32', Float32Array.from(coords), [1, 2, 2]),
        point_labels: new ort.Tensor('float32', Float32Array.from([2, 3]), [1, 2]),
        mask_input: new ort.Tensor('float32', new Float32Array(256 * 256), [1, 1, 256, 256]),
        has_mask_input: new ort.Tensor('float32', new Float32Array([0]), [1]),
        orig_im_size: new ort.Tensor('float32', Float32Array.from([e.height, e.width]), [2]),
    }, ['masks']);
    const m = out.masks.data;
    let area = 0;
    for (let i = 0; i < e.width * e.height; i++) area += m[i] > 0;  // mask 0: multimask_output=False
    return area;
}

function check_common(coco, n_annotations) {
    assert.equal(coco.images.length, 2);
    assert.equal(coco.annotations.length, n_annotations);
    for (const a of coco.annotations) {
        assert.equal(a.sam.source, 'machine');
        assert.ok(coco.images.some((im) => im.id === a.image_id));
        assert.ok(coco.categories.some((c) => c.id === a.category_id));
        assert.ok(a.area > 0);
    }
}

test('--boxes from a COCO dataset file: categories, scores, clipping, malformed entries by line', async () => {
    const det = path.join(tmp, 'det.json');
    fs.writeFileSync(det, JSON.stringify({
        images: [{ id: 7, file_name: 'img00.png', width: 40, height: 30 }, { id: 8, file_name: 'elsewhere/img01.png', width: 48, height: 36 },
            { id: 9, file_name: 'missing.png', width: 10, height: 10 }],
        categories: [{ id: 3, name: 'widget' }, { id: 5, name: 'gadget' }],
        annotations: [
            { image_id: 7, category_id: 3, bbox: [5, 4, 20, 15], score: 0.91 },
            { image_id: 8, category_id: 5, bbox: [30, 20, 40, 40], score: 0.42 },
            { image_id: 8, category_id: 5, bbox: [1, 2, 3] },
            { image_id: 9, category_id: 3, bbox: [1, 1, 5, 5] },
        ],
    }, null, 1));
    const out = path.join(tmp, 'det_coco.json');
    const r = await run_embed(['--boxes', det, '--out', ds, '--coco-out', out, '--rle', '--threads', '1']);
    assert.equal(r.code, 1, r.stderr + r.stdout);  // one malformed box and one unknown image
    assert.match(r.stderr, /det\.json:\d+: annotations\[2\]: bbox must be 4 finite numbers/);
    assert.match(r.stderr, /no such image in the dataset: missing\.png/);
    assert.match(r.stdout, /boxes: 2 boxes on 2 images -> 2 masks/);

    const coco = read_json(out);
    check_common(coco, 2);
    const byname = Object.fromEntries(coco.categories.map((c) => [c.id, c.name]));
    assert.deepEqual(byname, { 3: 'widget', 5: 'gadget' });
    const [a, b] = coco.annotations;
    assert.equal(a.category_id, 3);
    assert.equal(a.sam.score, 0.91);
    assert.deepEqual(a.sam.prompts.box, [5, 4, 25, 19]);
    assert.equal(b.sam.score, 0.42);
    assert.deepEqual(b.sam.prompts.box, [30, 20, 48, 36]);  // clipped to the 48x36 image
    assert.equal(coco.images.find((im) => im.id === b.image_id).file_name, entry('img01.png').file);

    // Same mask as the official full-resolution output for the same box prompt (area to
    // within float rounding at the threshold).
    const want = await official_area(entry('img00.png'), [5, 4, 20, 15]);
    assert.ok(Math.abs(a.area - want) <= 2, `area ${a.area} vs official ${want}`);
});

test('--boxes from COCO detection results matched by image id, and from a YOLO folder', async () => {
    const res = path.join(tmp, 'results.json');
    const id0 = entry('img00.png').id, id1 = entry('img01.png').id;
    fs.writeFileSync(res, JSON.stringify([
        { image_id: id0, category_id: 1, bbox: [0, 0, 20, 20], score: 0.7 },
        { image_id: id1, category_id: 2, bbox: [10, 10, 20, 20], score: 0.6 },
        { image_id: id1, category_id: 2, bbox: [10, 10, 20, 20], score: 0.5 },
    ]));
    const r = await run_embed(['--boxes', res, '--out', ds, '--threads', '1']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const coco = read_json(path.join(ds, 'boxes_coco.json'));
    check_common(coco, 3);
    assert.deepEqual(coco.annotations.map((a) => a.sam.score), [0.7, 0.6, 0.5]);
    assert.deepEqual(coco.categories.map((c) => c.name).sort(), ['category 1', 'category 2']);

    const yolo = path.join(tmp, 'yolo');
    fs.mkdirSync(yolo);
    fs.writeFileSync(path.join(yolo, 'classes.txt'), 'car\nperson\n');
    fs.writeFileSync(path.join(yolo, 'img00.txt'), '1 0.5 0.5 0.5 0.5 0.88\n0 0.25 0.25 0.2\n');
    fs.writeFileSync(path.join(yolo, 'img01.txt'), '# detector v2\n\n0 0.5 0.5 0.25 0.5\n5 0.5 0.5 0.1 0.1\n');
    fs.writeFileSync(path.join(yolo, 'nope.txt'), '0 0.5 0.5 0.1 0.1\n');
    const r2 = await run_embed(['--boxes', yolo, '--out', ds, '--coco-out', path.join(tmp, 'yolo_coco.json'), '--threads', '1']);
    assert.equal(r2.code, 1, r2.stderr + r2.stdout);
    assert.match(r2.stderr, /img00\.txt:2: expected 5 or 6 numbers/);
    assert.match(r2.stderr, /img01\.txt:4: class 5 is not in the class list \(2 classes\)/);
    assert.match(r2.stderr, /no such image in the dataset: nope\.txt/);
    const c2 = read_json(path.join(tmp, 'yolo_coco.json'));
    check_common(c2, 2);
    assert.deepEqual(Object.fromEntries(c2.categories.map((c) => [c.id, c.name])), { 1: 'car', 2: 'person' });
    const p = c2.annotations.find((a) => a.category_id === 2);
    assert.equal(p.sam.score, 0.88);
    assert.deepEqual(p.sam.prompts.box, [10, 7.5, 30, 22.5]);  // 40x30 image, cx cy w h = .5 .5 .5 .5
    // Polygons by default (the COCO export's choice), RLE where polygons cannot hold the mask.
    for (const a of c2.annotations) assert.ok(Array.isArray(a.segmentation) || typeof a.segmentation.counts === 'string');
});

test('--boxes refuses a missing boxes file and a dataset without a manifest', async () => {
    const r = await run_embed(['--boxes', path.join(tmp, 'none.json'), '--out', ds]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /none\.json does not exist/);
    const r2 = await run_embed(['--boxes', path.join(tmp, 'results.json'), '--out', path.join(tmp, 'empty')]);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /manifest\.json not found/);
});

test('sam_amg box / box_mask (the one-box requests): official apply_boxes and the official mask', async () => {
    const e = entry('img01.png');
    const bbox = [6.5, 3, 30, 25.25];
    const tool = amg_tool.start();
    try {
        const b = await tool.ask({ cmd: 'box', height: e.height, width: e.width, bbox });
        assert.deepEqual(b.point_labels, [2, 3]);
        const scale = 1024 / Math.max(e.width, e.height);
        const nw = Math.floor(e.width * scale + 0.5), nh = Math.floor(e.height * scale + 0.5);
        const want = [bbox[0] * nw / e.width, bbox[1] * nh / e.height, (bbox[0] + bbox[2]) * nw / e.width, (bbox[1] + bbox[3]) * nh / e.height];
        for (let k = 0; k < 4; k++) assert.ok(Math.abs(b.point_coords[k] - want[k]) < 1e-3, `${b.point_coords} vs ${want}`);

        const session = await ort.InferenceSession.create(DECODER, { intraOpNumThreads: 1 });
        const out = await session.run({
            image_embeddings: read_embedding(path.join(ds, e.embedding)),
            point_coords: new ort.Tensor('float32', Float32Array.from(b.point_coords), [1, 2, 2]),
            point_labels: new ort.Tensor('float32', Float32Array.from([2, 3]), [1, 2]),
            mask_input: new ort.Tensor('float32', new Float32Array(256 * 256), [1, 1, 256, 256]),
            has_mask_input: new ort.Tensor('float32', new Float32Array([0]), [1]),
            orig_im_size: new ort.Tensor('float32', Float32Array.from([e.height, e.width]), [2]),
        });
        const iou = out.iou_predictions, masks = out.low_res_masks;
        const m = await tool.ask({ cmd: 'box_mask', height: e.height, width: e.width, channels: iou.dims[1] }, [iou.data, masks.data]);
        assert.deepEqual(m.segmentation.size, [e.height, e.width]);
        assert.equal(m.predicted_iou, iou.data[0]);
        assert.ok(Math.abs(m.area - await official_area(e, bbox)) <= 2);
        await assert.rejects(tool.ask({ cmd: 'box_mask', height: e.height, width: e.width, channels: 4 }, [iou.data]), /payload has/);
    } finally {
        tool.close();
    }
});
