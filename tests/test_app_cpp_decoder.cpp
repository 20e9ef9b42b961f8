// The app's request and accept logic natively against the real C++ decoder (the same
// core sam_decoder the browser's C++ worker runs), behind the decoder seam: the tiny
// test model's decoder.samw, a seeded embedding. A click gives exactly the logits of a
// direct sam_decoder.predict on the official-export inputs (apply_coords + padding
// point); the click after it feeds the shown mask back; accept stores
// postprocess_to_mask of the chosen candidate as RLE; a box prompt; the weights
// refused by the decoder fall back to ONNX Runtime's worker with a notice.
#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <memory>
#include <random>

#include "app/annotator.h"
#include "app_test_platform.h"
#include "app_test_session.h"
#include "core/mask_postprocess.h"
#include "core/npy.h"
#include "core/resize_longest_side.h"
#include "core/rle.h"
#include "core/sam_decoder.h"
#include "reference_data.h"

using namespace sam;

namespace {

constexpr int k_w = 640, k_h = 480;

std::vector<float> seeded_embedding(unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0.0f, 0.5f);
    std::vector<float> e(256 * 64 * 64);
    for (float &v : e) v = n(rng);
    return e;
}

std::vector<uint8_t> npy_of(const std::vector<float> &e) {
    npy_array a;
    a.dtype = npy_dtype::f32;
    a.shape = {1, 256, 64, 64};
    a.data.resize(e.size() * 4);
    std::memcpy(a.data.data(), e.data(), a.data.size());
    return npy_serialize(a);
}

std::vector<uint8_t> tiny_weights() {
    std::vector<uint8_t> b = read_file_bytes(std::string(SAM_FIXTURES_DIR) + "/tiny/decoder.samw");
    REQUIRE_MESSAGE(!b.empty(), "tests/fixtures/tiny/decoder.samw missing");
    return b;
}

// A served dataset whose manifest names decoder.samw, the C++ worker running the core decoder.
std::unique_ptr<test::session> cpp_session(const std::vector<float> &embedding, const std::vector<uint8_t> &weights) {
    test::host_reset();
    test::host_add_dataset("ds", 3, k_w, k_h, ", \"decoder_weights\": \"decoder.samw\"");
    const std::string base = "http://127.0.0.1:8000/datasets/ds/";
    test::host_add_file(base + "decoder.samw", weights);
    test::host_add_file(base + "embeddings/img0.npy", npy_of(embedding));
    test::host_use_cpp_decoder("sam_decoder_worker.js");
    test::session_options o;
    o.keep_host = true;
    return std::make_unique<test::session>(o);
}

// What the official export would be fed for these points (1/0 labels) on a k_h x k_w image.
void direct_predict(const std::vector<float> &embedding, std::vector<std::array<double, 3>> points, const float *mask,
                    std::vector<float> &iou, std::vector<float> &low) {
    std::vector<uint8_t> w = tiny_weights();
    sam_decoder dec;
    REQUIRE(dec.load(w.data(), w.size(), "decoder.samw").ok());
    REQUIRE(dec.set_image(embedding.data(), embedding.size()).ok());
    std::vector<float> coords, labels;
    for (auto &p : points) {
        double xy[2] = {p[0], p[1]};
        apply_coords(xy, 1, image_shape{k_h, k_w});
        coords.push_back((float)xy[0]);
        coords.push_back((float)xy[1]);
        labels.push_back((float)p[2]);
    }
    coords.insert(coords.end(), {0.0f, 0.0f});
    labels.push_back(-1.0f);
    sam_prompt pr{coords.data(), labels.data(), (int)labels.size(), mask};
    iou.assign(4, 0);
    low.assign(4 * dec.mask_count(), 0);
    REQUIRE(dec.predict(pr, iou.data(), low.data()).ok());
}

}  // namespace

TEST_CASE("app cpp decoder: the seam runs the core's C++ decoder; clicks, mask feedback, accept") {
    const std::vector<float> emb = seeded_embedding(7);
    std::unique_ptr<test::session> ts = cpp_session(emb, tiny_weights());
    test::session &t = *ts;
    annotator &app = *t.app;
    REQUIRE(app.decoder.status() == decoder_status::ready);
    CHECK(app.decoder.description().find("C++ native") != std::string::npos);
    REQUIRE(app.data.embedding_ready);

    annotator_set_prompt(app, prompt_shape{{click_point{200, 150, 1}}});
    t.settle();
    REQUIRE(app.prompt.has_result);
    std::vector<float> iou, low;
    direct_predict(emb, {{200, 150, 1}}, nullptr, iou, low);
    CHECK(app.prompt.result.iou_predictions == iou);
    CHECK(app.prompt.result.low_res_masks == low);  // bit for bit: the seam passes the request through
    const int chosen = app.prompt.selected_output;
    CHECK(chosen == select_single_mask(iou.data(), 4, 2));  // official rule with 2 labels: best of 1..3

    // A second point feeds the shown candidate's logits back as mask_input.
    const std::vector<float> fed(low.begin() + (size_t)chosen * k_low_res_count,
                                 low.begin() + (size_t)(chosen + 1) * k_low_res_count);
    annotator_set_prompt(app, prompt_shape{{click_point{200, 150, 1}, click_point{400, 300, 0}}});
    CHECK(app.prompt.last_request_has_mask_input);
    t.settle();
    std::vector<float> iou2, low2;
    direct_predict(emb, {{200, 150, 1}, {400, 300, 0}}, fed.data(), iou2, low2);
    CHECK(app.prompt.result.low_res_masks == low2);
    REQUIRE(app.prompt.selected_output == 0);  // 3 labels: the single-mask output

    // Accept: the full-resolution mask of the shown candidate, as RLE.
    annotator_accept(app, accept_merge::none);
    REQUIRE(app.doc.doc.annotations().size() == 1);
    const image_shape resized = get_preprocess_shape(k_h, k_w);
    const binary_mask want = postprocess_to_mask(low2.data(), resized.height, resized.width, k_h, k_w);
    CHECK(rle_to_mask(app.doc.doc.annotations()[0].mask).data == want.data);
}

TEST_CASE("app cpp decoder: a box prompt; weights the decoder refuses fall back to ONNX Runtime's worker") {
    const std::vector<float> emb = seeded_embedding(11);
    {
        std::unique_ptr<test::session> ts = cpp_session(emb, tiny_weights());
        test::session &t = *ts;
        annotator &app = *t.app;
        prompt_shape box;
        box.has_box = true;
        box.box[0] = 100, box.box[1] = 80, box.box[2] = 420, box.box[3] = 360;
        annotator_set_prompt(app, box);
        t.settle();
        REQUIRE(app.prompt.has_result);
        // The official box prompt: two corners, labels 2 and 3, no padding point.
        std::vector<uint8_t> w = tiny_weights();
        sam_decoder dec;
        REQUIRE(dec.load(w.data(), w.size(), "decoder.samw").ok());
        REQUIRE(dec.set_image(emb.data(), emb.size()).ok());
        double b[4] = {100, 80, 420, 360};
        apply_boxes(b, 1, image_shape{k_h, k_w});
        const float coords[4] = {(float)b[0], (float)b[1], (float)b[2], (float)b[3]}, labels[2] = {2, 3};
        std::vector<float> iou(4), low(4 * dec.mask_count());
        REQUIRE(dec.predict(sam_prompt{coords, labels, 2, nullptr}, iou.data(), low.data()).ok());
        CHECK(app.prompt.result.low_res_masks == low);
    }
    std::vector<uint8_t> cut = tiny_weights();
    cut.resize(cut.size() / 2);
    std::unique_ptr<test::session> ts = cpp_session(emb, cut);
    annotator &app = *ts->app;
    CHECK(app.decoder.status() == decoder_status::ready);
    REQUIRE(test::host_workers().size() == 2);
    CHECK(test::host_workers()[0] == "sam_decoder_worker.js");
    CHECK(test::host_workers()[1] == "decoder_worker.js");
    bool noticed = false;
    for (const std::string &n : app.messages.notices)
        if (n.find("C++ decoder unavailable") != std::string::npos && n.find("decoder.samw") != std::string::npos)
            noticed = true;
    CHECK_MESSAGE(noticed, "no notice naming the refused weights file");
}
