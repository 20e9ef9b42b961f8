// Tests of the C++ decoder (sam_decoder.h) against the official outputs of
// ../shared/sam-reference/decoder (cases a-e, multi and single mask), with the weights
// file our exporter writes from decoder_state_dict.pt (build/.../reference/decoder.samw);
// then the attention orders and thread counts against each other.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "core/sam_decoder.h"
#include "core/thread_pool.h"
#include "reference_data.h"

namespace {

std::vector<float> ref_f32(const std::string &key) { return load_reference("decoder_io", key).to_f32(); }

sam::sam_decoder &reference_decoder() {
    static sam::sam_decoder dec;
    if (!dec.loaded()) {
        std::string path = std::string(SAM_REFERENCE_NPY_DIR) + "/decoder.samw";
        std::vector<uint8_t> bytes = read_file_bytes(path);
        REQUIRE_MESSAGE(!bytes.empty(), "missing " << path << " (the build writes it with scripts/model/export)");
        sam::status st = dec.load(bytes.data(), bytes.size(), path);
        REQUIRE_MESSAGE(st.ok(), st.message);
    }
    return dec;
}

float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0.f;
    for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

struct case_io {
    std::vector<float> embedding, coords, labels, mask;
    bool has_mask = false;
};

case_io load_case(const std::string &c) {
    case_io io;
    io.embedding = ref_f32(c + ".image_embeddings");
    io.coords = ref_f32(c + ".point_coords");
    io.labels = ref_f32(c + ".point_labels");
    io.mask = ref_f32(c + ".mask_input");
    io.has_mask = ref_f32(c + ".has_mask_input")[0] != 0.f;
    return io;
}

}  // namespace

TEST_CASE("sam_decoder: reference cases a-e, multi and single mask, within 1e-5") {
    sam::sam_decoder &dec = reference_decoder();
    CHECK(dec.num_outputs() == 4);
    for (std::string name : {"a", "b", "c", "d", "e"}) {
        CAPTURE(name);
        case_io io = load_case(name);
        REQUIRE(dec.set_image(io.embedding.data(), io.embedding.size()).ok());
        std::vector<float> iou(4), masks(4 * dec.mask_count());
        sam::sam_prompt p{io.coords.data(), io.labels.data(), (int)io.labels.size(),
                          io.has_mask ? io.mask.data() : nullptr};
        sam::status st = dec.predict(p, iou.data(), masks.data());
        REQUIRE_MESSAGE(st.ok(), st.message);
        std::vector<float> want_masks = ref_f32(name + ".multi.low_res_masks");
        std::vector<float> want_iou = ref_f32(name + ".multi.iou_predictions");
        const float dm = max_abs_diff(masks.data(), want_masks.data(), masks.size());
        const float di = max_abs_diff(iou.data(), want_iou.data(), 4);
        MESSAGE("case " << name << " multi: low_res_masks max|diff| " << dm << ", iou " << di);
        CHECK(dm <= 1e-5f);
        CHECK(di <= 1e-5f);

        const int best = sam::select_single_mask(iou.data(), 4, (int)io.labels.size());
        CHECK(best == load_reference("decoder_io", name + ".single.best_index").to_i64()[0]);
        std::vector<float> single = ref_f32(name + ".single.low_res_masks");
        const float ds = max_abs_diff(masks.data() + best * dec.mask_count(), single.data(), single.size());
        const float dsi = std::fabs(iou[best] - ref_f32(name + ".single.iou_predictions")[0]);
        MESSAGE("case " << name << " single (mask " << best << "): low_res_masks " << ds << ", iou " << dsi);
        CHECK(ds <= 1e-5f);
        CHECK(dsi <= 1e-5f);
    }
}

namespace {

// Runs every reference case with the decoder's current settings: [case][iou + masks].
std::vector<std::vector<float>> run_cases(sam::sam_decoder &dec) {
    std::vector<std::vector<float>> out;
    for (std::string name : {"a", "b", "c", "d", "e"}) {
        case_io io = load_case(name);
        REQUIRE(dec.set_image(io.embedding.data(), io.embedding.size()).ok());
        std::vector<float> r(4 + 4 * dec.mask_count());
        sam::sam_prompt p{io.coords.data(), io.labels.data(), (int)io.labels.size(),
                          io.has_mask ? io.mask.data() : nullptr};
        REQUIRE(dec.predict(p, r.data(), r.data() + 4).ok());
        std::vector<float> want = ref_f32(name + ".multi.iou_predictions");
        std::vector<float> masks = ref_f32(name + ".multi.low_res_masks");
        want.insert(want.end(), masks.begin(), masks.end());
        CHECK_MESSAGE(max_abs_diff(r.data(), want.data(), r.size()) <= 1e-5f, "case " << name);
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace

TEST_CASE("sam_decoder: direct and reordered attention agree within float rounding") {
    sam::sam_decoder &dec = reference_decoder();
    dec.set_attention_order(sam::attention_order::direct);
    auto direct = run_cases(dec);
    dec.set_attention_order(sam::attention_order::reordered);
    auto reordered = run_cases(dec);
    dec.set_attention_order(sam::attention_order::automatic);
    for (size_t i = 0; i < direct.size(); ++i) {
        const float d = max_abs_diff(direct[i].data(), reordered[i].data(), direct[i].size());
        MESSAGE("case " << i << ": max|direct - reordered| " << d);
        CHECK(d <= 2e-6f);
        CHECK(d > 0.f);  // the two orders really are different computations
    }
}

TEST_CASE("sam_decoder: two threads give bit-identical outputs") {
    sam::sam_decoder &dec = reference_decoder();
    auto one = run_cases(dec);
    sam::thread_pool pool(2);
    dec.set_parallel(&pool);
    auto two = run_cases(dec);
    dec.set_parallel(nullptr);
    for (size_t i = 0; i < one.size(); ++i) CHECK(one[i] == two[i]);
}
