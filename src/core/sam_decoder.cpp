// sam_decoder.cpp - see sam_decoder.h.
#include "core/sam_decoder.h"

#include <cmath>
#include <vector>

#include "core/mask_prediction.h"
#include "core/nn_ops.h"
#include "core/sam_prompt_encoder.h"

namespace sam {

struct sam_decoder::state {
    bool loaded = false, image_set = false;
    sam_decoder_config config;
    prompt_encoder pe;
    two_way_transformer tf;
    mask_head head;
    std::vector<float> iou_token_and_masks;  // [1 + K][C]
    std::vector<float> dense_pe;             // [HW][C]
    // per image
    std::vector<float> image, src, src_pe, k0, v0, q0;  // [HW][C] / [HW][Ci]
    // per prediction
    std::vector<float> tokens, queries, keys, mask_src, mask_src_pe;
    transformer_workspace tws;
    mask_workspace mws;
    parallel_for *pf = nullptr;
    attention_order order = attention_order::automatic;

    int hw() const { return config.image_embedding_h * config.image_embedding_w; }
};

status check_decoder_values(const float *v, size_t n, const std::string &what) {
    for (size_t i = 0; i < n; ++i)
        if (!std::isfinite(v[i]) || std::fabs(v[i]) > k_max_input_magnitude)
            return status::failure(what + "[" + std::to_string(i) + "] = " + std::to_string(v[i]) +
                                   (std::isfinite(v[i]) ? " is beyond 1e6" : " is not finite"));
    return status::success();
}

sam_decoder::sam_decoder() : s_(new state) {}
sam_decoder::~sam_decoder() = default;

status sam_decoder::load(const uint8_t *bytes, size_t size, const std::string &name) {
    decoder_weights w;
    if (status st = decoder_weights_parse(bytes, size, name, w); !st) return st;
    status st = load(w);
    return st ? st : status::failure(name + ": " + st.message);
}

status sam_decoder::load(const decoder_weights &w) {
    if (w.config.family != k_family_sam)
        return status::failure(std::string("these are ") + decoder_family_name(w.config.family) +
                               " decoder weights; the SAM decoder (sam_decoder) reads SAM weights only "
                               "(SAM 2.1 weights load into sam2_decoder)");
    if (status st = decoder_config_check(w.config); !st) return st;
    if (status st = decoder_weights_check_tensors(w); !st) return st;
    auto s = std::make_unique<state>();
    s->config = w.config;
    if (status st = prompt_encoder_load(w, s->pe); !st) return st;
    if (status st = transformer_load(w, s->tf); !st) return st;
    if (status st = mask_head_load(w, s->head); !st) return st;
    const int c = w.config.embed_dim;
    s->iou_token_and_masks = w.find("mask_decoder.iou_token.weight")->values;
    const auto &mt = w.find("mask_decoder.mask_tokens.weight")->values;
    s->iou_token_and_masks.insert(s->iou_token_and_masks.end(), mt.begin(), mt.end());
    s->dense_pe.resize((size_t)s->hw() * c);
    dense_pe(s->pe, s->dense_pe.data());
    s->pf = s_->pf;
    s->order = s_->order;
    s->loaded = true;
    s_ = std::move(s);
    return status::success();
}

bool sam_decoder::loaded() const { return s_->loaded; }
const sam_decoder_config &sam_decoder::config() const { return s_->config; }
int sam_decoder::num_outputs() const { return s_->config.num_outputs(); }
size_t sam_decoder::embedding_count() const { return (size_t)s_->config.embed_dim * s_->hw(); }
size_t sam_decoder::mask_count() const { return (size_t)16 * s_->hw(); }
void sam_decoder::set_parallel(parallel_for *pf) { s_->pf = pf; }
void sam_decoder::set_attention_order(attention_order order) { s_->order = order; }
void sam_decoder::reset_image() { s_->image_set = false; }
bool sam_decoder::is_image_set() const { return s_->image_set; }

status sam_decoder::set_image(const float *embedding, size_t count) {
    state &s = *s_;
    if (!s.loaded) return status::failure("set_image: no decoder weights loaded");
    s.image_set = false;
    if (count != embedding_count())
        return status::failure("image_embeddings has " + std::to_string(count) + " values, this decoder needs " +
                               std::to_string(embedding_count()) + " ([1, " + std::to_string(s.config.embed_dim) +
                               ", " + std::to_string(s.config.image_embedding_h) + ", " +
                               std::to_string(s.config.image_embedding_w) + "])");
    if (status st = check_decoder_values(embedding, count, "image_embeddings"); !st) return st;
    const int c = s.config.embed_dim, hw = s.hw();
    s.image.resize((size_t)hw * c);
    for (int ch = 0; ch < c; ++ch)
        for (int p = 0; p < hw; ++p) s.image[(size_t)p * c + ch] = embedding[(size_t)ch * hw + p];
    // No mask input: src = embedding + no_mask_embed, the same for every prompt.
    s.src.resize(s.image.size());
    for (int p = 0; p < hw; ++p)
        for (int ch = 0; ch < c; ++ch) s.src[(size_t)p * c + ch] = s.image[(size_t)p * c + ch] + s.pe.no_mask[ch];
    s.src_pe.resize(s.image.size());
    add_arrays(s.src.data(), s.dense_pe.data(), s.src_pe.data(), s.src.size(), s.pf);
    transformer_precompute(s.tf, s.src.data(), s.src_pe.data(), hw, s.k0, s.v0, s.q0, s.pf);
    s.image_set = true;
    return status::success();
}

status sam_decoder::predict(const sam_prompt &p, float *iou, float *masks) {
    state &s = *s_;
    if (!s.loaded) return status::failure("predict: no decoder weights loaded");
    if (!s.image_set) return status::failure("predict: no image embedding set (set_image first)");
    if (p.num_points < 0 || p.num_points > k_max_points)
        return status::failure("point_coords: " + std::to_string(p.num_points) + " points (at most " +
                               std::to_string(k_max_points) + ")");
    if (p.num_points > 0 && (!p.point_coords || !p.point_labels))
        return status::failure("point_coords / point_labels missing");
    if (p.num_points > 0) {
        if (status st = check_decoder_values(p.point_coords, 2 * (size_t)p.num_points, "point_coords"); !st) return st;
        if (status st = check_decoder_values(p.point_labels, (size_t)p.num_points, "point_labels"); !st) return st;
    }
    if (p.mask_input)
        if (status st = check_decoder_values(p.mask_input, mask_count(), "mask_input"); !st) return st;

    const int c = s.config.embed_dim, hw = s.hw(), k = s.config.num_outputs();
    const int t = 1 + k + p.num_points;
    s.tokens.resize((size_t)t * c);
    std::copy(s.iou_token_and_masks.begin(), s.iou_token_and_masks.end(), s.tokens.begin());
    embed_points(s.pe, p.point_coords, p.point_labels, p.num_points, s.tokens.data() + (size_t)(1 + k) * c);

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
    transformer_run(s.tf, image, s.tokens.data(), t, 1 + k, s.queries, s.keys, s.tws, s.pf, s.order);
    predict_masks(s.head, s.keys.data(), s.queries.data(), iou, masks, s.mws, s.pf);
    return status::success();
}

status sam_decoder::predict_batch(const sam_prompt *prompts, size_t n, float *iou, float *masks) {
    const size_t k = (size_t)num_outputs();
    for (size_t i = 0; i < n; ++i) {
        status st = predict(prompts[i], iou + i * k, masks + i * k * mask_count());
        if (!st) return status::failure("prompt " + std::to_string(i) + ": " + st.message);
    }
    return status::success();
}

int select_single_mask(const float *iou, int k, int num_points) {
    int best = 0;
    float best_score = 0.f;
    for (int i = 0; i < k; ++i) {
        const float score = iou[i] + (i == 0 ? ((float)num_points - 2.5f) * 1000.f : 0.f);
        if (i == 0 || score > best_score) best = i, best_score = score;
    }
    return best;
}

}  // namespace sam
