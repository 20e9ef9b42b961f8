// mask_postprocess.h - from the decoder's low-res logits to masks, and mask statistics.
// Low-res logits are 256x256 float32 row-major (one channel of `low_res_masks`),
// covering the padded 1024x1024 encoder frame. postprocess_masks() reproduces
// the official Sam.postprocess_masks to float rounding; postprocess_to_mask()
// gives the same thresholded mask without the full-size float image.
//
//   sam::binary_mask m = sam::postprocess_to_mask(low_res, in.height, in.width, h, w);
//   sam::box_xyxy b = sam::mask_to_box(m);
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/image.h"
#include "core/rle.h"

namespace sam {

constexpr int low_res_mask_size = 256;

// Official: bilinear 256 -> 1024 (align_corners=False), crop to input_h x input_w
// (the resized image inside the padding), bilinear to orig_h x orig_w, no
// antialias, float32 as torch computes it. `out` holds orig_h * orig_w logits.
// Sizes must be positive with input_h, input_w <= 1024 (programmer error otherwise).
void postprocess_masks(const float *low_res, int input_h, int input_w, int orig_h, int orig_w, float *out);

// Same values as postprocess_masks, thresholded (> mask_threshold) straight into a
// mask: streams two rows at a time, never holding a full-size float image.
binary_mask postprocess_to_mask(const float *low_res, int input_h, int input_w, int orig_h, int orig_w,
                                float mask_threshold = 0.0f);

// Same mask as mask_to_rle(postprocess_to_mask(...)), bit for bit, straight to COCO RLE
// (column-major runs) and at the cost of the mask's boundary, not its area: blocks of
// pixels whose low-res logits all lie clearly on one side of the threshold are runs
// without computing a pixel (upsample_blocks.h); the rest get postprocess_masks' float
// operations (a noisy mask, mostly undecided, is streamed whole instead). What accept
// uses: a smooth 2250x1500 mask in ~2 ms instead of ~7.
rle postprocess_to_rle(const float *low_res, int input_h, int input_w, int orig_h, int orig_w,
                       float mask_threshold = 0.0f);

// Official calculate_stability_score for one mask of n logits: IoU of the masks
// thresholded at mask_threshold + offset and mask_threshold - offset (NaN when
// the larger one is empty, as torch's 0/0).
float calculate_stability_score(const float *logits, size_t n, float mask_threshold, float threshold_offset);

// Number of pixels set.
int64_t mask_area(const binary_mask &m);

// batched_mask_to_box for one mask: inclusive pixel indices XYXY of the set
// pixels (x1 is the last set column), {0,0,0,0} for an empty mask.
struct box_xyxy {
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};
box_xyxy mask_to_box(const binary_mask &m);

// COCO bbox [x, y, w, h] as pycocotools' toBbox computes it from the mask:
// w = x1 - x0 + 1 (pixel extent), all zero for an empty mask. Note SAM's AMG
// writes box_xyxy_to_xywh(mask_to_box) instead, which is one pixel smaller.
box_xywh mask_to_coco_bbox(const binary_mask &m);

}  // namespace sam
