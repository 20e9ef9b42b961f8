// sam2_transforms.h - SAM 2's image transforms (the official SAM2Transforms) and its
// image predictor's single-mask choice. Frames: original image pixels, (x, y) in
// W x H; the encoder's 1024 x 1024 "input frame" covers the whole image, stretched
// (x * 1024 / W, y * 1024 / H; no padding); low-res logits are 256 x 256 float32
// row-major over the input frame (one channel of the decoder's `low_res_masks`).
//
//   std::vector<float> x(3 * 1024 * 1024);
//   sam::status st = sam::sam2::preprocess(img, x.data());       // encoder input, CHW
//   sam::sam2::apply_coords(xy, n, {img.height, img.width});      // clicks -> input frame
//   int k = sam::sam2::select_single_mask(iou, low_res_masks);    // of the 4 outputs
//   sam::binary_mask m = sam::sam2::postprocess_to_mask(low_res_masks + k * 65536, h, w);
#pragma once
#include <cstddef>

#include "core/image.h"
#include "core/resize_longest_side.h"
#include "core/status.h"

namespace sam {
namespace sam2 {

constexpr int image_size = 1024;
constexpr int low_res_size = 256;

// ImageNet statistics on [0, 1] pixel values (RGB).
extern const float image_mean[3];
extern const float image_std[3];

// torch.nn.functional.interpolate(mode="bilinear", align_corners=False,
// antialias=True) on `channels` float32 planes (CHW): the triangle filter
// widened by the scale when shrinking, horizontal pass first, weights and sums
// in float32 as torch's CPU kernel forms them. This is torchvision's
// Resize(antialias=True), the default since torchvision 0.17 (which sam2 1.1.0
// requires) and PIL's BILINEAR in float; torchvision 0.14's tensor default
// (antialias off) gives the same result when the image only grows.
void resize_antialias(const float *src, int channels, int in_h, int in_w, int out_h, int out_w, float *dst);

// SAM2Transforms: ToTensor (v / 255), resize to 1024 x 1024 ignoring the aspect
// ratio (resize_antialias), Normalize(image_mean, image_std), all float32.
// `out` holds 3 * 1024 * 1024 floats, CHW. Accepts 1 (grey -> RGB), 3 or 4
// (alpha dropped) channels.
status preprocess(const image_u8 &img, float *out);

// Original -> input frame, in place, in float32 as transform_coords computes
// it: x' = (x / W) * 1024 (the coordinates are float32 there). xy: n (x, y)
// points; xyxy: n boxes (the predictor passes them as two corner points).
void apply_coords(double *xy, size_t n, image_shape original);
void apply_boxes(double *xyxy, size_t n, image_shape original);
// Input frame -> original (not in the official code; for drawing decoder-space results).
void unapply_coords(double *xy, size_t n, image_shape original);
void unapply_boxes(double *xyxy, size_t n, image_shape original);

// SAM2Transforms.postprocess_masks (max_hole_area = max_sprinkle_area = 0, the
// predictor's defaults): one bilinear resize 256 x 256 -> orig_h x orig_w
// (align_corners=False, no antialias), float32 as torch computes it. `out` holds
// orig_h * orig_w logits. Sizes must be positive (programmer error otherwise).
void postprocess_masks(const float *low_res, int orig_h, int orig_w, float *out);
// The same values thresholded (> mask_threshold), never holding the full-size floats.
binary_mask postprocess_to_mask(const float *low_res, int orig_h, int orig_w, float mask_threshold = 0.0f);

// MaskDecoder._get_stability_scores: area(logits > delta) / area(logits > -delta),
// 1 when the latter is empty (SAM 1's calculate_stability_score gives NaN there).
float stability_score(const float *logits, size_t n, float delta);

// build_sam2's settings for images.
constexpr float dynamic_multimask_stability_delta = 0.05f;
constexpr float dynamic_multimask_stability_thresh = 0.98f;

// What SAM2ImagePredictor.predict(multimask_output=False) returns, as an index
// into the decoder's outputs: 0 (the single-mask token) when its low-res mask is
// stable (stability_score >= 0.98 at +-0.05), else the multimask output 1..3
// with the highest predicted IoU (the first on ties, as torch.argmax).
// iou: `channels` floats; low_res: channels x 256 x 256 (4 channels: 0 single, 1-3 multi).
int select_single_mask(const float *iou, const float *low_res, int channels = 4);

}  // namespace sam2
}  // namespace sam
