// encoder.mjs - the SAM image encoder in onnxruntime-node.
//   const enc = await sam_encoder.load('encoder.onnx', {threads: 2});
//   const emb = await enc.run(tensor);  // tensor: Float32Array 1x3x1024x1024 -> Float32Array 1x256x64x64
// Input and output names come from the model (official exports name them
// differently); the shapes are checked so a wrong model fails with a clear message.
import ort from 'onnxruntime-node';
import { sha256_file } from '../server/atomic_file.mjs';

export const EMBEDDING_SHAPE = [1, 256, 64, 64];
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
        enc.output_name = enc.session.outputNames.includes('image_embeddings') ? 'image_embeddings' : enc.session.outputNames[0];
        enc.queue = Promise.resolve();
        return enc;
    }

    // Serialised: one ORT run at a time already uses every intra-op thread.
    run(tensor) {
        const job = this.queue.then(async () => {
            const feeds = { [this.input_name]: new ort.Tensor('float32', tensor, INPUT_SHAPE) };
            const out = await this.session.run(feeds, [this.output_name]);
            const t = out[this.output_name];
            if (t.type !== 'float32' || t.dims.join(',') !== EMBEDDING_SHAPE.join(',')) {
                throw new Error(`${this.file}: output ${this.output_name} is ${t.type}[${t.dims}], expected float32[${EMBEDDING_SHAPE}]`);
            }
            return t.data;
        });
        this.queue = job.catch(() => {});
        return job;
    }

    async close() { await this.session?.release?.(); }
}
