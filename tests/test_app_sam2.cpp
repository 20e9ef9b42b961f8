// The app's SAM 2.1 paths against the core's SAM 2 functions (sam2_transforms.h): the
// prompt's coordinate map and tensor layout, accept's postprocessing, the single-mask
// choice, a version 2 dataset in the native host (three feature files per image, the
// ONNX worker even where C++ weights are named), and segment everything and detector
// boxes fed through the decoder seam with SAM 2's layout. The decoder is the disc
// decoder of app_test_platform.h (masks are discs around the first point, in the 1024
// frame), so where a mask lands tests the frame it was mapped to.
#include <doctest/doctest.h>

#include <cmath>

#include "app/accept.h"
#include "app/annotator.h"
#include "app/detector_import.h"
#include "app/everything.h"
#include "app/model_transforms.h"
#include "app/prompt.h"
#include "app_test_platform.h"
#include "app_test_session.h"
#include "core/mask_postprocess.h"
#include "core/npy.h"
#include "core/rle.h"
#include "core/sam2_transforms.h"

using namespace sam;

namespace {

std::vector<float> mapped(preprocess_kind p, std::vector<double> xy, int h, int w, bool boxes = false) {
    if (boxes) model_apply_boxes(p, xy.data(), xy.size() / 4, image_shape{h, w});
    else model_apply_coords(p, xy.data(), xy.size() / 2, image_shape{h, w});
    return std::vector<float>(xy.begin(), xy.end());
}

std::vector<float> cat(std::vector<float> a, const std::vector<float> &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Smooth logits with edges at sub-pixel places: the two families' upsamplings disagree on them.
std::vector<float> wavy_logits(int seed) {
    std::vector<float> l(k_low_res_count);
    for (int v = 0; v < 256; ++v)
        for (int u = 0; u < 256; ++u)
            l[(size_t)v * 256 + u] = 40.f - std::hypot(u - 90.f - seed, (v - 120.f) * 1.3f) + 3.f * std::sin(u * 0.3f);
    return l;
}

// Logits whose stability at +-0.05 is 0: SAM 2's single-mask choice passes them over.
void make_unstable(float *plane) {
    for (size_t i = 0; i < k_low_res_count; ++i) plane[i] = (i % 2) ? 0.03f : -0.03f;
}

// A scheduler with an in-process backend that records every request it decodes.
struct recording_seam {
    decoder_scheduler s;
    native_decoder_backend *b = nullptr;
    std::vector<decoder_request> seen;
    bool unstable_token_0 = false;

    recording_seam() {
        auto fn = [this](const std::vector<float> &e, const decoder_request &r, decoder_result &out) {
            seen.push_back(r);
            status st = test::disc_decode(e, r, out);
            if (unstable_token_0) make_unstable(out.low_res_masks.data());
            return st;
        };
        auto backend = std::make_unique<native_decoder_backend>(s, fn, "recording");
        b = backend.get();
        s.set_backend(std::move(backend));
        s.load("decoder.onnx");
        decoder_embedding e;
        e.data.assign(k_decoder_embedding_count, 0.f);
        s.set_image(std::move(e));
        b->run_all();
    }
};

}  // namespace

TEST_CASE("app sam2: prompts map with SAM 2's transform and layout, SAM 1's with ResizeLongestSide") {
    const model_spec sam2 = sam2_1_model_spec(), sam1 = sam1_model_spec();
    const int h = 480, w = 640;
    prompt_shape pts{{click_point{100, 50, 1}, click_point{300.5, 200, 0}}};
    prompt_shape boxed = pts;
    boxed.has_box = true;
    boxed.box[0] = 20, boxed.box[1] = 30, boxed.box[2] = 400, boxed.box[3] = 470;

    SUBCASE("SAM 2.1: x * 1024 / W, y * 1024 / H; box corners first; no padding point") {
        double q[4] = {100, 50, 300.5, 200};
        sam2::apply_coords(q, 2, image_shape{h, w});
        CHECK(q[0] == doctest::Approx(160.0));
        CHECK(q[1] == doctest::Approx(50.0 * 1024 / 480));
        decoder_request r = build_request(sam2, pts, h, w, nullptr);
        CHECK(r.point_coords == std::vector<float>{(float)q[0], (float)q[1], (float)q[2], (float)q[3]});
        CHECK(r.point_labels == std::vector<float>{1, 0});
        r = build_request(sam2, boxed, h, w, nullptr);
        double b[4] = {20, 30, 400, 470};
        sam2::apply_boxes(b, 1, image_shape{h, w});
        CHECK(r.point_coords == cat({(float)b[0], (float)b[1], (float)b[2], (float)b[3]},
                                    {(float)q[0], (float)q[1], (float)q[2], (float)q[3]}));
        CHECK(r.point_labels == std::vector<float>{2, 3, 1, 0});
    }
    SUBCASE("SAM 1: ResizeLongestSide, points first, then the box or the padding point") {
        double q[4] = {100, 50, 300.5, 200};
        apply_coords(q, 2, image_shape{h, w});
        CHECK(q[1] == doctest::Approx(80.0));  // one scale, 1024 / 640, on both axes
        decoder_request r = build_request(sam1, pts, h, w, nullptr);
        CHECK(r.point_coords == std::vector<float>{(float)q[0], (float)q[1], (float)q[2], (float)q[3], 0, 0});
        CHECK(r.point_labels == std::vector<float>{1, 0, -1});
        r = build_request(sam1, boxed, h, w, nullptr);
        CHECK(r.point_coords == cat(mapped(preprocess_kind::longest_side_1024, {100, 50, 300.5, 200}, h, w),
                                    mapped(preprocess_kind::longest_side_1024, {20, 30, 400, 470}, h, w, true)));
        CHECK(r.point_labels == std::vector<float>{1, 0, 2, 3});
    }
    SUBCASE("the overlay's frame: per-axis scale for SAM 2.1, one scale for SAM 1") {
        float s[2];
        model_frame_scale(preprocess_kind::square_1024, w, h, s);
        CHECK(s[0] == doctest::Approx(1024.0 / 640));
        CHECK(s[1] == doctest::Approx(1024.0 / 480));
        model_frame_scale(preprocess_kind::longest_side_1024, w, h, s);
        CHECK(s[0] == doctest::Approx(1024.0 / 640));
        CHECK(s[1] == doctest::Approx(1024.0 / 640));
    }
}

TEST_CASE("app sam2: accept upsamples with sam2::postprocess_to_mask") {
    for (int size : {0, 1}) {
        const int w = size ? 333 : 640, h = size ? 517 : 480;
        CAPTURE(w);
        document_state d;
        REQUIRE(document_reset(d, {doc_image{1, "a.png", w, h}}));
        document_ensure_category(d);
        const std::vector<float> logits = wavy_logits(size * 7);
        accept_input in;
        in.low_res = logits.data();
        in.image_w = w;
        in.image_h = h;
        in.image_id = 1;
        in.preprocess = preprocess_kind::square_1024;
        const accept_outcome out = accept_candidate(d, in);
        REQUIRE(out.accepted);
        const annotation *a = d.doc.find_annotation(out.annotation_id);
        REQUIRE(a);
        const rle want = mask_to_rle(sam2::postprocess_to_mask(logits.data(), h, w));
        CHECK(a->mask.counts == want.counts);
        CHECK(a->area == rle_area(want));
        // SAM 1's postprocessing of the same logits is another mask (the padded frame)
        const image_shape in1 = get_preprocess_shape(h, w);
        CHECK(mask_to_rle(postprocess_to_mask(logits.data(), in1.height, in1.width, h, w)).counts != want.counts);
    }
}

TEST_CASE("app sam2: the default candidate follows SAM 2's single-mask choice") {
    decoder_result r;
    r.mask_count = 4;
    r.iou_predictions = {0.9f, 0.3f, 0.8f, 0.5f};
    r.low_res_masks.resize(4 * k_low_res_count);
    for (int k = 0; k < 4; ++k) {
        const std::vector<float> l = wavy_logits(10 * k);
        std::copy(l.begin(), l.end(), r.low_res_masks.begin() + (long)k * (long)k_low_res_count);
    }
    const prompt_shape one{{click_point{10, 10, 1}}}, two{{click_point{10, 10, 1}, click_point{50, 60, 0}}};
    prompt_shape box_and_point = one;
    box_and_point.has_box = true;
    // a stable token 0: both families take it for an unambiguous prompt
    REQUIRE(sam2::select_single_mask(r.iou_predictions.data(), r.low_res_masks.data()) == 0);
    CHECK(default_output(r, two, single_mask_rule::dynamic_stability) == 0);
    CHECK(default_output(r, box_and_point, single_mask_rule::dynamic_stability) == 0);
    // an unstable token 0: SAM 2.1 takes the best multimask output, SAM 1 keeps token 0
    make_unstable(r.low_res_masks.data());
    const int want = sam2::select_single_mask(r.iou_predictions.data(), r.low_res_masks.data());
    CHECK(want == 2);
    CHECK(default_output(r, two, single_mask_rule::dynamic_stability) == want);
    CHECK(default_output(r, box_and_point, single_mask_rule::dynamic_stability) == want);
    CHECK(default_output(r, two, single_mask_rule::token_0) == 0);
    // one point (ambiguous): the best multimask output by IoU, for both
    CHECK(default_output(r, one, single_mask_rule::dynamic_stability) == 2);
    CHECK(default_output(r, one, single_mask_rule::token_0) == 2);
    CHECK(model_single_mask(single_mask_rule::dynamic_stability, r.iou_predictions.data(), r.low_res_masks.data(), 1) == 0);
}

TEST_CASE("app sam2: a SAM 2.1 dataset loads, decodes through ONNX Runtime Web, accepts in its own frame") {
    test::session_options o;
    o.sam2 = true;
    o.images = 2;
    test::session t(o);
    annotator &app = *t.app;
    REQUIRE(app.messages.errors.empty());
    CHECK(app.data.data.version == 2);
    CHECK(app.data.data.spec.family == model_family::sam2_1);
    REQUIRE(app.data.data.images.size() == 2);
    CHECK(app.data.data.images[0].features ==
          std::vector<std::string>{"embeddings/image_embed/img0.npy", "embeddings/high_res_feats_0/img0.npy",
                                   "embeddings/high_res_feats_1/img0.npy"});
    CHECK(app.choice.worker == k_onnx_worker);
    CHECK(test::host_workers() == std::vector<std::string>{k_onnx_worker});
    REQUIRE(app.ui_ready());
    native_decoder_backend *b = test::host_backends().back();
    CHECK(b->feature_inputs() == std::vector<std::string>{"image_embed", "high_res_feats_0", "high_res_feats_1"});

    // a click: the disc lies around the point's SAM 2 coordinates (an ellipse in pixels)
    const double x = 200, y = 150;
    annotator_set_prompt(app, prompt_shape{{click_point{x, y, 1}}});
    t.settle();
    REQUIRE(app.prompt.has_result);
    CHECK(app.prompt.selected_output == 2);
    const std::vector<float> chosen(prompt_selected_logits(app.prompt), prompt_selected_logits(app.prompt) + k_low_res_count);
    annotator_accept(app, accept_merge::none);
    REQUIRE(app.doc.doc.annotations().size() == 1);
    const annotation a = app.doc.doc.annotations()[0];
    CHECK(a.mask.counts == mask_to_rle(sam2::postprocess_to_mask(chosen.data(), 480, 640)).counts);
    const double rx = test::k_disc_radii[2] * 640 / 1024.0, ry = test::k_disc_radii[2] * 480 / 1024.0;
    CHECK(std::fabs(a.area - M_PI * rx * ry) / (M_PI * rx * ry) < 0.03);
    const binary_mask m = rle_to_mask(a.mask);
    double sx = 0, sy = 0, n = 0, top = m.height, bottom = 0;
    for (int py = 0; py < m.height; ++py)
        for (int px = 0; px < m.width; ++px)
            if (m.at(px, py)) sx += px, sy += py, n++, top = std::min(top, (double)py), bottom = std::max(bottom, (double)py);
    CHECK(std::fabs(sx / n - (x - 0.5)) < 0.5);
    CHECK(std::fabs(sy / n - (y - 0.5)) < 0.5);
    CHECK(bottom - top + 1 == doctest::Approx(2 * ry).epsilon(0.03));  // not SAM 1's 2 * 120 * 640 / 1024

    // refinement: the next click feeds the chosen low-res logits back
    annotator_set_prompt(app, prompt_shape{{click_point{x, y, 1}}});
    t.settle();
    annotator_set_prompt(app, prompt_shape{{click_point{x, y, 1}, click_point{x + 50, y, 0}}});
    CHECK(app.prompt.last_request_has_mask_input);
    t.settle();
    CHECK(app.prompt.selected_output == 0);  // a stable token 0 for two points

    // the second image: three files again
    annotator_open_image(app, 1);
    t.settle();
    CHECK(app.data.embedding_ready);
    CHECK(app.messages.image_errors.empty());
}

TEST_CASE("app sam2: a SAM 2.1 dataset naming decoder_weights starts the C++ worker; a failed load falls back to ONNX") {
    test::session_options o;
    o.sam2 = true;
    o.images = 2;
    o.model_json = R"(, "decoder_weights": "decoder.samw")";
    {
        test::session t(o);
        annotator &app = *t.app;
        REQUIRE(app.messages.errors.empty());
        CHECK(app.choice.worker == k_cpp_worker);
        CHECK(app.choice.url.find("decoder.samw") != std::string::npos);
        CHECK(app.choice.fallback_url.find("decoder.onnx") != std::string::npos);
        CHECK(test::host_workers() == std::vector<std::string>{k_cpp_worker});
        REQUIRE(app.ui_ready());
        native_decoder_backend *b = test::host_backends().back();
        CHECK(b->feature_inputs() == std::vector<std::string>{"image_embed", "high_res_feats_0", "high_res_feats_1"});
        annotator_set_prompt(app, prompt_shape{{click_point{200, 150, 1}}});
        t.settle();
        CHECK(app.prompt.has_result);
    }
    o.failing_worker = k_cpp_worker;
    test::session t(o);
    annotator &app = *t.app;
    t.settle();
    CHECK(test::host_workers() == std::vector<std::string>{k_cpp_worker, k_onnx_worker});
    CHECK(app.choice.worker == k_onnx_worker);
    CHECK(app.choice.fell_back);
    bool noticed = false;
    for (const std::string &n : app.messages.notices)
        if (n.find("C++ decoder unavailable") != std::string::npos) noticed = true;
    CHECK(noticed);
}

TEST_CASE("app sam2: a feature file of the wrong shape is named, with the shape the spec expects") {
    test::session_options o;
    o.sam2 = true;
    o.images = 2;
    test::host_reset();
    test::host_add_sam2_dataset(o.name, o.images, o.width, o.height);
    npy_array wrong;
    wrong.dtype = npy_dtype::f32;
    wrong.shape = {1, 64, 64, 64};
    wrong.data.assign(64 * 64 * 64 * 4, 0);
    test::host_add_file("http://127.0.0.1:8000/datasets/ds/embeddings/high_res_feats_1/img0.npy", npy_serialize(wrong));
    o.keep_host = true;
    test::session t(o);
    annotator &app = *t.app;
    REQUIRE(app.messages.image_errors.size() == 1);
    CHECK(app.messages.image_errors[0].find("embeddings/high_res_feats_1/img0.npy: shape (1, 64, 64, 64) float32, "
                                            "expected (1, 64, 128, 128) float32 or float16") != std::string::npos);
    CHECK_FALSE(app.data.embedding_ready);
}

TEST_CASE("app sam2: segment everything sends SAM 2's single points and keeps SAM 2's masks") {
    recording_seam seam;
    const model_spec spec = sam2_1_model_spec();
    everything_state e;
    e.points_per_side = 4;
    proposals_state p;
    app_messages m;
    const int h = 300, w = 500;
    REQUIRE(everything_start(e, p, spec, h, w, 1, "images/a.png", 0));
    for (int i = 0; i < 100 && everything_active(e); ++i) {
        everything_tick(e, seam.s);
        seam.b->run_all();
        decoder_batch_result r;
        while (seam.s.poll_batch(r)) CHECK(everything_take(e, p, seam.s, r, m, 0));
    }
    REQUIRE_FALSE(everything_active(e));
    REQUIRE(seam.seen.size() == 16);
    const std::vector<double> grid = amg_generator(amg_params{4}, h, w).crop_points(0);
    for (size_t i = 0; i < seam.seen.size(); ++i) {
        CAPTURE(i);
        double q[2] = {grid[2 * i], grid[2 * i + 1]};
        sam2::apply_coords(q, 1, image_shape{h, w});
        CHECK(seam.seen[i].point_coords == std::vector<float>{(float)q[0], (float)q[1]});
        CHECK(seam.seen[i].point_labels == std::vector<float>{1});
    }
    // the discs (IoU 0.95, radius 120 in the 1024 frame) survive; each equals SAM 2's upsampling
    REQUIRE_FALSE(p.proposals.proposals.empty());
    for (const mask_proposal &q : p.proposals.proposals) {
        decoder_request r;
        double xy[2] = {q.point[0], q.point[1]};
        sam2::apply_coords(xy, 1, image_shape{h, w});
        r.point_coords = {(float)xy[0], (float)xy[1]};
        decoder_result out;
        REQUIRE(test::disc_decode({}, r, out));
        CHECK(q.predicted_iou == doctest::Approx(0.95));
        CHECK(q.segmentation.counts ==
              mask_to_rle(sam2::postprocess_to_mask(out.low_res_masks.data() + 2 * k_low_res_count, h, w)).counts);
    }
}

TEST_CASE("app sam2: detector boxes go as SAM 2 box prompts; the mask is SAM 2's single-mask choice") {
    recording_seam seam;
    seam.unstable_token_0 = true;  // SAM 2 then takes the best multimask output (IoU 0.95: index 2)
    detector_state d;
    app_messages m;
    const manifest_image entry{1, "images/a.png", 640, 480, "", "embeddings/image_embed/a.npy", "float16"};
    detector_import_coco(d, "boxes.json", R"([{"image_id": 1, "category_id": 3, "bbox": [100, 60, 200, 150], "score": 0.9}])",
                         entry, sam2_1_model_spec(), m);
    REQUIRE(detector_active(d));
    for (int i = 0; i < 20 && !detector_all_back(d); ++i) {
        detector_tick(d, seam.s);
        seam.b->run_all();
        decoder_batch_result r;
        while (seam.s.poll_batch(r)) CHECK(detector_take(d, r, m));
    }
    REQUIRE(detector_all_back(d));
    REQUIRE(seam.seen.size() == 1);
    double b[4] = {100, 60, 300, 210};
    sam2::apply_boxes(b, 1, image_shape{480, 640});
    CHECK(seam.seen[0].point_coords == std::vector<float>{(float)b[0], (float)b[1], (float)b[2], (float)b[3]});
    CHECK(seam.seen[0].point_labels == std::vector<float>{2, 3});
    REQUIRE(d.done.size() == 1);
    decoder_result out;
    REQUIRE(test::disc_decode({}, seam.seen[0], out));
    CHECK(d.done[0].ann.mask.counts ==
          mask_to_rle(sam2::postprocess_to_mask(out.low_res_masks.data() + 2 * k_low_res_count, 480, 640)).counts);
}
