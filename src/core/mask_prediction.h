// mask_prediction.h - the end of SAM's MaskDecoder.predict_masks for the C++ decoder:
// output upscaling (two 2x2 stride-2 transposed convolutions with LayerNorm2d and GELU),
// one hypernetwork MLP per mask token, and the IoU head.
//   predict_masks(head, keys [h*w][C], tokens_out [T][C], iou [K], masks [K][4h][4w], ws, pool)
// keys: the transformer's image tokens (channel-last); tokens_out row 0 the IoU token,
// rows 1..K the mask tokens. masks: low-res logits, C order, as the ONNX low_res_masks.
#pragma once
#include <vector>

#include "core/decoder_weights.h"
#include "core/matmul.h"
#include "core/parallel_for.h"
#include "core/status.h"

namespace sam {

struct mask_head {
    int dim = 0, outputs = 0, grid_h = 0, grid_w = 0;
    packed_b up0, up3;                    // [dim][4 * dim/4], [dim/4][4 * dim/8]: sub-pixel (ky, kx) major
    std::vector<float> up0_bias, up3_bias;  // repeated per sub-pixel
    std::vector<float> norm_w, norm_b;    // LayerNorm2d(dim / 4)
    std::vector<std::vector<linear_layer>> hypernet;  // [K] MLPs dim -> ... -> dim/8
    std::vector<linear_layer> iou_head;   // dim -> ... -> K
};

// Scratch for predict_masks, owned by the caller's thread: tasks on other threads never
// allocate (in the pthread WebAssembly build a heap growth there would leave the worker's
// JavaScript views of the heap stale).
struct mask_workspace {
    std::vector<float> up, hyper, task_scratch;
};

status mask_head_load(const decoder_weights &w, mask_head &out);

// SAM 2's high-resolution skip features in the upscaling's own row order (see
// high_res_layout): level1 [4hw][dim/4] is added after the first transposed convolution
// (before its LayerNorm2d), level2 [16hw][dim/8] after the second (before its GELU).
struct high_res_features {
    const float *level1 = nullptr, *level2 = nullptr;
};

// feats_s1 [dim/4][2h][2w] (high_res_feats_1) and feats_s0 [dim/8][4h][4w] (high_res_feats_0),
// C order, rearranged for predict_masks.
void high_res_layout(const mask_head &head, const float *feats_s1, const float *feats_s0, std::vector<float> &level1,
                     std::vector<float> &level2);

// high_res: SAM 2's upscaling (dc1 + feat_s1 -> LayerNorm2d -> GELU -> dc2 + feat_s0 -> GELU)
// when both are set; SAM's otherwise.
void predict_masks(const mask_head &head, const float *keys, const float *tokens_out, float *iou, float *masks,
                   mask_workspace &ws, parallel_for *pf, const high_res_features &high_res = {});

// An MLP with ReLU between layers (none after the last) on one row: SAM's MLP.
void mlp_forward(const std::vector<linear_layer> &layers, const float *x, float *y);

}  // namespace sam
