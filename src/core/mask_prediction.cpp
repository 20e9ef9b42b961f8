// mask_prediction.cpp - see mask_prediction.h. Layout: the first transposed convolution
// maps image token r = y*w + x to 4 sub-pixels s1 = ky*2 + kx, so its product viewed as
// [4hw][dim/4] has row 4r + s1 = level-1 pixel (2y+ky, 2x+kx); the second maps row r1 to
// row 4 r1 + s2 = final pixel (2 (2y+ky) + ky2, 2 (2x+kx) + kx2). No data is moved between.
#include "core/mask_prediction.h"

#include <algorithm>

#include "core/nn_ops.h"

namespace sam {

namespace {

constexpr float k_layer_norm2d_eps = 1e-6f;
constexpr int k_rows_per_task = 64;  // level-1 pixels per task of the second upscaling

// ConvTranspose2d weight [in][out][2][2] -> B[in][(ky*2 + kx) * out + o].
packed_b pack_transposed_conv(const std::vector<float> &w, int in, int out) {
    std::vector<float> b((size_t)in * 4 * out);
    for (int i = 0; i < in; ++i)
        for (int o = 0; o < out; ++o)
            for (int s = 0; s < 4; ++s) b[(size_t)i * 4 * out + s * out + o] = w[((size_t)i * out + o) * 4 + s];
    return pack_b(b.data(), 4 * out, in, 4 * out);
}

std::vector<float> repeat4(const std::vector<float> &bias) {
    std::vector<float> r;
    for (int s = 0; s < 4; ++s) r.insert(r.end(), bias.begin(), bias.end());
    return r;
}

bool load_mlp(const decoder_weights &w, const std::string &name, int depth, std::vector<linear_layer> &out) {
    out.clear();
    for (int j = 0; j < depth; ++j) {
        const std::string l = name + ".layers." + std::to_string(j);
        const decoder_tensor *wt = w.find(l + ".weight"), *b = w.find(l + ".bias");
        if (!wt || !b || wt->shape.size() != 2) return false;
        out.push_back(linear_from(wt->values.data(), b->values.data(), (int)wt->shape[0], (int)wt->shape[1]));
    }
    return true;
}

}  // namespace

void mlp_forward(const std::vector<linear_layer> &layers, const float *x, float *y) {
    std::vector<float> a(x, x + layers.front().in), b;
    for (size_t i = 0; i < layers.size(); ++i) {
        b.assign(layers[i].out, 0.f);
        linear_forward(layers[i], a.data(), 1, layers[i].in, b.data(), layers[i].out, nullptr);
        if (i + 1 < layers.size()) relu_inplace(b.data(), b.size());
        a.swap(b);
    }
    std::copy(a.begin(), a.end(), y);
}

status mask_head_load(const decoder_weights &w, mask_head &out) {
    const sam_decoder_config &c = w.config;
    mask_head m;
    m.dim = c.embed_dim;
    m.outputs = c.num_outputs();
    m.grid_h = c.image_embedding_h;
    m.grid_w = c.image_embedding_w;
    const std::string md = mask_decoder_prefix(c);
    const decoder_tensor *w0 = w.find(md + "output_upscaling.0.weight"), *b0 = w.find(md + "output_upscaling.0.bias");
    const decoder_tensor *w3 = w.find(md + "output_upscaling.3.weight"), *b3 = w.find(md + "output_upscaling.3.bias");
    const decoder_tensor *nw = w.find(md + "output_upscaling.1.weight"), *nb = w.find(md + "output_upscaling.1.bias");
    if (!w0 || !b0 || !w3 || !b3 || !nw || !nb) return status::failure("output upscaling weights are incomplete");
    m.up0 = pack_transposed_conv(w0->values, m.dim, m.dim / 4);
    m.up3 = pack_transposed_conv(w3->values, m.dim / 4, m.dim / 8);
    m.up0_bias = repeat4(b0->values);
    m.up3_bias = repeat4(b3->values);
    m.norm_w = nw->values;
    m.norm_b = nb->values;
    m.hypernet.resize(m.outputs);
    for (int k = 0; k < m.outputs; ++k)
        if (!load_mlp(w, md + "output_hypernetworks_mlps." + std::to_string(k), c.hypernet_depth, m.hypernet[k]))
            return status::failure("hypernetwork " + std::to_string(k) + " weights are incomplete");
    if (!load_mlp(w, md + "iou_prediction_head", c.iou_head_depth, m.iou_head))
        return status::failure("IoU head weights are incomplete");
    out = std::move(m);
    return status::success();
}

void high_res_layout(const mask_head &head, const float *feats_s1, const float *feats_s0, std::vector<float> &level1,
                     std::vector<float> &level2) {
    const int c1 = head.dim / 4, c2 = head.dim / 8, gw = head.grid_w, hw = head.grid_h * head.grid_w;
    const int w1 = 2 * gw, w2 = 4 * gw;
    const size_t hw1 = (size_t)4 * hw, hw2 = (size_t)16 * hw;
    level1.resize(hw1 * c1);
    level2.resize(hw2 * c2);
    for (int r1 = 0; r1 < 4 * hw; ++r1) {
        const int r = r1 / 4, s1 = r1 % 4;
        const int y1 = 2 * (r / gw) + s1 / 2, x1 = 2 * (r % gw) + s1 % 2;
        const size_t p1 = (size_t)y1 * w1 + x1;
        for (int ch = 0; ch < c1; ++ch) level1[(size_t)r1 * c1 + ch] = feats_s1[(size_t)ch * hw1 + p1];
        for (int s2 = 0; s2 < 4; ++s2) {
            const size_t p2 = (size_t)(2 * y1 + s2 / 2) * w2 + 2 * x1 + s2 % 2;
            float *o = &level2[((size_t)r1 * 4 + s2) * c2];
            for (int ch = 0; ch < c2; ++ch) o[ch] = feats_s0[(size_t)ch * hw2 + p2];
        }
    }
}

void predict_masks(const mask_head &head, const float *keys, const float *tokens_out, float *iou, float *masks,
                   mask_workspace &ws, parallel_for *pf, const high_res_features &high_res) {
    const bool hr = high_res.level1 && high_res.level2;
    const int d = head.dim, c1 = d / 4, c2 = d / 8, k = head.outputs, hw = head.grid_h * head.grid_w;
    const int out_w = 4 * head.grid_w, out_hw = 16 * hw;
    mlp_forward(head.iou_head, tokens_out, iou);
    ws.hyper.resize((size_t)k * c2);
    for (int m = 0; m < k; ++m) mlp_forward(head.hypernet[m], tokens_out + (size_t)(1 + m) * d, &ws.hyper[(size_t)m * c2]);
    const packed_b hyper = pack_bt(ws.hyper.data(), c2, c2, k);  // B[c][m] = hyper_in[m][c]

    // level 1: [hw][4 c1] = [4hw][c1], LayerNorm2d and GELU per pixel
    ws.up.resize((size_t)hw * 4 * c1);
    gemm(hw, keys, d, head.up0, ws.up.data(), 4 * c1, head.up0_bias.data(), false, pf);
    if (hr) add_arrays(ws.up.data(), high_res.level1, ws.up.data(), ws.up.size(), pf);
    layer_norm_rows(ws.up.data(), 4 * hw, c1, c1, head.norm_w.data(), head.norm_b.data(), k_layer_norm2d_eps, pf);
    gelu_inplace(ws.up.data(), ws.up.size(), pf);

    // level 2 and the masks, in tasks of k_rows_per_task level-1 pixels
    const int rows1 = 4 * hw, tasks = (rows1 + k_rows_per_task - 1) / k_rows_per_task;
    const size_t per_task = (size_t)k_rows_per_task * 4 * (c2 + k);
    ws.task_scratch.resize(per_task * tasks);
    parallel_run(pf, tasks, [&](int task) {
        const int r0 = task * k_rows_per_task, n = std::min(k_rows_per_task, rows1 - r0);
        float *up2 = ws.task_scratch.data() + per_task * task, *logits = up2 + (size_t)k_rows_per_task * 4 * c2;
        gemm(n, ws.up.data() + (size_t)r0 * c1, c1, head.up3, up2, 4 * c2, head.up3_bias.data(), false, nullptr);
        if (hr) add_arrays(up2, high_res.level2 + (size_t)r0 * 4 * c2, up2, (size_t)n * 4 * c2, nullptr);
        gelu_inplace(up2, (size_t)n * 4 * c2, nullptr);
        gemm(4 * n, up2, c2, hyper, logits, k, nullptr, false, nullptr);
        for (int i = 0; i < n; ++i) {
            const int r1 = r0 + i, r = r1 / 4, s1 = r1 % 4;
            const int y1 = 2 * (r / head.grid_w) + s1 / 2, x1 = 2 * (r % head.grid_w) + s1 % 2;
            for (int s2 = 0; s2 < 4; ++s2) {
                const size_t pix = (size_t)(2 * y1 + s2 / 2) * out_w + 2 * x1 + s2 % 2;
                for (int m = 0; m < k; ++m) masks[(size_t)m * out_hw + pix] = logits[((size_t)i * 4 + s2) * k + m];
            }
        }
    });
}

}  // namespace sam
