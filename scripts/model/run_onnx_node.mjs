// run_onnx_node.mjs - runs a model folder's encoder.onnx and decoder.onnx in onnxruntime-node
// through the embedder's and server's own loaders, for evaluate.py's ONNX-vs-PyTorch check.
//   node scripts/model/run_onnx_node.mjs MODEL_DIR INPUT.npy COORDS_JSON LABELS_JSON OUT_DIR
// INPUT.npy: the preprocessed image f32[1,3,1024,1024]; COORDS_JSON: [[x, y], ...] in the
// 1024 frame; LABELS_JSON: [1, -1, ...]. Writes OUT_DIR/image_embeddings.npy,
// iou_predictions.npy and low_res_masks.npy.
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { sam_encoder, INPUT_SHAPE, EMBEDDING_SHAPE } from '../embedder/encoder.mjs';
import { read_npy, npy_to_f32, npy_bytes } from '../embedder/npy_file.mjs';
import { load_decoder_session, decoder_feeds } from '../lib/decoder_session.mjs';

async function main(argv) {
    if (argv.length !== 5) {
        console.error('usage: node scripts/model/run_onnx_node.mjs MODEL_DIR INPUT.npy COORDS_JSON LABELS_JSON OUT_DIR');
        return 2;
    }
    const [model_dir, input_file, coords_json, labels_json, out_dir] = argv;
    const input = read_npy(fs.readFileSync(input_file));
    if (input.shape.join(',') !== INPUT_SHAPE.join(',')) throw new Error(`${input_file}: shape [${input.shape}], expected [${INPUT_SHAPE}]`);
    const encoder = await sam_encoder.load(path.join(model_dir, 'encoder.onnx'), { threads: 1 });
    const emb = await encoder.run(npy_to_f32(input));
    const decoder = await load_decoder_session(ort, path.join(model_dir, 'decoder.onnx'));
    const labels = JSON.parse(labels_json);
    const out = await decoder.run(decoder_feeds(ort, { image_embeddings: emb, point_coords: JSON.parse(coords_json).flat(),
        point_labels: labels }));
    fs.mkdirSync(out_dir, { recursive: true });
    fs.writeFileSync(path.join(out_dir, 'image_embeddings.npy'), npy_bytes(emb, EMBEDDING_SHAPE));
    for (const name of ['iou_predictions', 'low_res_masks']) {
        fs.writeFileSync(path.join(out_dir, `${name}.npy`), npy_bytes(out[name].data, out[name].dims));
    }
    return 0;
}

main(process.argv.slice(2)).then((rc) => { process.exitCode = rc; }, (err) => {
    console.error(`run_onnx_node: ${err.message}`);
    process.exitCode = 1;
});
