// model_spec.mjs - the model spec a dataset's manifest carries ("model.spec"), the
// JavaScript twin of src/core/model_spec.h (which the app uses to read it): family,
// preprocessing, feature tensors per image, decoder interface, single-mask rule.
//   const spec = spec_for_encoder(session.outputNames);   // SAM 1 or SAM 2.1, from the encoder's outputs
//   manifest_version(spec)  -> 1 (SAM 1: old readers still load it) or 2
//   spec_of_manifest(m, file) -> the spec of a parsed manifest (version 1 without one: SAM 1)
// Feature files of an image: SAM 1 one .npy (`embedding`); SAM 2.1 three, listed in
// the entry's `features` {name: file}; each file float32 or float16 (`embedding_dtype`).

export const SAM1_SPEC = Object.freeze({
    family: 'sam',
    preprocess: 'longest_side_1024',
    image_size: 1024,
    features: [{ name: 'image_embeddings', shape: [1, 256, 64, 64] }],
    decoder: {
        inputs: ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'],
        outputs: ['iou_predictions', 'low_res_masks'],
    },
    single_mask: 'token_0',
    default_dtype: 'float32',
});

export const SAM2_1_SPEC = Object.freeze({
    family: 'sam2.1',
    preprocess: 'square_1024',
    image_size: 1024,
    features: [
        { name: 'image_embed', shape: [1, 256, 64, 64] },
        { name: 'high_res_feats_0', shape: [1, 32, 256, 256] },
        { name: 'high_res_feats_1', shape: [1, 64, 128, 128] },
    ],
    decoder: {
        inputs: ['image_embed', 'high_res_feats_0', 'high_res_feats_1', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input'],
        outputs: ['iou_predictions', 'low_res_masks'],
    },
    single_mask: 'dynamic_stability',
    // 8 MiB per image in float16 (16 in float32): half the disk and download at
    // ~1e-3 relative error (see scripts/model/README.md).
    default_dtype: 'float16',
});

const SPECS = [SAM1_SPEC, SAM2_1_SPEC];

// What goes into manifest.json: the spec without the embedder's own defaults.
export function spec_json(spec) {
    const { default_dtype, ...rest } = spec;
    return JSON.parse(JSON.stringify(rest));
}

export function manifest_version(spec) { return spec.family === SAM1_SPEC.family ? 1 : 2; }

// SAM 2.1 when the encoder has its three outputs; otherwise SAM 1 (official SAM 1
// exports name their output differently, so any single output is taken for it).
export function spec_for_encoder(output_names, source = 'encoder') {
    const sam2 = SAM2_1_SPEC.features.map((f) => f.name);
    if (sam2.every((n) => output_names.includes(n))) return SAM2_1_SPEC;
    if (output_names.some((n) => sam2.includes(n))) {
        throw new Error(`${source}: has some of SAM 2.1's outputs (${sam2.join(', ')}) but not all: found ${output_names.join(', ')}`);
    }
    return SAM1_SPEC;
}

// JSON with object keys sorted, so that key order does not matter.
function canonical(x) {
    if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
    if (x && typeof x === 'object') return `{${Object.keys(x).sort().map((k) => `${JSON.stringify(k)}:${canonical(x[k])}`).join(',')}}`;
    return JSON.stringify(x);
}

// The spec of a parsed manifest, checked as the app checks it.
export function spec_of_manifest(m, file = 'manifest.json') {
    const spec = m?.model?.spec;
    if (spec === undefined) {
        if (m?.version === 2) throw new Error(`${file}: model.spec missing (version 2 manifests describe their model)`);
        return SAM1_SPEC;
    }
    const known = SPECS.find((s) => s.family === spec?.family);
    if (!known) throw new Error(`${file}: model.spec.family ${JSON.stringify(spec?.family)} not supported (expected "sam" or "sam2.1")`);
    if (canonical(spec_json(known)) !== canonical(spec)) {
        throw new Error(`${file}: model.spec does not match family ${known.family}: expected ${JSON.stringify(spec_json(known))}`);
    }
    if (m.version === 1 && known !== SAM1_SPEC) throw new Error(`${file}: version 1 manifests are SAM 1 only; ${known.family} needs version 2`);
    return known;
}

// An image's feature files, in spec order (as the manifest entry names them).
export function entry_feature_files(spec, entry) {
    if (spec.features.length === 1 && !entry.features) return [entry.embedding];
    return spec.features.map((f) => entry.features?.[f.name]);
}

// File names for one image: SAM 1 keeps embeddings/<stem>.npy; SAM 2.1 puts each
// feature in its own folder, embeddings/<feature>/<stem>.npy (no name can clash).
export function feature_files_for(spec, embedding) {
    if (spec.features.length === 1) return { [spec.features[0].name]: embedding };
    const dir = embedding.slice(0, embedding.lastIndexOf('/') + 1);
    const base = embedding.slice(dir.length);
    return Object.fromEntries(spec.features.map((f) => [f.name, `${dir}${f.name}/${base}`]));
}

// Throws unless a decoder with these input/output names serves the spec (inputs
// exactly the spec's, in any order; outputs at least the spec's).
export function check_decoder_names(spec, input_names, output_names, source = 'decoder') {
    const want = [...spec.decoder.inputs].sort().join(',');
    if ([...input_names].sort().join(',') !== want || !spec.decoder.outputs.every((n) => output_names.includes(n))) {
        throw new Error(`${source}: not a ${spec.family} decoder: found inputs [${input_names.join(', ')}] and outputs ` +
            `[${output_names.join(', ')}], expected inputs [${spec.decoder.inputs.join(', ')}] and outputs [${spec.decoder.outputs.join(', ')}]`);
    }
}
