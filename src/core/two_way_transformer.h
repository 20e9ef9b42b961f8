// two_way_transformer.h - SAM's TwoWayTransformer for the C++ decoder: T prompt tokens
// [T][C] against HW image tokens [HW][C] (channel-last, image token y*w + x).
// The image-side products of each attention are taken in the cheaper order for the
// token count: q (X W_k^T)^T directly, or (q W_k) X^T by associativity (and likewise
// for values and the image->token output projection) when heads * T < the attention
// width; both give the same result within float rounding (attention_order forces one).
//   transformer_run(tf, image, tokens, T, queries_out, keys_out, ws, pool, order);
#pragma once
#include <vector>

#include "core/decoder_weights.h"
#include "core/matmul.h"
#include "core/parallel_for.h"
#include "core/status.h"

namespace sam {

enum class attention_order { automatic, direct, reordered };

struct attention_layer {
    int dim = 0, internal = 0, heads = 0;
    linear_layer q, k, v, out;
    packed_b wq, wk;  // W_q and W_k as stored ([internal][dim]) for the reordered products
};

struct two_way_block {
    attention_layer self_attn, token_to_image, image_to_token;
    std::vector<float> norm_w[4], norm_b[4];  // norm1..norm4
    linear_layer lin1, lin2;
    bool skip_first_layer_pe = false;
};

struct two_way_transformer {
    int dim = 0, mlp_activation = 0;
    std::vector<two_way_block> layers;
    attention_layer final_attn;
    std::vector<float> norm_final_w, norm_final_b;
};

status transformer_load(const decoder_weights &w, two_way_transformer &out);

// The image side entering the transformer. With no mask input it is the same for
// every prompt, so set_image computes layer 0's image-side projections once.
struct transformer_image {
    int hw = 0;
    const float *src = nullptr;   // image embedding + dense prompt embedding [HW][C]
    const float *pe = nullptr;    // dense positional encoding [HW][C]
    const float *src_pe = nullptr;  // src + pe [HW][C]
    // Layer 0 projections, or null: token->image K of src_pe and V of src, image->token Q of src_pe.
    const float *k0 = nullptr, *v0 = nullptr, *q0 = nullptr;
};

// Buffers reused across calls (the decoder owns one).
struct transformer_workspace {
    std::vector<float> keys, keys_pe, img_a, img_b, img_out, scores, scores_t, tok_a, tok_b, tok_c, tok_d, tok_e;
    packed_b packed;
};

// Layer-0 projections of a prompt-independent image side: k0, v0, q0 [HW][internal].
void transformer_precompute(const two_way_transformer &tf, const float *src, const float *src_pe, int hw,
                            std::vector<float> &k0, std::vector<float> &v0, std::vector<float> &q0, parallel_for *pf);

// tokens [T][C] (IoU token, mask tokens, sparse prompt) -> queries [t_out][C] (the first t_out
// tokens: only they go on to the mask head), keys [HW][C].
void transformer_run(const two_way_transformer &tf, const transformer_image &image, const float *tokens, int t,
                     int t_out, std::vector<float> &queries, std::vector<float> &keys, transformer_workspace &ws,
                     parallel_for *pf, attention_order order);

}  // namespace sam
