// sam2_decoder.cpp - see sam2_decoder.h. SAM 2's MaskDecoder.predict_masks with
// pred_obj_scores (token 0 the object score, 1 the IoU, 2..5 the masks), the high-res
// skip features in the upscaling and iou_prediction_use_sigmoid.
#include "core/sam2_decoder.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/mask_prediction.h"
#include "core/nn_ops.h"
#include "core/sam_prompt_encoder.h"

namespace sam {

struct sam2_decoder::state {
    bool loaded = false, image_set = false;
    sam_decoder_config config;
    prompt_encoder pe;
    two_way_transformer tf;
    mask_head head;
    std::vector<float> output_tokens;  // [2 + K][C]: object score, IoU, mask tokens
    std::vector<float> dense_pe;       // [HW][C]
    // per image
    std::vector<float> image, src, src_pe, k0, v0, q0;  // [HW][C] / [HW][Ci]
    std::vector<float> level1, level2;                  // high-res features, head layout
    // per prediction
    std::vector<float> coords, labels, tokens, queries, keys, mask_src, mask_src_pe;
    transformer_workspace tws;
    mask_workspace mws;
    parallel_for *pf = nullptr;
    attention_order order = attention_order::automatic;

    int hw() const { return config.image_embedding_h * config.image_embedding_w; }
};

namespace {


status check_feature(const char *name, const float *v, size_t count, size_t want, int c, int h, int w) {
    if (!v) return status::failure(std::string(name) + " is missing");
    if (count != want)
        return status::failure(std::string(name) + " has " + std::to_string(count) + " values, this decoder needs " +
                               std::to_string(want) + " ([1, " + std::to_string(c) + ", " + std::to_string(h) +
                               ", " + std::to_string(w) + "])");
    return check_decoder_values(v, count, name);
}

}  // namespace

sam2_decoder::sam2_decoder() : s_(new state) {}
sam2_decoder::~sam2_decoder() = default;

status sam2_decoder::load(const uint8_t *bytes, size_t size, const std::string &name) {
    decoder_weights w;
    if (status st = decoder_weights_parse(bytes, size, name, w); !st) return st;
    status st = load(w);
    return st ? st : status::failure(name + ": " + st.message);
}

status sam2_decoder::load(const decoder_weights &w) {
    if (w.config.family != k_family_sam2_1)
        return status::failure(std::string("these are ") + decoder_family_name(w.config.family) +
                               " decoder weights; the SAM 2.1 decoder (sam2_decoder) reads SAM 2.1 weights only "
                               "(SAM weights load into sam_decoder)");
    if (status st = decoder_config_check(w.config); !st) return st;
    if (status st = decoder_weights_check_tensors(w); !st) return st;
    auto s = std::make_unique<state>();
    s->config = w.config;
    if (status st = prompt_encoder_load(w, s->pe); !st) return st;
    if (status st = transformer_load(w, s->tf); !st) return st;
    if (status st = mask_head_load(w, s->head); !st) return st;
    const std::string md = mask_decoder_prefix(w.config);
    for (const char *n : {"obj_score_token.weight", "iou_token.weight", "mask_tokens.weight"}) {
        const auto &v = w.find(md + n)->values;
        s->output_tokens.insert(s->output_tokens.end(), v.begin(), v.end());
    }
    s->dense_pe.resize((size_t)s->hw() * w.config.embed_dim);
    dense_pe(s->pe, s->dense_pe.data());
    s->pf = s_->pf;
    s->order = s_->order;
    s->loaded = true;
    s_ = std::move(s);
    return status::success();
}

bool sam2_decoder::loaded() const { return s_->loaded; }
const sam_decoder_config &sam2_decoder::config() const { return s_->config; }
int sam2_decoder::num_outputs() const { return s_->config.num_outputs(); }
size_t sam2_decoder::image_embed_count() const { return (size_t)s_->config.embed_dim * s_->hw(); }
size_t sam2_decoder::high_res_feats_0_count() const { return (size_t)s_->config.embed_dim / 8 * 16 * s_->hw(); }
size_t sam2_decoder::high_res_feats_1_count() const { return (size_t)s_->config.embed_dim / 4 * 4 * s_->hw(); }
size_t sam2_decoder::mask_count() const { return (size_t)16 * s_->hw(); }
void sam2_decoder::set_parallel(parallel_for *pf) { s_->pf = pf; }
void sam2_decoder::set_attention_order(attention_order order) { s_->order = order; }
void sam2_decoder::reset_image() { s_->image_set = false; }
bool sam2_decoder::is_image_set() const { return s_->image_set; }

status sam2_decoder::set_image(const sam2_features &f) {
    state &s = *s_;
    if (!s.loaded) return status::failure("set_image: no decoder weights loaded");
    s.image_set = false;
    const int c = s.config.embed_dim, h = s.config.image_embedding_h, w = s.config.image_embedding_w, hw = s.hw();
    if (status st = check_feature("image_embed", f.image_embed, f.image_embed_count, image_embed_count(), c, h, w); !st)
        return st;
    if (status st = check_feature("high_res_feats_0", f.high_res_feats_0, f.high_res_feats_0_count,
                                  high_res_feats_0_count(), c / 8, 4 * h, 4 * w);
        !st)
        return st;
    if (status st = check_feature("high_res_feats_1", f.high_res_feats_1, f.high_res_feats_1_count,
                                  high_res_feats_1_count(), c / 4, 2 * h, 2 * w);
        !st)
        return st;
    s.image.resize((size_t)hw * c);
    for (int ch = 0; ch < c; ++ch)
        for (int p = 0; p < hw; ++p) s.image[(size_t)p * c + ch] = f.image_embed[(size_t)ch * hw + p];
    // No mask input: src = embedding + no_mask_embed, the same for every prompt.
    s.src.resize(s.image.size());
    for (int p = 0; p < hw; ++p)
        for (int ch = 0; ch < c; ++ch) s.src[(size_t)p * c + ch] = s.image[(size_t)p * c + ch] + s.pe.no_mask[ch];
    s.src_pe.resize(s.image.size());
    add_arrays(s.src.data(), s.dense_pe.data(), s.src_pe.data(), s.src.size(), s.pf);
    transformer_precompute(s.tf, s.src.data(), s.src_pe.data(), hw, s.k0, s.v0, s.q0, s.pf);
    high_res_layout(s.head, f.high_res_feats_1, f.high_res_feats_0, s.level1, s.level2);
    s.image_set = true;
    return status::success();
}

status sam2_decoder::predict(const sam_prompt &p, float *iou, float *masks) {
    state &s = *s_;
    if (!s.loaded) return status::failure("predict: no decoder weights loaded");
    if (!s.image_set) return status::failure("predict: no image features set (set_image first)");
    if (p.num_points < 0 || p.num_points > k_max_points - 1)
        return status::failure("point_coords: " + std::to_string(p.num_points) + " points (at most " +
                               std::to_string(k_max_points - 1) + " with the padding point)");
    if (p.num_points > 0 && (!p.point_coords || !p.point_labels))
        return status::failure("point_coords / point_labels missing");
    if (p.num_points > 0) {
        if (status st = check_decoder_values(p.point_coords, 2 * (size_t)p.num_points, "point_coords"); !st) return st;
        if (status st = check_decoder_values(p.point_labels, (size_t)p.num_points, "point_labels"); !st) return st;
    }
    if (p.mask_input)
        if (status st = check_decoder_values(p.mask_input, mask_count(), "mask_input"); !st) return st;

    const int c = s.config.embed_dim, hw = s.hw(), k = s.config.num_outputs();
    // The prompt encoder's padding point: (0, 0), label -1, after the given points.
    const int n = p.num_points + 1;
    s.coords.assign(2 * (size_t)n, 0.f);
    s.labels.assign((size_t)n, -1.f);
    if (p.num_points > 0) {
        std::copy(p.point_coords, p.point_coords + 2 * (size_t)p.num_points, s.coords.begin());
        std::copy(p.point_labels, p.point_labels + p.num_points, s.labels.begin());
    }
    const int fixed = 2 + k, t = fixed + n;
    s.tokens.resize((size_t)t * c);
    std::copy(s.output_tokens.begin(), s.output_tokens.end(), s.tokens.begin());
    embed_points(s.pe, s.coords.data(), s.labels.data(), n, s.tokens.data() + (size_t)fixed * c);

    transformer_image image;
    image.hw = hw;
    image.pe = s.dense_pe.data();
    if (p.mask_input) {
        s.mask_src.resize((size_t)hw * c);
        embed_mask(s.pe, p.mask_input, s.mask_src.data(), s.pf);
        add_arrays(s.image.data(), s.mask_src.data(), s.mask_src.data(), s.mask_src.size(), s.pf);
        s.mask_src_pe.resize(s.mask_src.size());
        add_arrays(s.mask_src.data(), s.dense_pe.data(), s.mask_src_pe.data(), s.mask_src.size(), s.pf);
        image.src = s.mask_src.data();
        image.src_pe = s.mask_src_pe.data();
    } else {
        image.src = s.src.data();
        image.src_pe = s.src_pe.data();
        image.k0 = s.k0.data();
        image.v0 = s.v0.data();
        image.q0 = s.q0.data();
    }
    transformer_run(s.tf, image, s.tokens.data(), t, fixed, s.queries, s.keys, s.tws, s.pf, s.order);
    // Row 0 (the object score token) only matters for video tracking; the head reads the
    // IoU token and the mask tokens from row 1 on.
    high_res_features hr;
    hr.level1 = s.level1.data();
    hr.level2 = s.level2.data();
    predict_masks(s.head, s.keys.data(), s.queries.data() + c, iou, masks, s.mws, s.pf, hr);
    for (int i = 0; i < k; ++i) iou[i] = 1.f / (1.f + std::exp(-iou[i]));
    const size_t total = (size_t)k * mask_count();
    for (size_t i = 0; i < total; ++i) masks[i] = std::min(k_sam2_logit_clamp, std::max(-k_sam2_logit_clamp, masks[i]));
    return status::success();
}

status sam2_decoder::predict_batch(const sam_prompt *prompts, size_t n, float *iou, float *masks) {
    const size_t k = (size_t)num_outputs();
    for (size_t i = 0; i < n; ++i) {
        status st = predict(prompts[i], iou + i * k, masks + i * k * mask_count());
        if (!st) return status::failure("prompt " + std::to_string(i) + ": " + st.message);
    }
    return status::success();
}

}  // namespace sam
