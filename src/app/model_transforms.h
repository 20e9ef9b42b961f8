// model_transforms.h - the transforms of the dataset's model family (its manifest's model
// spec, core/model_spec.h) wherever the app talks to the decoder: image pixels (x, y) of
// the orig_w x orig_h oriented image -> the decoder's 1024 input frame (SAM 1:
// ResizeLongestSide, one scale for both axes, padded bottom-right; SAM 2.1: stretched,
// x * 1024 / W and y * 1024 / H), the prompt tensors as each family's predictor lays
// them out, the 256 x 256 low-res logits back to a full-size mask, and the single-mask
// choice. One switch on the spec here; the core's own functions do the arithmetic.
//   model_apply_coords(spec.preprocess, xy, n, {h, w});  model_prompt(spec.family, ...);
//   rle m = model_postprocess_to_rle(spec.preprocess, logits, h, w);
#pragma once
#include <cstddef>
#include <vector>

#include "core/image.h"
#include "core/model_spec.h"
#include "core/resize_longest_side.h"
#include "core/rle.h"

namespace sam {

// Image pixels -> 1024 frame, in place (n points / n boxes XYXY), in the float
// arithmetic of the family's official transform.
void model_apply_coords(preprocess_kind p, double *xy, size_t n, image_shape original);
void model_apply_boxes(preprocess_kind p, double *xyxy, size_t n, image_shape original);

// 1024-frame units per image pixel along x and y (scale[0], scale[1]): SAM 1
// 1024 / max(W, H) on both axes; SAM 2.1 1024 / W and 1024 / H. The candidate
// overlay samples the low-res logits at image pixel * scale / 4.
void model_frame_scale(preprocess_kind p, int orig_w, int orig_h, float scale[2]);

// The decoder's point_coords (N x 2) and point_labels (N) for points (xy, labels: 1
// positive, 0 negative; already in the 1024 frame) and an optional box (box_1024 XYXY
// in the 1024 frame, or nullptr), laid out as each family's predictor does:
// - SAM 1 (SamPredictor, the official ONNX example): the points, then the box corners
//   (labels 2, 3), or without a box the padding point (0, 0) with label -1;
// - SAM 2.1 (SAM2ImagePredictor._predict): the box corners first, then the points, no
//   padding point (its decoder adds it inside, as SAM 2's prompt encoder pads).
void model_prompt(model_family f, const std::vector<float> &xy, const std::vector<float> &labels,
                  const float *box_1024, std::vector<float> &point_coords, std::vector<float> &point_labels);

// Low-res logits (256 x 256, the 1024 frame / 4) -> the orig_h x orig_w mask, > 0:
// SAM 1's postprocess_masks (crop the resized image out of the padded frame) or SAM 2's
// one bilinear resize (sam2::postprocess_to_mask), thresholded at 0, as COCO RLE (SAM 1:
// postprocess_to_rle, at the cost of the mask's boundary).
rle model_postprocess_to_rle(preprocess_kind p, const float *low_res, int orig_h, int orig_w);

// The output a single-mask prediction (predict(multimask_output=False)) returns, as an
// index into the decoder's k outputs (iou: k floats; low_res: k x 256 x 256): SAM 1 the
// single-mask token 0; SAM 2.1 token 0 unless it is unstable, else the best multimask
// output (sam2::select_single_mask). Decoders with other than 4 outputs: 0.
int model_single_mask(single_mask_rule rule, const float *iou, const float *low_res, int k);

}  // namespace sam
