// resize_longest_side.h - SAM's ResizeLongestSide and the encoder preprocessing.
// Sizes are (height, width) in pixels; coordinates are (x, y) pairs and boxes
// XYXY, in original-image pixels or in the "1024 frame" of the resized image
// (before padding). preprocess() writes the exact float32 encoder input
// 1x3x1024x1024 (CHW) that segment-anything's SamPredictor.set_image produces.
//
//   sam::image_shape in = sam::get_preprocess_shape(img.height, img.width);
//   std::vector<float> x(3 * 1024 * 1024);
//   sam::status st = sam::preprocess(img, x.data());
#pragma once
#include <cstddef>

#include "core/image.h"
#include "core/status.h"

namespace sam {

// The encoder's square input side (official img_size / target_length).
constexpr int encoder_image_size = 1024;

struct image_shape {
    int height = 0;
    int width = 0;
};

// Official float64 rule: scale = long_side / max(h, w); new = int(old * scale + 0.5).
image_shape get_preprocess_shape(int old_h, int old_w, int long_side = encoder_image_size);

// Original -> resized frame, in place. xy: n points as (x, y); xyxy: n boxes.
// Same float64 arithmetic as ResizeLongestSide.apply_coords / apply_boxes.
void apply_coords(double *xy, size_t n, image_shape original, int long_side = encoder_image_size);
void apply_boxes(double *xyxy, size_t n, image_shape original, int long_side = encoder_image_size);

// Resized frame -> original, in place (the inverse of the two above; not in
// the official code, used to show decoder-space results on the image).
void unapply_coords(double *xy, size_t n, image_shape original, int long_side = encoder_image_size);
void unapply_boxes(double *xyxy, size_t n, image_shape original, int long_side = encoder_image_size);

// Pillow 9.4 Image.resize(..., BILINEAR) on uint8 data, bit-exact: triangle
// filter widened by the scale when downscaling (antialiasing), 22-bit fixed
// point coefficients, horizontal pass first. Works per channel for any channel
// count (no alpha premultiplication, unlike Pillow's RGBA path). Returns an
// empty image if a size is not positive.
image_u8 resize_image(const image_u8 &in, int new_h, int new_w);

// Encoder input: resize to get_preprocess_shape, (v - mean) / std per channel
// in float32 as torch computes it, zero padding bottom/right. `out` holds
// 3 * 1024 * 1024 floats, CHW. Accepts 1 (grey -> RGB), 3 or 4 (alpha
// dropped) channels. `input_size` (optional) receives the resized shape.
status preprocess(const image_u8 &img, float *out, image_shape *input_size = nullptr);

// Refuses an empty image, a channel count other than 1, 3 or 4, or too few
// pixels; messages start with `who`.
status check_preprocess_input(const image_u8 &img, const char *who);

// The image itself when it has 3 channels, else its RGB form written into
// `storage` (1 channel: grey copied to R, G, B; 4: alpha dropped), as both
// SAM 1's and SAM 2's preprocessing read it. Assumes 1, 3 or 4 channels.
const image_u8 &as_rgb(const image_u8 &img, image_u8 &storage);

// SAM's pixel_mean / pixel_std (RGB, 0..255 scale).
extern const float pixel_mean[3];
extern const float pixel_std[3];

}  // namespace sam
