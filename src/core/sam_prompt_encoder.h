// sam_prompt_encoder.h - SAM's prompt encoder for the C++ decoder (sam_decoder.h), with
// the official ONNX export's (SamOnnxModel's) rules: points (x, y) in the 1024 frame
// get +0.5 and /input_image_size before the random Fourier encoding; label -1 is the
// padding point (not_a_point_embed), 0/1 negative/positive, 2/3 box corners; any other
// label keeps the bare encoding. Arrays are channel-last: dense PE and the mask
// embedding are [h*w][embed_dim] (image token y*w + x), the mask input [4h][4w] logits.
#pragma once
#include <vector>

#include "core/decoder_weights.h"
#include "core/matmul.h"
#include "core/parallel_for.h"
#include "core/status.h"

namespace sam {

struct prompt_encoder {
    int embed_dim = 0, input_image_size = 0, grid_h = 0, grid_w = 0, mask_in_chans = 0;
    std::vector<float> gaussian;                  // [2][embed_dim / 2]
    std::vector<float> point_embeddings[4];       // [embed_dim] each: label 0, 1, 2, 3
    std::vector<float> not_a_point, no_mask;      // [embed_dim]
    // mask_downscaling: conv 2x2/2 (1 -> c/4), LayerNorm2d, GELU, conv 2x2/2 (c/4 -> c),
    // LayerNorm2d, GELU, conv 1x1 (c -> embed_dim).
    std::vector<float> conv0_w, conv0_b, norm1_w, norm1_b, conv3_w, conv3_b, norm4_w, norm4_b;
    linear_layer conv6;
};

status prompt_encoder_load(const decoder_weights &w, prompt_encoder &out);

// sin/cos features of coordinates in [0, 1] (x, y): out[embed_dim].
void pe_encoding(const prompt_encoder &pe, float x, float y, float *out);
// The sparse embedding of n points: out[n][embed_dim].
void embed_points(const prompt_encoder &pe, const float *coords, const float *labels, int n, float *out);
// get_dense_pe(): out[grid_h * grid_w][embed_dim].
void dense_pe(const prompt_encoder &pe, float *out);
// mask_downscaling(mask [4 grid_h][4 grid_w]) -> out[grid_h * grid_w][embed_dim].
void embed_mask(const prompt_encoder &pe, const float *mask, float *out, parallel_for *pf);

}  // namespace sam
