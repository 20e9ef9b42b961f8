// decoder_session.mjs - loads a SAM prompt encoder + mask decoder ONNX file and
// checks its interface, for onnxruntime-node and onnxruntime-web alike (pass
// the `ort` module in; nothing is imported here, so a browser worker can use it).
//   const dec = await load_decoder_session(ort, 'decoder.onnx');          // official, full or fast
//   const out = await dec.run(decoder_feeds(ort, {image_embeddings, point_coords, point_labels}));
//   out.low_res_masks: ort.Tensor float32 [1,K,256,256] (logits); out.iou_predictions [1,K]
// Kinds: 'full' (official export, also full-resolution `masks`), 'fast' (no `masks`),
// 'batch' (decoder_batch.onnx: point_coords [B,1,2], point_labels [B,1]).
// point_coords are in the 1024 frame of the resized image (ResizeLongestSide).

export const DECODER_INPUTS = ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'];
export const BATCH_INPUTS = ['image_embeddings', 'point_coords', 'point_labels'];
export const LOW_RES_OUTPUTS = ['iou_predictions', 'low_res_masks'];

// Which kind of decoder these names describe, or throw an Error that says what
// was found and what was expected. `expect` is 'single' (full or fast) or 'batch'.
export function decoder_kind(input_names, output_names, { expect = 'single', source = 'decoder' } = {}) {
    const inputs = [...input_names].sort().join(',');
    const has_outputs = LOW_RES_OUTPUTS.every((n) => output_names.includes(n));
    let kind = null;
    if (has_outputs && inputs === [...DECODER_INPUTS].sort().join(',')) {
        kind = output_names.includes('masks') ? 'full' : 'fast';
    } else if (has_outputs && inputs === [...BATCH_INPUTS].sort().join(',')) {
        kind = 'batch';
    }
    const ok = kind !== null && (expect === 'batch' ? kind === 'batch' : kind !== 'batch');
    if (!ok) {
        const want = expect === 'batch'
            ? `inputs ${BATCH_INPUTS.join(', ')} and outputs ${LOW_RES_OUTPUTS.join(', ')} (a decoder_batch.onnx)`
            : `inputs ${DECODER_INPUTS.join(', ')} and outputs ${LOW_RES_OUTPUTS.join(', ')} [, masks] (the official SAM decoder export)`;
        throw new Error(`${source}: not a SAM decoder of the expected interface: found inputs ` +
            `[${input_names.join(', ')}] and outputs [${output_names.join(', ')}], expected ${want}`);
    }
    return kind;
}

// options: {expect: 'single'|'batch', session_options: passed to InferenceSession.create}.
// `model` is whatever InferenceSession.create takes: a path/URL string or the bytes.
export async function load_decoder_session(ort, model, { expect = 'single', session_options = {} } = {}) {
    const source = typeof model === 'string' ? model : 'decoder model bytes';
    let session;
    try {
        session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', ...session_options });
    } catch (err) {
        throw new Error(`${source}: cannot load the decoder: ${err && err.message || err}`);
    }
    const kind = decoder_kind(session.inputNames, session.outputNames, { expect, source });
    return {
        session,
        kind,
        source,
        input_names: session.inputNames,
        // Asks only for the low-res outputs unless told otherwise: computing the
        // full-resolution `masks` of an official export costs more than the decoder.
        async run(feeds, output_names = LOW_RES_OUTPUTS) {
            const wanted = {};
            for (const n of session.inputNames) {
                if (!(n in feeds)) throw new Error(`${source}: missing input ${n}`);
                wanted[n] = feeds[n];
            }
            return session.run(wanted, output_names);
        },
        release() { return session.release ? session.release() : undefined; },
    };
}

// Feeds for a 'full'/'fast' decoder from plain arrays. image_embeddings: Float32Array
// 1*256*64*64 (or an ort.Tensor); point_coords: N*2 (x, y) in the 1024 frame;
// point_labels: N (1 positive, 0 negative, 2/3 box corners, -1 padding); mask_input:
// 256*256 logits or omitted; orig_im_size: [h, w] (only the full variant uses it).
export function decoder_feeds(ort, { image_embeddings, point_coords, point_labels, mask_input = null,
    orig_im_size = [1024, 1024] }) {
    const n = point_labels.length;
    if (point_coords.length !== 2 * n) throw new Error(`decoder_feeds: ${point_coords.length} coordinates for ${n} labels`);
    const emb = image_embeddings instanceof ort.Tensor ? image_embeddings
        : new ort.Tensor('float32', as_f32(image_embeddings), [1, 256, 64, 64]);
    return {
        image_embeddings: emb,
        point_coords: new ort.Tensor('float32', Float32Array.from(point_coords), [1, n, 2]),
        point_labels: new ort.Tensor('float32', Float32Array.from(point_labels), [1, n]),
        mask_input: new ort.Tensor('float32', mask_input ? as_f32(mask_input) : new Float32Array(256 * 256), [1, 1, 256, 256]),
        has_mask_input: new ort.Tensor('float32', new Float32Array([mask_input ? 1 : 0]), [1]),
        orig_im_size: new ort.Tensor('float32', Float32Array.from(orig_im_size), [2]),
    };
}

function as_f32(values) { return values instanceof Float32Array ? values : Float32Array.from(values); }
