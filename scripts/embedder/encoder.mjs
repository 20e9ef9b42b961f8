// encoder.mjs - the image encoder (SAM 1 or SAM 2.1) in onnxruntime-node.
//   const enc = await sam_encoder.load('encoder.onnx', {threads: 2});
//   enc.spec                               // SAM1_SPEC or SAM2_1_SPEC (scripts/lib/model_spec.mjs)
//   const feats = await enc.run_all(tensor); // tensor: Float32Array 1x3x1024x1024 (preprocessed as
//                                            // enc.spec.preprocess says) -> {feature name: Float32Array}
//   const emb = await enc.run(tensor);       // the first feature only (SAM 1: 1x256x64x64)
// The family comes from the output names (SAM 2.1: image_embed, high_res_feats_0/1);
// a SAM 1 encoder's one output may have any name (official exports differ). Shapes
// are checked so a wrong model fails with a clear message.
import ort from 'onnxruntime-node';
import { sha256_file } from '../server/atomic_file.mjs';
import { SAM1_SPEC, spec_for_encoder } from '../lib/model_spec.mjs';

export const EMBEDDING_SHAPE = SAM1_SPEC.features[0].shape;
export const INPUT_SHAPE = [1, 3, 1024, 1024];

export class sam_encoder {
    static async load(file, { threads = 0 } = {}) {
        const enc = new sam_encoder();
        enc.file = file;
        enc.sha256 = await sha256_file(file);
        const options = { graphOptimizationLevel: 'all' };
        if (threads > 0) { options.intraOpNumThreads = threads; options.interOpNumThreads = 1; }
        try {
            enc.session = await ort.InferenceSession.create(file, options);
        } catch (err) {
            throw new Error(`${file}: cannot load the encoder: ${err.message}`);
        }
        if (enc.session.inputNames.length !== 1) throw new Error(`${file}: expected an encoder with one input (1x3x1024x1024 float32), found ${enc.session.inputNames.join(', ')}`);
        enc.input_name = enc.session.inputNames[0];
        enc.spec = spec_for_encoder(enc.session.outputNames, file);
        // Output name per feature: SAM 2.1 by name; SAM 1 `image_embeddings` or the first output.
        enc.outputs = enc.spec === SAM1_SPEC
            ? [enc.session.outputNames.includes('image_embeddings') ? 'image_embeddings' : enc.session.outputNames[0]]
            : enc.spec.features.map((f) => f.name);
        enc.output_name = enc.outputs[0];
        enc.queue = Promise.resolve();
        return enc;
    }

    // Serialised: one ORT run at a time already uses every intra-op thread.
    run_all(tensor) {
        const job = this.queue.then(async () => {
            const feeds = { [this.input_name]: new ort.Tensor('float32', tensor, INPUT_SHAPE) };
            const out = await this.session.run(feeds, this.outputs);
            const result = {};
            this.spec.features.forEach((f, i) => {
                const t = out[this.outputs[i]];
                if (t.type !== 'float32' || t.dims.join(',') !== f.shape.join(',')) {
                    throw new Error(`${this.file}: output ${this.outputs[i]} is ${t.type}[${t.dims}], expected float32[${f.shape}]`);
                }
                result[f.name] = t.data;
            });
            return result;
        });
        this.queue = job.catch(() => {});
        return job;
    }

    async run(tensor) { return (await this.run_all(tensor))[this.spec.features[0].name]; }

    async close() { await this.session?.release?.(); }
}
