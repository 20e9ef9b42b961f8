// Hostile and unusual input to the C++ decoder (sam_decoder.h): NaN/Inf or absurd values
// in the embedding, the prompt or the mask are refused with a message and leave the outputs
// untouched; 0, 200 and 257 points, far-away coordinates and unknown labels give a defined
// (finite) result or a refusal; decoders of other dimensions (a micro config) load and run;
// batches equal single predictions.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/sam_decoder.h"
#include "core/thread_pool.h"
#include "decoder_test_weights.h"
#include "reference_data.h"

namespace {

sam::sam_decoder &tiny_decoder() {
    static sam::sam_decoder dec;
    if (!dec.loaded()) {
        std::vector<uint8_t> b = read_file_bytes(std::string(SAM_FIXTURES_DIR) + "/tiny/decoder.samw");
        REQUIRE(!b.empty());
        sam::status st = dec.load(b.data(), b.size(), "tiny/decoder.samw");
        REQUIRE_MESSAGE(st.ok(), st.message);
        std::mt19937 rng(9);
        std::normal_distribution<float> dist;
        std::vector<float> e(dec.embedding_count());
        for (float &v : e) v = dist(rng);
        REQUIRE(dec.set_image(e.data(), e.size()).ok());
    }
    return dec;
}

struct outputs {
    std::vector<float> iou, masks;
    explicit outputs(const sam::sam_decoder &d) : iou(d.num_outputs(), 7.f), masks(d.num_outputs() * d.mask_count(), 7.f) {}
    bool untouched() const {
        for (float v : iou) if (v != 7.f) return false;
        for (float v : masks) if (v != 7.f) return false;
        return true;
    }
    bool finite() const {
        for (float v : iou) if (!std::isfinite(v)) return false;
        for (float v : masks) if (!std::isfinite(v)) return false;
        return true;
    }
};

std::string refuse(sam::sam_decoder &d, const std::vector<float> &coords, const std::vector<float> &labels,
                   const float *mask = nullptr) {
    outputs o(d);
    sam::status st = d.predict({coords.data(), labels.data(), (int)labels.size(), mask}, o.iou.data(), o.masks.data());
    CHECK_MESSAGE(!st.ok(), "accepted");
    CHECK(o.untouched());
    return st.message;
}

bool has(const std::string &s, const std::string &w) { return s.find(w) != std::string::npos; }

const float k_nan = std::numeric_limits<float>::quiet_NaN(), k_inf = std::numeric_limits<float>::infinity();

}  // namespace

TEST_CASE("sam_decoder input: NaN, Inf and absurd values are refused with a message") {
    sam::sam_decoder &d = tiny_decoder();
    CHECK(has(refuse(d, {k_nan, 10.f}, {1.f}), "point_coords[0] = nan is not finite"));
    CHECK(has(refuse(d, {10.f, 10.f, 5.f, -k_inf}, {1.f, -1.f}), "point_coords[3] = -inf is not finite"));
    CHECK(has(refuse(d, {10.f, 10.f}, {k_nan}), "point_labels[0] = nan is not finite"));
    CHECK(has(refuse(d, {1e7f, 10.f}, {1.f}), "point_coords[0] = 10000000.000000 is beyond 1e6"));
    std::vector<float> mask(d.mask_count(), 0.f);
    mask[1234] = k_inf;
    CHECK(has(refuse(d, {10.f, 10.f}, {1.f}, mask.data()), "mask_input[1234] = inf is not finite"));
    CHECK(has(refuse(d, std::vector<float>(2 * 257, 1.f), std::vector<float>(257, 1.f)), "257 points (at most 256)"));

    // A bad embedding is refused and leaves no image set.
    sam::sam_decoder other;
    std::vector<uint8_t> b = read_file_bytes(std::string(SAM_FIXTURES_DIR) + "/tiny/decoder.samw");
    REQUIRE(other.load(b.data(), b.size(), "tiny").ok());
    CHECK(has(refuse(other, {1.f, 1.f}, {1.f}), "no image embedding set"));
    std::vector<float> e(other.embedding_count(), 0.5f);
    e[77] = k_nan;
    sam::status st = other.set_image(e.data(), e.size());
    CHECK(has(st.message, "image_embeddings[77] = nan is not finite"));
    e[77] = 3e30f;
    CHECK(has(other.set_image(e.data(), e.size()).message, "image_embeddings[77]"));
    CHECK(!other.is_image_set());
    CHECK(has(other.set_image(e.data(), 1000).message, "has 1000 values, this decoder needs 1048576 ([1, 256, 64, 64])"));
    sam::sam_decoder empty;
    CHECK(has(empty.set_image(e.data(), e.size()).message, "no decoder weights loaded"));
}

TEST_CASE("sam_decoder input: 0 and 200 points, far coordinates and unknown labels give finite masks") {
    sam::sam_decoder &d = tiny_decoder();
    auto run = [&](const std::vector<float> &coords, const std::vector<float> &labels) {
        outputs o(d);
        sam::status st = d.predict({coords.data(), labels.data(), (int)labels.size(), nullptr}, o.iou.data(), o.masks.data());
        REQUIRE_MESSAGE(st.ok(), st.message);
        CHECK(o.finite());
        return o;
    };
    run({}, {});
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> pos(0.f, 1024.f);
    std::vector<float> coords, labels;
    for (int i = 0; i < 200; ++i) coords.push_back(pos(rng)), coords.push_back(pos(rng)), labels.push_back((float)(i % 2));
    outputs many = run(coords, labels);
    // 205 tokens: the direct order is the cheaper one; the reordered one must agree.
    d.set_attention_order(sam::attention_order::reordered);
    outputs many_r = run(coords, labels);
    d.set_attention_order(sam::attention_order::automatic);
    float worst = 0.f;
    for (size_t i = 0; i < many.masks.size(); ++i) worst = std::max(worst, std::fabs(many.masks[i] - many_r.masks[i]));
    CHECK(worst < 1e-4f);
    run({-90000.f, 250000.f, 999999.f, -999999.f, 0.f, 0.f}, {1.f, 0.f, -1.f});
    run({10.f, 10.f, 20.f, 20.f, 30.f, 30.f}, {7.f, 0.5f, -3.f});
    CHECK(sam::select_single_mask(many.iou.data(), 4, 0) >= 1);
    CHECK(sam::select_single_mask(many.iou.data(), 4, 3) == 0);
}

TEST_CASE("sam_decoder: a decoder of other dimensions (micro config, 2x2 grid) loads and runs") {
    sam::decoder_weights w = micro_weights(4);
    sam::sam_decoder d;
    sam::status st = d.load(w);
    REQUIRE_MESSAGE(st.ok(), st.message);
    CHECK(d.mask_count() == 64);
    CHECK(d.embedding_count() == 32);
    std::vector<float> e(32);
    for (size_t i = 0; i < e.size(); ++i) e[i] = std::sin((float)i);
    REQUIRE(d.set_image(e.data(), e.size()).ok());
    outputs o(d);
    std::vector<float> coords = {3.f, 4.f, 0.f, 0.f}, labels = {1.f, -1.f}, mask(64, 0.25f);
    REQUIRE(d.predict({coords.data(), labels.data(), 2, mask.data()}, o.iou.data(), o.masks.data()).ok());
    CHECK(o.finite());
    CHECK(!o.untouched());
    // Weights that do not match their own config are refused.
    w.tensors.pop_back();
    CHECK(has(d.load(w).message, "missing tensor mask_decoder.iou_prediction_head.layers.2.bias"));
    CHECK(d.loaded());  // the decoder loaded before is kept
}

TEST_CASE("sam_decoder: predict_batch equals one predict per prompt; a bad prompt is named") {
    sam::sam_decoder &d = tiny_decoder();
    sam::thread_pool pool(2);
    d.set_parallel(&pool);
    std::vector<float> c0 = {100.f, 200.f, 0.f, 0.f}, l0 = {1.f, -1.f}, c1 = {10.f, 20.f, 300.f, 400.f}, l1 = {2.f, 3.f};
    std::vector<sam::sam_prompt> prompts = {{c0.data(), l0.data(), 2, nullptr}, {c1.data(), l1.data(), 2, nullptr}};
    const size_t k = d.num_outputs(), m = d.mask_count();
    std::vector<float> iou(2 * k), masks(2 * k * m), iou1(k), masks1(k * m);
    REQUIRE(d.predict_batch(prompts.data(), 2, iou.data(), masks.data()).ok());
    for (size_t i = 0; i < 2; ++i) {
        REQUIRE(d.predict(prompts[i], iou1.data(), masks1.data()).ok());
        CHECK(std::equal(iou1.begin(), iou1.end(), iou.begin() + i * k));
        CHECK(std::equal(masks1.begin(), masks1.end(), masks.begin() + i * k * m));
    }
    std::vector<float> bad = {k_nan, 1.f};
    prompts.push_back({bad.data(), l0.data(), 1, nullptr});
    std::vector<float> iou3(3 * k), masks3(3 * k * m);
    CHECK(has(d.predict_batch(prompts.data(), 3, iou3.data(), masks3.data()).message, "prompt 2: point_coords[0]"));
    d.set_parallel(nullptr);
}
