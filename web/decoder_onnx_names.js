// decoder_onnx_names.js - the SAM decoder's ONNX tensor names, spelled as the official
// export (segment_anything/utils/onnx.py) spells them, for the browser's JavaScript.
// The C++ side's decoder contract is src/app/decoder_backend.h.
export const IMAGE_EMBEDDINGS = 'image_embeddings';  // f32 [1, 256, 64, 64]
export const POINT_COORDS = 'point_coords';          // f32 [1, N, 2], 1024 frame
export const POINT_LABELS = 'point_labels';          // f32 [1, N]: 1, 0, 2/3 box corners, -1 padding
export const MASK_INPUT = 'mask_input';              // f32 [1, 1, 256, 256]
export const HAS_MASK_INPUT = 'has_mask_input';      // f32 [1]
export const ORIG_IM_SIZE = 'orig_im_size';          // f32 [2] (h, w); the official export only
export const MASKS = 'masks';                        // full-resolution logits; the official export only
export const IOU_PREDICTIONS = 'iou_predictions';    // f32 [1, K]
export const LOW_RES_MASKS = 'low_res_masks';        // f32 [1, K, 256, 256]

export const REQUIRED_INPUTS = [IMAGE_EMBEDDINGS, POINT_COORDS, POINT_LABELS, MASK_INPUT, HAS_MASK_INPUT];
export const REQUIRED_OUTPUTS = [IOU_PREDICTIONS, LOW_RES_MASKS];
