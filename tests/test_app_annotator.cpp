// Tests of the annotator's request and accept logic, natively: a served dataset in the
// in-process host, the decoder seam with the disc decoder (masks are discs of known
// radius around the first point, so apply_coords, the 1024 frame and
// postprocess_to_mask are checked together), the prompt API against clicks, and the
// choice of decoder backend with its fallback.
#include <doctest/doctest.h>

#include <cmath>

#include "app/annotator.h"
#include "app_test_platform.h"
#include "app_test_session.h"
#include "core/rle.h"

using namespace sam;

TEST_CASE("app annotator: a dataset loads; a point gives the disc candidates; mask fed back on the next") {
    test::session t(test::session_options{});
    annotator &app = *t.app;
    REQUIRE(app.data.image_ready);
    REQUIRE(app.data.embedding_ready);
    REQUIRE(app.decoder.status() == decoder_status::ready);
    REQUIRE(app.save.restore_done);
    CHECK(app.ui_ready());
    CHECK(app.messages.errors.empty());

    prompt_shape s;
    s.points.push_back(click_point{200, 150, 1});
    annotator_set_prompt(app, s);
    t.settle();
    REQUIRE(app.prompt.has_result);
    CHECK(app.prompt.result_kind == request_kind::prompt);
    CHECK(app.prompt.selected_output == 2);  // best predicted IoU (0.95), as the official select_masks
    CHECK_FALSE(app.prompt.last_request_has_mask_input);
    s.points.push_back(click_point{260, 150, 0});
    annotator_set_prompt(app, s);
    CHECK(app.prompt.last_request_has_mask_input);  // the shown prompt's mask goes back in
    t.settle();
    CHECK(app.prompt.selected_output == 0);  // 3 labels with the padding point: single-mask output
    // a prompt that does not extend the shown one starts afresh
    prompt_shape other;
    other.points.push_back(click_point{10, 10, 1});
    annotator_set_prompt(app, other);
    CHECK_FALSE(app.prompt.last_request_has_mask_input);
}

TEST_CASE("app annotator: hover requests faster than the decoder: the newest is shown, stale ones never run") {
    test::session t(test::session_options{});
    annotator &app = *t.app;
    native_decoder_backend *b = test::host_backends().back();
    const size_t before = b->decodes();
    uint64_t last = 0;
    for (int i = 0; i < 20; ++i)
        last = prompt_send(app.prompt, app.decoder, app.data.data.spec, request_kind::hover,
                           prompt_shape{{click_point{10.0 + i, 20, 1}}}, 480, 640, 0, 0);
    t.settle();
    CHECK(b->decodes() - before == 2);  // the first (in flight at once) and the newest
    CHECK(app.prompt.result_request_id == last);
    CHECK(app.prompt.result_kind == request_kind::hover);
}

TEST_CASE("app annotator: accept turns the logits into the full-resolution disc, stored as RLE") {
    test::session t(test::session_options{});
    annotator &app = *t.app;
    annotator_set_prompt(app, prompt_shape{{click_point{200, 150, 1}}});
    t.settle();
    annotator_accept(app, accept_merge::none);
    REQUIRE(app.doc.doc.annotations().size() == 1);
    const annotation a = app.doc.doc.annotations()[0];
    const double r = test::k_disc_radii[2] / (1024.0 / 640);  // radius in image pixels
    CHECK(std::fabs(a.area - M_PI * r * r) / (M_PI * r * r) < 0.03);
    // the disc is centred on the point's 1024-frame coordinates, i.e. the corner at 199.5
    const binary_mask m = rle_to_mask(a.mask);
    double sx = 0, sy = 0, n = 0;
    for (int y = 0; y < m.height; ++y)
        for (int x = 0; x < m.width; ++x)
            if (m.at(x, y)) sx += x, sy += y, n++;
    CHECK(std::fabs(sx / n - 199.5) < 0.25);
    CHECK(std::fabs(sy / n - 149.5) < 0.25);
    CHECK(a.prompts.points.size() == 1);
    CHECK(a.score == doctest::Approx(0.95));
    CHECK(app.doc.selected_annotation == a.id);
    CHECK(app.prompt.shape.empty());
    CHECK_FALSE(app.prompt.has_result);
    // the overlay painted it, and only around it
    annotator_update(app, 0);
    CHECK(app.overlay.revision > 0);
    CHECK(app.overlay.pixels_painted >= (size_t)a.area);

    // Shift+Enter: a second disc merged in; Alt+Enter: cut
    annotator_set_prompt(app, prompt_shape{{click_point{200 + r, 150, 1}}});
    t.settle();
    annotator_accept(app, accept_merge::add);
    REQUIRE(app.doc.doc.annotations().size() == 1);
    const double added = app.doc.doc.annotations()[0].area;
    CHECK(added > a.area * 1.3);
    annotator_set_prompt(app, prompt_shape{{click_point{200 + r, 150, 1}}});
    t.settle();
    annotator_accept(app, accept_merge::subtract);
    CHECK(app.doc.doc.annotations()[0].area < added);
    annotator_undo(app);
    annotator_undo(app);
    CHECK(app.doc.doc.annotations()[0].area == doctest::Approx(M_PI * r * r).epsilon(0.03));
}

TEST_CASE("app annotator: the prompt API gives the same candidates as the same prompt clicked") {
    test::session t(test::session_options{});
    annotator &app = *t.app;
    // clicked: a point, then a second point, then a box
    std::vector<decoder_result> clicked, api;
    prompt_shape s{{click_point{200, 150, 1}}};
    annotator_set_prompt(app, s);
    t.settle();
    clicked.push_back(app.prompt.result);
    s.points.push_back(click_point{300, 200, 0});
    annotator_set_prompt(app, s);
    t.settle();
    clicked.push_back(app.prompt.result);
    annotator_clear_prompt(app);
    prompt_shape box;
    box.has_box = true;
    box.box[0] = 100, box.box[1] = 80, box.box[2] = 400, box.box[3] = 300;
    annotator_set_prompt(app, box);
    t.settle();
    clicked.push_back(app.prompt.result);
    annotator_clear_prompt(app);

    std::string error;
    CHECK(annotator_prompt_api(app, R"({"points": [[200, 150, 1]]})", error) > 0);
    t.settle();
    api.push_back(app.prompt.result);
    CHECK(annotator_prompt_api(app, R"({"points": [[200, 150, 1], [300, 200, 0]]})", error) > 0);
    CHECK(app.prompt.last_request_has_mask_input);
    t.settle();
    api.push_back(app.prompt.result);
    CHECK(annotator_prompt_api(app, R"({"box": [400, 300, 100, 80]})", error) > 0);  // corners in any order
    t.settle();
    api.push_back(app.prompt.result);
    for (size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(api[i].iou_predictions == clicked[i].iou_predictions);
        CHECK(api[i].low_res_masks == clicked[i].low_res_masks);
    }
    CHECK(app.prompt.shape.has_box);

    // accept({category}) with a new name creates it; an id must exist
    const int64_t id = annotator_accept_api(app, R"({"category": "cup"})", error);
    REQUIRE(id > 0);
    const annotation *a = app.doc.doc.find_annotation(id);
    REQUIRE(a);
    CHECK(app.doc.doc.find_category(a->category_id)->name == "cup");
    CHECK(annotator_accept_api(app, R"({"category": "cup"})", error) == 0);  // nothing left to accept
    CHECK(error == "accept: no mask to accept");
    CHECK(annotator_prompt_api(app, R"({"points": [[1, 2, 7]]})", error) == 0);
    CHECK(error.find("points[0]") != std::string::npos);
    CHECK(annotator_prompt_api(app, R"({"box": [1, 2, 3]})", error) == 0);
    CHECK(annotator_prompt_api(app, "[]", error) == 0);
    CHECK(annotator_prompt_api(app, "{}", error) == 0);
    CHECK(annotator_prompt_api(app, R"({"points": [[200, 150, 1]]})", error) > 0);
    CHECK(annotator_accept_api(app, R"({"category": 99})", error) == 0);  // decoding still
    t.settle();
    CHECK(annotator_accept_api(app, R"({"category": 99})", error) == 0);
    CHECK(error == "accept: no category with id 99");
}

TEST_CASE("app annotator: the C++ decoder when the manifest names its weights; ONNX when it fails; ?decoder forces ONNX") {
    SUBCASE("weights named: the C++ worker") {
        test::session_options o;
        o.model_json = R"(, "decoder_weights": "decoder.samw")";
        test::session t(o);
        CHECK(test::host_workers() == std::vector<std::string>{"sam_decoder_worker.js"});
        CHECK(t.app->choice.url == "http://127.0.0.1:8000/datasets/ds/decoder.samw");
        CHECK(t.app->decoder.status() == decoder_status::ready);
    }
    SUBCASE("the C++ worker refuses the weights: ONNX Runtime Web with the ONNX decoder, and a notice") {
        test::session_options o;
        o.model_json = R"(, "decoder_weights": "decoder.samw")";
        o.failing_worker = "sam_decoder_worker.js";
        test::session t(o);
        CHECK(test::host_workers() == std::vector<std::string>{"sam_decoder_worker.js", "decoder_worker.js"});
        CHECK(t.app->choice.url == "http://127.0.0.1:8000/datasets/ds/decoder.onnx");
        CHECK(t.app->choice.fell_back);
        CHECK(t.app->decoder.status() == decoder_status::ready);
        CHECK(t.app->data.embedding_ready);  // the embedding went to the new backend
        CHECK(t.app->messages.errors.empty());
        REQUIRE_FALSE(t.app->messages.notices.empty());
        bool noticed = false;
        for (const std::string &n : t.app->messages.notices)
            noticed = noticed || n.find("C++ decoder unavailable (http://127.0.0.1:8000/datasets/ds/decoder.samw: "
                                        "refused)") == 0;
        CHECK(noticed);
    }
    SUBCASE("?decoder= forces ONNX Runtime Web") {
        test::session_options o;
        o.model_json = R"(, "decoder_weights": "decoder.samw")";
        o.decoder_url = "/data/disc.onnx";
        test::session t(o);
        CHECK(test::host_workers() == std::vector<std::string>{"decoder_worker.js"});
        CHECK(t.app->choice.url == "/data/disc.onnx");
    }
    SUBCASE("no weights: ONNX Runtime Web; a failure with nothing to fall back on is an error") {
        test::session_options o;
        o.failing_worker = "decoder_worker.js";
        test::session t(o);
        REQUIRE(t.app->messages.errors.size() == 1);
        CHECK(t.app->messages.errors[0] == "decoder: http://127.0.0.1:8000/datasets/ds/decoder.onnx: refused");
        CHECK(t.app->ui_ready());  // the problem is shown
    }
}
