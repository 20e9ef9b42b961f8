// In-browser encoding in the app's logic, natively: a manifest whose images have no
// embedding files and whose model declares a browser encoder; the host's fake encoder
// (app_test_platform.h: decodes with the core, caches by content hash like the worker's
// IndexedDB). The shown image is encoded first and reaches the decoder as data; the next
// images follow in the background only when the decoder and the person rest; a broken
// image and a failing cache are reported by name and annotation goes on; dropped photos
// without .npy make a local session on the dataset's model (or model.json's).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "app/annotator.h"
#include "app_test_platform.h"
#include "app_test_session.h"
#include "reference_data.h"

using namespace sam;

namespace {

const std::string k_base = "http://127.0.0.1:8000/datasets/enc/";

// n images of w x h (the same picture), none with an embedding; `model`: extra fields of the model.
void add_unembedded_dataset(int n, int w, int h, const std::string &model = ", \"encoder\": \"encoder.onnx\", \"browser_encoder\": true") {
    test::host_reset();
    nlohmann::json m;
    m["version"] = 1;
    m["model"] = nlohmann::json::parse("{\"id\": \"small\", \"decoder\": \"decoder.onnx\"" + model + "}");
    for (int i = 0; i < n; ++i) {
        const std::string file = "images/p" + std::to_string(i) + ".bmp";
        m["images"].push_back({{"id", i + 1}, {"file", file}, {"width", w}, {"height", h}});
        test::host_add_file(k_base + file, test::bmp_image(w, h));
    }
    test::host_add_text(k_base + "manifest.json", m.dump());
    test::host_add_text(k_base + "encoder.onnx", "onnx");
}

test::session open_enc(const std::string &failing = "") {
    test::session_options o;
    o.name = "enc";
    o.keep_host = true;
    o.failing_worker = failing;
    return test::session(o);
}

}  // namespace

TEST_CASE("app browser encoding: the shown image is encoded first and decodes; the next ones wait for a quiet moment") {
    add_unembedded_dataset(6, 64, 48);
    test::session t = open_enc();
    annotator &app = *t.app;
    REQUIRE(app.messages.errors.empty());
    REQUIRE(app.messages.image_errors.empty());
    CHECK(app.encoding.status == encoder_status::ready);
    CHECK(test::host_encoder().warm_ups == 0);  // the shown image needs it now: no warm-up run first
    CHECK(app.encoding.url == k_base + "encoder.onnx");
    CHECK(app.encoding.model_key == "small@" + k_base + "encoder.onnx");
    CHECK(app.encoding.total == 6);
    REQUIRE(app.data.embedding_ready);
    CHECK(test::host_encoder().encodes == 1);  // the person keeps "typing" (last input = now): no background work
    CHECK(test::host_encoder().names == std::vector<std::string>{"p0.bmp"});
    const std::vector<float> *e = annotator_shown_embedding(app);
    REQUIRE(e);
    CHECK(e->size() == k_decoder_embedding_count);
    CHECK((*e)[123] == test::fake_embedding_value(test::bmp_image(64, 48)));
    const nlohmann::json s = nlohmann::json::parse(annotator_state_json(app));
    CHECK(s["encoding"]["shown"]["source"] == "encoder");
    CHECK(s["encoding"]["shown"]["cached"] == false);
    CHECK(s["encoding"]["description"] == "fake, 1 thread");

    annotator_set_prompt(app, prompt_shape{{click_point{30, 20, 1}}});
    t.settle();
    REQUIRE(app.prompt.has_result);

    // The person rests: the next k_encode_ahead images, one at a time, in the background.
    test::host_set_last_input(t.now - 10000);
    t.settle();
    CHECK(test::host_encoder().encodes == 1 + k_encode_ahead);
    CHECK(app.encoding.background_done == k_encode_ahead);
    CHECK(test::host_encoder().names[1] == "p1.bmp");
    CHECK(app.encoding.kept.size() == (size_t)(1 + k_encode_ahead));
    // image 1 opens from memory (no new encode), and the window moves on with it: image 5
    annotator_open_image(app, 1);
    CHECK(app.encoding.shown.from_memory);
    t.settle();
    CHECK(app.data.embedding_ready);
    CHECK(test::host_encoder().encodes == 6);
    CHECK(test::host_encoder().names.back() == "p5.bmp");
    CHECK(app.messages.errors.empty());
}

TEST_CASE("app browser encoding: background work never starts while the decoder is busy or input is recent") {
    add_unembedded_dataset(3, 40, 30);
    test::session t = open_enc();
    annotator &app = *t.app;
    REQUIRE(app.data.embedding_ready);
    test::host_set_last_input(t.now);  // just now
    annotator_update(app, t.now + k_background_idle_ms - 1);
    test::host_run();
    CHECK(test::host_encoder().encodes == 1);
    CHECK_FALSE(app.encoding.busy);
    // quiet, but a decode queued: still waits
    test::host_set_last_input(t.now - 10000);
    prompt_send(app.prompt, app.decoder, app.data.data.spec, request_kind::hover, prompt_shape{{click_point{5, 5, 1}}}, 30, 40, 0, 0);
    REQUIRE(app.decoder.busy());
    annotator_update(app, t.now);
    CHECK_FALSE(app.encoding.busy);
    CHECK(app.encoding.fetching < 0);
    t.settle();  // the decode returns; then the encoder may work
    CHECK(test::host_encoder().encodes == 3);
}

TEST_CASE("app browser encoding: a broken image is reported by name; the others go on") {
    add_unembedded_dataset(3, 40, 30);
    // a JPEG cut inside its scan data (tests/data/README.md): the header reads, the pixels do not
    test::host_add_file(k_base + "images/p1.bmp", read_file_bytes(std::string(SAM_TEST_DATA_DIR) + "/truncated.jpg"));
    test::session t = open_enc();
    annotator &app = *t.app;
    test::host_set_last_input(t.now - 10000);
    t.settle();
    REQUIRE(app.messages.errors.size() == 1);
    CHECK(app.messages.errors[0].find("p1.bmp: ") == 0);
    CHECK(app.encoding.failed.count(1));
    CHECK(app.encoding.encoded.count(2));  // the next one was still encoded
    // shown, the broken image gives one error (the app's decode), not a second from the encoder
    app.messages.errors.clear();
    annotator_open_image(app, 1);
    t.settle();
    CHECK(app.messages.image_errors.size() == 1);
    CHECK(app.messages.errors.empty());
}

TEST_CASE("app browser encoding: a failing cache is reported once; annotation goes on") {
    add_unembedded_dataset(2, 40, 30);
    test::host_encoder().cache_fails = true;
    test::session t = open_enc();
    annotator &app = *t.app;
    REQUIRE(app.data.embedding_ready);
    REQUIRE(app.messages.errors.size() == 1);
    CHECK(app.messages.errors[0].find("p0.bmp: embedding not cached (QuotaExceededError") == 0);
    CHECK(app.messages.errors[0].find("annotation goes on") != std::string::npos);
    annotator_set_prompt(app, prompt_shape{{click_point{20, 15, 1}}});
    t.settle();
    annotator_accept(app, accept_merge::none);
    CHECK(app.doc.doc.annotations().size() == 1);
    test::host_set_last_input(t.now - 10000);
    t.settle();
    CHECK(app.encoding.encoded.size() == 2);
    CHECK(app.messages.errors.size() == 1);  // said once
}

TEST_CASE("app browser encoding: a reload finds the embedding in the cache") {
    add_unembedded_dataset(1, 40, 30);
    { test::session t = open_enc(); REQUIRE(t.app->data.embedding_ready); }
    test::session again = open_enc();
    REQUIRE(again.app->data.embedding_ready);
    CHECK(test::host_encoder().computed == 1);
    CHECK(again.app->encoding.shown.cached);
    CHECK(again.app->encoding.cache_hits == 1);
}

TEST_CASE("app browser encoding: an encoder the model does not declare runs only when asked") {
    add_unembedded_dataset(2, 40, 30, ", \"encoder\": \"encoder.onnx\"");
    test::session t = open_enc();
    annotator &app = *t.app;
    CHECK(app.encoding.status == encoder_status::off);
    REQUIRE(app.messages.image_errors.size() == 1);
    CHECK(app.messages.image_errors[0] == "p0.bmp: no embedding, and the model names no encoder that runs in the browser "
                                          "(compute it with scripts/embed)");
    app.encoding.asked = true;  // "encode in the browser (slow)"
    annotator_open_image(app, 0);
    t.settle();
    CHECK(app.encoding.status == encoder_status::ready);
    CHECK(app.data.embedding_ready);
    CHECK(app.messages.image_errors.empty());
}

TEST_CASE("app browser encoding: a manifest without embeddings and without an encoder is refused by name") {
    add_unembedded_dataset(1, 40, 30, "");
    test::session t = open_enc();
    REQUIRE(t.app->messages.errors.size() == 1);
    CHECK(t.app->messages.errors[0] == k_base + "manifest.json: images[0].embedding missing (and model.encoder names no "
                                                "encoder to compute it in the browser)");
}

TEST_CASE("app browser encoding: dropped photos without .npy become a local session on the dataset's model") {
    test::host_reset();
    test::host_add_dataset("ds", 1, 64, 48, ", \"encoder\": \"encoder.onnx\", \"browser_encoder\": true");
    test::host_add_text("http://127.0.0.1:8000/datasets/ds/encoder.onnx", "onnx");
    test::session_options o;
    o.keep_host = true;
    test::session t(o);
    annotator &app = *t.app;
    REQUIRE(app.data.embedding_ready);
    CHECK(app.encoding.status == encoder_status::off);  // every image has its .npy; the person is busy
    test::host_set_last_input(t.now - k_preload_idle_ms);
    t.settle();
    CHECK(app.encoding.status == encoder_status::ready);  // loaded ahead at a quiet moment: photos may be dropped next
    CHECK(test::host_encoder().warm_ups == 1);            // and warmed up: no image waits for it
    CHECK(test::host_encoder().encodes == 0);

    annotator_add_local_file(app, "b.bmp", test::bmp_image(30, 20));
    annotator_add_local_file(app, "a.bmp", test::bmp_image(50, 40));
    annotator_add_local_file(app, "a.npy", test::embedding_npy(0.25f));
    annotator_local_files_done(app);
    t.settle();
    REQUIRE(app.data.manifest_url == "local:");
    REQUIRE(app.data.data.images.size() == 2);
    CHECK(app.data.data.images[0].file == "local:a.bmp");  // the pair first, then the photos to encode
    CHECK(app.data.data.images[0].embedding == "local:a.npy");
    CHECK(app.data.data.images[1].embedding.empty());
    CHECK(app.data.data.model_id == "test");
    CHECK(app.data.data.encoder == "http://127.0.0.1:8000/datasets/ds/encoder.onnx");
    CHECK(app.data.embedding_ready);
    // a.bmp came with its .npy; b.bmp, the next image, was encoded in the background
    CHECK(test::host_encoder().names == std::vector<std::string>{"b.bmp"});
    CHECK(app.encoding.background_done == 1);
    annotator_open_image(app, 1);
    t.settle();
    CHECK(app.data.embedding_ready);
    CHECK(app.encoding.shown.from_memory);
    CHECK(app.data.image.width == 30);

    // a later drop joins the local session
    annotator_add_local_file(app, "c.bmp", test::bmp_image(20, 10));
    annotator_local_files_done(app);
    t.settle();
    REQUIRE(app.data.data.images.size() == 3);
    CHECK(app.data.current == 2);
    CHECK(app.doc.doc.find_image(3) != nullptr);
    CHECK(app.data.embedding_ready);
    CHECK(app.messages.errors.empty());
}

TEST_CASE("app browser encoding: with no dataset, model.json beside the page gives the model") {
    test::host_reset();
    test::host_add_text("model.json", R"({"id": "page-model", "decoder": "decoder.onnx", "encoder": "enc.onnx", "browser_encoder": true})");
    test::host_add_text("http://127.0.0.1:8000/enc.onnx", "onnx");
    test::host_backends().clear();
    annotator app;
    annotator_add_local_file(app, "photo.bmp", test::bmp_image(32, 24));
    annotator_local_files_done(app);
    for (int i = 0; i < 50; ++i) {
        test::host_run();
        annotator_update(app, 1000 + 16 * i);
    }
    REQUIRE(app.data.manifest_url == "local:");
    CHECK(app.data.data.model_id == "page-model");
    CHECK(app.choice.url == "http://127.0.0.1:8000/decoder.onnx");
    CHECK(app.encoding.url == "http://127.0.0.1:8000/enc.onnx");
    CHECK(app.data.embedding_ready);
    CHECK(app.messages.errors.empty());
    test::host_backends().clear();
    test::host_clear_queue();
}

TEST_CASE("app browser encoding: with no model that encodes, a photo waits for its .npy as before") {
    test::host_reset();
    test::host_backends().clear();
    annotator app;
    annotator_add_local_file(app, "photo.bmp", test::bmp_image(32, 24));
    annotator_local_files_done(app);
    test::host_run();  // model.json: 404
    REQUIRE_FALSE(app.messages.notices.empty());
    CHECK(app.messages.notices.back() == "Now open or drop the .npy embedding of photo.bmp");
    CHECK(app.data.manifest_url.empty());
    annotator_add_local_file(app, "embedding.npy", test::embedding_npy());
    annotator_local_files_done(app);
    for (int i = 0; i < 20; ++i) {
        test::host_run();
        annotator_update(app, 1000 + 16 * i);
    }
    CHECK(app.data.manifest_url == "local:");
    CHECK(app.data.data.images.size() == 1);
    CHECK(app.data.embedding_ready);
    test::host_backends().clear();
    test::host_clear_queue();
}
