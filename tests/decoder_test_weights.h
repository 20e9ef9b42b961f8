// decoder_test_weights.h - a micro SAM-architecture decoder for tests and fuzz seeds:
// micro_weights(seed) gives decoder_weights with tiny dimensions (embed_dim 8, a 2 x 2
// embedding grid, 2 heads) and seeded values, so whole files are a few KB and a
// predict takes microseconds. fix_header(bytes) rewrites the size field and the CRC after
// a test edits a file, so the edit itself is what the parser sees.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "core/decoder_weights.h"

inline sam::sam_decoder_config micro_config() {
    sam::sam_decoder_config c;
    c.embed_dim = 8;
    c.image_embedding_h = 2;
    c.image_embedding_w = 2;
    c.input_image_size = 32;
    c.mask_in_chans = 4;
    c.num_multimask_outputs = 3;
    c.depth = 2;
    c.num_heads = 2;
    c.mlp_dim = 4;
    c.self_attention_dim = 4;
    c.cross_attention_dim = 4;
    c.iou_head_depth = 3;
    c.iou_head_hidden_dim = 4;
    c.hypernet_hidden_dim = 4;
    c.hypernet_depth = 3;
    return c;
}

inline sam::decoder_weights micro_weights(unsigned seed, const sam::sam_decoder_config &c = micro_config()) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.f, 0.5f);
    sam::decoder_weights w;
    w.config = c;
    for (const auto &e : sam::decoder_expected_tensors(c)) {
        size_t n = 1;
        for (int64_t d : e.second) n *= (size_t)d;
        sam::decoder_tensor t{e.first, e.second, std::vector<float>(n)};
        for (float &v : t.values) v = dist(rng);
        w.tensors.push_back(std::move(t));
    }
    return w;
}

inline void fix_header(std::vector<uint8_t> &b) {
    if (b.size() < 24) return;
    const uint64_t size = b.size();
    for (int i = 0; i < 8; ++i) b[8 + i] = (uint8_t)(size >> (8 * i));
    const uint32_t crc = sam::crc32_ieee(b.data(), b.size() - 4);
    for (int i = 0; i < 4; ++i) b[b.size() - 4 + i] = (uint8_t)(crc >> (8 * i));
}
