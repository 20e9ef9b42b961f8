// sam_prompt_encoder.cpp - see sam_prompt_encoder.h.
#include "core/sam_prompt_encoder.h"

#include <cmath>
#include <cstring>

#include "core/nn_ops.h"

namespace sam {

namespace {

const std::vector<float> &values(const decoder_weights &w, const std::string &name) {
    static const std::vector<float> none;
    const decoder_tensor *t = w.find(name);
    return t ? t->values : none;
}

constexpr float k_layer_norm2d_eps = 1e-6f;

}  // namespace

status prompt_encoder_load(const decoder_weights &w, prompt_encoder &out) {
    const sam_decoder_config &c = w.config;
    prompt_encoder p;
    p.embed_dim = c.embed_dim;
    p.input_image_size = c.input_image_size;
    p.grid_h = c.image_embedding_h;
    p.grid_w = c.image_embedding_w;
    p.mask_in_chans = c.mask_in_chans;
    const std::string n = prompt_encoder_prefix(c);
    p.gaussian = values(w, n + "pe_layer.positional_encoding_gaussian_matrix");
    for (int i = 0; i < 4; ++i) p.point_embeddings[i] = values(w, n + "point_embeddings." + std::to_string(i) + ".weight");
    p.not_a_point = values(w, n + "not_a_point_embed.weight");
    p.no_mask = values(w, n + "no_mask_embed.weight");
    p.conv0_w = values(w, n + "mask_downscaling.0.weight");
    p.conv0_b = values(w, n + "mask_downscaling.0.bias");
    p.norm1_w = values(w, n + "mask_downscaling.1.weight");
    p.norm1_b = values(w, n + "mask_downscaling.1.bias");
    p.conv3_w = values(w, n + "mask_downscaling.3.weight");
    p.conv3_b = values(w, n + "mask_downscaling.3.bias");
    p.norm4_w = values(w, n + "mask_downscaling.4.weight");
    p.norm4_b = values(w, n + "mask_downscaling.4.bias");
    const std::vector<float> &w6 = values(w, n + "mask_downscaling.6.weight");
    const std::vector<float> &b6 = values(w, n + "mask_downscaling.6.bias");
    if ((int)p.gaussian.size() != c.embed_dim || (int)p.no_mask.size() != c.embed_dim ||
        (int)w6.size() != c.embed_dim * c.mask_in_chans || (int)b6.size() != c.embed_dim)
        return status::failure("prompt encoder weights are incomplete");
    p.conv6 = linear_from(w6.data(), b6.data(), c.embed_dim, c.mask_in_chans);
    out = std::move(p);
    return status::success();
}

void pe_encoding(const prompt_encoder &pe, float x, float y, float *out) {
    const int half = pe.embed_dim / 2;
    // As PositionEmbeddingRandom._pe_encoding in float32: 2c - 1, @ gaussian, * 2 pi;
    // sin and cos are taken in double and rounded (within half an ulp of the float).
    const float cx = 2.f * x - 1.f, cy = 2.f * y - 1.f;
    const float two_pi = (float)6.283185307179586;  // 2 * np.pi, rounded to float as torch does
    for (int j = 0; j < half; ++j) {
        const float a = (cx * pe.gaussian[j] + cy * pe.gaussian[half + j]) * two_pi;
        out[j] = (float)std::sin((double)a);
        out[half + j] = (float)std::cos((double)a);
    }
}

void embed_points(const prompt_encoder &pe, const float *coords, const float *labels, int n, float *out) {
    const int d = pe.embed_dim;
    const float size = (float)pe.input_image_size;
    for (int i = 0; i < n; ++i) {
        float *e = out + (size_t)i * d;
        const float label = labels[i];
        if (label == -1.f) {
            std::memcpy(e, pe.not_a_point.data(), sizeof(float) * d);
            continue;
        }
        pe_encoding(pe, (coords[2 * i] + 0.5f) / size, (coords[2 * i + 1] + 0.5f) / size, e);
        for (int k = 0; k < 4; ++k)
            if (label == (float)k)
                for (int j = 0; j < d; ++j) e[j] += pe.point_embeddings[k][j];
    }
}

void dense_pe(const prompt_encoder &pe, float *out) {
    for (int y = 0; y < pe.grid_h; ++y)
        for (int x = 0; x < pe.grid_w; ++x)
            pe_encoding(pe, ((float)x + 0.5f) / (float)pe.grid_w, ((float)y + 0.5f) / (float)pe.grid_h,
                        out + ((size_t)y * pe.grid_w + x) * pe.embed_dim);
}

void embed_mask(const prompt_encoder &pe, const float *mask, float *out, parallel_for *pf) {
    const int c1 = pe.mask_in_chans / 4, c2 = pe.mask_in_chans;
    const int h1 = 2 * pe.grid_h, w1 = 2 * pe.grid_w, in_w = 4 * pe.grid_w;
    // conv 2x2 stride 2 (1 -> c1), channel-last [h1][w1][c1]
    std::vector<float> a((size_t)h1 * w1 * c1);
    for (int y = 0; y < h1; ++y)
        for (int x = 0; x < w1; ++x)
            for (int c = 0; c < c1; ++c) {
                const float *k = pe.conv0_w.data() + c * 4;
                const float *m = mask + (size_t)(2 * y) * in_w + 2 * x;
                a[((size_t)y * w1 + x) * c1 + c] = pe.conv0_b[c] + m[0] * k[0] + m[1] * k[1] + m[in_w] * k[2] +
                                                   m[in_w + 1] * k[3];
            }
    layer_norm_rows(a.data(), h1 * w1, c1, c1, pe.norm1_w.data(), pe.norm1_b.data(), k_layer_norm2d_eps, pf);
    gelu_inplace(a.data(), a.size(), pf);
    // conv 2x2 stride 2 (c1 -> c2), [grid_h][grid_w][c2]
    std::vector<float> b((size_t)pe.grid_h * pe.grid_w * c2);
    for (int y = 0; y < pe.grid_h; ++y)
        for (int x = 0; x < pe.grid_w; ++x)
            for (int o = 0; o < c2; ++o) {
                float s = pe.conv3_b[o];
                for (int c = 0; c < c1; ++c)
                    for (int ky = 0; ky < 2; ++ky)
                        for (int kx = 0; kx < 2; ++kx)
                            s += a[((size_t)(2 * y + ky) * w1 + 2 * x + kx) * c1 + c] *
                                 pe.conv3_w[((o * c1 + c) * 2 + ky) * 2 + kx];
                b[((size_t)y * pe.grid_w + x) * c2 + o] = s;
            }
    layer_norm_rows(b.data(), pe.grid_h * pe.grid_w, c2, c2, pe.norm4_w.data(), pe.norm4_b.data(), k_layer_norm2d_eps,
                    pf);
    gelu_inplace(b.data(), b.size(), pf);
    linear_forward(pe.conv6, b.data(), pe.grid_h * pe.grid_w, c2, out, pe.embed_dim, pf);
}

}  // namespace sam
