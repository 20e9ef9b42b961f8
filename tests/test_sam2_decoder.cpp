// Tests of the C++ SAM 2.1 decoder (sam2_decoder.h) on the tiny SAM 2.1 fixture
// (tests/fixtures/tiny_sam2/decoder.samw, written by make-test-model) against onnxruntime's
// run of the same model's decoder.onnx (reference/tiny_sam2_decoder, written at build time
// by scripts/model/sam2_decoder_reference.py): point, negative point, box, box + point,
// three points and a mask input; then attention orders, threads, the family checks of
// the weights file and refused inputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/sam2_decoder.h"
#include "core/sam_decoder.h"
#include "core/thread_pool.h"
#include "reference_data.h"

namespace {

const char *const k_cases[] = {"point", "negative_point", "box", "box_and_point", "three_points", "mask_input"};

std::string fixture_path(const std::string &rel) { return std::string(SAM_FIXTURES_DIR) + "/" + rel; }

std::vector<float> ref_f32(const std::string &key) { return load_reference("tiny_sam2_decoder", key).to_f32(); }

std::vector<uint8_t> fixture_bytes(const std::string &rel) {
    std::vector<uint8_t> b = read_file_bytes(fixture_path(rel));
    REQUIRE_MESSAGE(!b.empty(), "missing " << fixture_path(rel));
    return b;
}

struct features {
    std::vector<float> embed, f0, f1;
    sam::sam2_features view() const {
        return {embed.data(), embed.size(), f0.data(), f0.size(), f1.data(), f1.size()};
    }
};

const features &reference_features() {
    static features f;
    if (f.embed.empty()) {
        f.embed = ref_f32("features.image_embed");
        f.f0 = ref_f32("features.high_res_feats_0");
        f.f1 = ref_f32("features.high_res_feats_1");
    }
    return f;
}

sam::sam2_decoder &tiny_decoder() {
    static sam::sam2_decoder dec;
    if (!dec.loaded()) {
        std::vector<uint8_t> b = fixture_bytes("tiny_sam2/decoder.samw");
        sam::status st = dec.load(b.data(), b.size(), "tiny_sam2/decoder.samw");
        REQUIRE_MESSAGE(st.ok(), st.message);
        REQUIRE(dec.set_image(reference_features().view()).ok());
    }
    return dec;
}

float max_abs(const float *a, size_t n) {
    float m = 0.f;
    for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i]));
    return m;
}

float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0.f;
    for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

// [case][iou (4) + masks (4 x 256 x 256)] with the decoder's current settings.
std::vector<std::vector<float>> run_cases(sam::sam2_decoder &dec) {
    std::vector<std::vector<float>> out;
    for (std::string name : k_cases) {
        std::vector<float> coords = ref_f32(name + ".point_coords"), labels = ref_f32(name + ".point_labels");
        std::vector<float> mask = ref_f32(name + ".mask_input");
        const bool has_mask = ref_f32(name + ".has_mask_input")[0] != 0.f;
        sam::sam_prompt p{coords.data(), labels.data(), (int)labels.size(), has_mask ? mask.data() : nullptr};
        std::vector<float> r(4 + 4 * dec.mask_count());
        sam::status st = dec.predict(p, r.data(), r.data() + 4);
        REQUIRE_MESSAGE(st.ok(), st.message);
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace

TEST_CASE("sam2_decoder: tiny SAM 2.1 fixture equals onnxruntime on decoder.onnx within 1e-5 of the logits' range") {
    sam::sam2_decoder &dec = tiny_decoder();
    CHECK(dec.num_outputs() == 4);
    CHECK(dec.config().family == sam::k_family_sam2_1);
    CHECK(dec.image_embed_count() == 256 * 64 * 64);
    CHECK(dec.high_res_feats_0_count() == 32 * 256 * 256);
    CHECK(dec.high_res_feats_1_count() == 64 * 128 * 128);
    auto got = run_cases(dec);
    for (size_t i = 0; i < got.size(); ++i) {
        const std::string name = k_cases[i];
        CAPTURE(name);
        std::vector<float> want_iou = ref_f32(name + ".iou_predictions"), want_masks = ref_f32(name + ".low_res_masks");
        REQUIRE(want_iou.size() == 4);
        REQUIRE(want_masks.size() == 4 * dec.mask_count());
        const float range = std::max(1.f, max_abs(want_masks.data(), want_masks.size()));
        const float dm = max_abs_diff(got[i].data() + 4, want_masks.data(), want_masks.size());
        const float di = max_abs_diff(got[i].data(), want_iou.data(), 4);
        MESSAGE("case " << name << ": low_res_masks max|C++ - ORT| " << dm << " (max|ORT| " <<
                max_abs(want_masks.data(), want_masks.size()) << "), iou_predictions " << di);
        CHECK(dm <= 1e-5f * range);
        CHECK(di <= 1e-5f);
        // The outputs are real: the cases differ from each other.
        if (i > 0) CHECK(max_abs_diff(got[i].data() + 4, got[0].data() + 4, want_masks.size()) > 1e-3f);
    }
}

TEST_CASE("sam2_decoder: attention orders agree, two threads are bit-identical") {
    sam::sam2_decoder &dec = tiny_decoder();
    auto base = run_cases(dec);
    dec.set_attention_order(sam::attention_order::direct);
    auto direct = run_cases(dec);
    dec.set_attention_order(sam::attention_order::reordered);
    auto reordered = run_cases(dec);
    dec.set_attention_order(sam::attention_order::automatic);
    for (size_t i = 0; i < direct.size(); ++i) {
        const float d = max_abs_diff(direct[i].data(), reordered[i].data(), direct[i].size());
        MESSAGE("case " << std::string(k_cases[i]) << ": max|direct - reordered| " << d);
        CHECK(d <= 2e-6f);
    }
    sam::thread_pool pool(2);
    dec.set_parallel(&pool);
    auto two = run_cases(dec);
    dec.set_parallel(nullptr);
    for (size_t i = 0; i < base.size(); ++i) CHECK(base[i] == two[i]);
}

TEST_CASE("sam2_decoder: the weights file says its family; each decoder refuses the other's, naming the file") {
    std::vector<uint8_t> sam2_bytes = fixture_bytes("tiny_sam2/decoder.samw");
    std::vector<uint8_t> sam1_bytes = fixture_bytes("tiny/decoder.samw");
    sam::decoder_weights w2, w1;
    REQUIRE(sam::decoder_weights_parse(sam2_bytes.data(), sam2_bytes.size(), "a", w2).ok());
    REQUIRE(sam::decoder_weights_parse(sam1_bytes.data(), sam1_bytes.size(), "b", w1).ok());
    CHECK(w2.config.family == sam::k_family_sam2_1);
    CHECK(w1.config.family == sam::k_family_sam);
    CHECK(sam2_bytes[4] == 2);  // version 2
    CHECK(sam1_bytes[4] == 1);
    CHECK(w2.find("sam_mask_decoder.obj_score_token.weight") != nullptr);
    CHECK(w2.find("sam_mask_decoder.transformer.layers.0.mlp.layers.0.weight") != nullptr);
    CHECK(w2.find("sam_mask_decoder.conv_s0.weight") == nullptr);
    // Re-serialised byte for byte (the C++ writer agrees with the Python one).
    CHECK(sam::decoder_weights_serialize(w2, sam::weights_dtype::f32) == sam2_bytes);

    sam::sam_decoder d1;
    sam::status st = d1.load(sam2_bytes.data(), sam2_bytes.size(), "models/x/decoder.samw");
    CHECK(!st.ok());
    CHECK_MESSAGE(st.message.rfind("models/x/decoder.samw: ", 0) == 0, st.message);
    CHECK_MESSAGE(st.message.find("SAM 2.1") != std::string::npos, st.message);
    CHECK(!d1.loaded());
    sam::sam2_decoder d2;
    st = d2.load(sam1_bytes.data(), sam1_bytes.size(), "models/y/decoder.samw");
    CHECK(!st.ok());
    CHECK_MESSAGE(st.message.rfind("models/y/decoder.samw: ", 0) == 0, st.message);
    CHECK_MESSAGE(st.message.find("SAM decoder weights") != std::string::npos, st.message);
    CHECK(!d2.loaded());
    // The SAM file still loads into the SAM decoder.
    CHECK(d1.load(sam1_bytes.data(), sam1_bytes.size(), "tiny/decoder.samw").ok());

    // A version-2 file must say family 1.
    std::vector<uint8_t> bad = sam2_bytes;
    bad[24 + 16 * 4] = 0;
    const uint32_t crc = sam::crc32_ieee(bad.data(), bad.size() - 4);
    for (int i = 0; i < 4; ++i) bad[bad.size() - 4 + i] = (uint8_t)(crc >> (8 * i));
    sam::decoder_weights w;
    st = sam::decoder_weights_parse(bad.data(), bad.size(), "bad.samw", w);
    CHECK(!st.ok());
    CHECK_MESSAGE(st.message.find("bad.samw: ") == 0, st.message);
    CHECK_MESSAGE(st.message.find("family") != std::string::npos, st.message);
}

TEST_CASE("sam2_decoder: bad features and prompts are refused with a message") {
    sam::sam2_decoder dec;
    std::vector<uint8_t> b = fixture_bytes("tiny_sam2/decoder.samw");
    REQUIRE(dec.load(b.data(), b.size(), "tiny_sam2/decoder.samw").ok());
    std::vector<float> iou(4), masks(4 * dec.mask_count());
    const float pt[2] = {10.f, 20.f}, lb[1] = {1.f};
    sam::status st = dec.predict({pt, lb, 1, nullptr}, iou.data(), masks.data());
    CHECK(!st.ok());
    CHECK(st.message.find("set_image") != std::string::npos);

    features f = reference_features();
    sam::sam2_features v = f.view();
    v.high_res_feats_0_count -= 1;
    st = dec.set_image(v);
    CHECK(!st.ok());
    CHECK_MESSAGE(st.message.find("high_res_feats_0") != std::string::npos, st.message);
    v = f.view();
    v.high_res_feats_1 = nullptr;
    CHECK(!dec.set_image(v).ok());
    f.embed[17] = std::numeric_limits<float>::quiet_NaN();
    st = dec.set_image(f.view());
    CHECK(!st.ok());
    CHECK_MESSAGE(st.message.find("image_embed[17]") != std::string::npos, st.message);
    CHECK(!dec.is_image_set());

    REQUIRE(dec.set_image(reference_features().view()).ok());
    const float inf_pt[2] = {std::numeric_limits<float>::infinity(), 0.f};
    CHECK(!dec.predict({inf_pt, lb, 1, nullptr}, iou.data(), masks.data()).ok());
    CHECK(!dec.predict({pt, lb, sam::k_max_points, nullptr}, iou.data(), masks.data()).ok());
    // No points at all: only the padding point, a valid prompt (as decoder.onnx with N = 0).
    st = dec.predict({nullptr, nullptr, 0, nullptr}, iou.data(), masks.data());
    CHECK_MESSAGE(st.ok(), st.message);
    for (float x : iou) CHECK((x > 0.f && x < 1.f));
    CHECK(max_abs(masks.data(), masks.size()) <= sam::k_sam2_logit_clamp);
}
