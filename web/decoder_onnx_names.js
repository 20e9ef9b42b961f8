// decoder_onnx_names.js - the SAM decoder's ONNX tensor names, spelled as the official
// export (segment_anything/utils/onnx.py) spells them, for the browser's JavaScript.
// The C++ side's decoder contract is src/app/decoder_backend.h, its names src/core/model_spec.h.
export const IMAGE_EMBEDDINGS = 'image_embeddings';  // f32 [1, 256, 64, 64] (SAM 1)
export const IMAGE_EMBED = 'image_embed';            // f32 [1, 256, 64, 64] (SAM 2.1, as common SAM 2 exporters name them)
export const HIGH_RES_FEATS_0 = 'high_res_feats_0';  // f32 [1, 32, 256, 256] (SAM 2.1)
export const HIGH_RES_FEATS_1 = 'high_res_feats_1';  // f32 [1, 64, 128, 128] (SAM 2.1)
export const POINT_COORDS = 'point_coords';          // f32 [1, N, 2], 1024 frame
export const POINT_LABELS = 'point_labels';          // f32 [1, N]: 1, 0, 2/3 box corners, -1 padding
export const MASK_INPUT = 'mask_input';              // f32 [1, 1, 256, 256]
export const HAS_MASK_INPUT = 'has_mask_input';      // f32 [1]
export const ORIG_IM_SIZE = 'orig_im_size';          // f32 [2] (h, w); the official export only
export const MASKS = 'masks';                        // full-resolution logits; the official export only
export const IOU_PREDICTIONS = 'iou_predictions';    // f32 [1, K]
export const LOW_RES_MASKS = 'low_res_masks';        // f32 [1, K, 256, 256]

// The image-side inputs of each family's decoder; the prompt inputs are common to both.
export const SAM1_FEATURES = [IMAGE_EMBEDDINGS];
export const SAM2_1_FEATURES = [IMAGE_EMBED, HIGH_RES_FEATS_0, HIGH_RES_FEATS_1];
export const PROMPT_INPUTS = [POINT_COORDS, POINT_LABELS, MASK_INPUT, HAS_MASK_INPUT];
export const REQUIRED_INPUTS = [...SAM1_FEATURES, ...PROMPT_INPUTS];
export const REQUIRED_OUTPUTS = [IOU_PREDICTIONS, LOW_RES_MASKS];
