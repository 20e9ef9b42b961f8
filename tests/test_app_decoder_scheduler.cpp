// Tests of the app's one decoder seam (decoder_scheduler) against the in-process
// backend: one job in the backend at a time, latest request wins with one pending slot,
// interactive requests ahead of batches, batch results in parts, nothing of an old
// image after set_image, the embedding sent again after a backend switch.
#include <doctest/doctest.h>

#include <cmath>

#include "app/decoder_scheduler.h"
#include "app/native_decoder_backend.h"
#include "app_test_platform.h"

using namespace sam;

namespace {

decoder_request point_request(float x, float y) {
    decoder_request r;
    r.point_coords = {x, y, 0, 0};
    r.point_labels = {1, -1};
    r.orig_h = 480;
    r.orig_w = 640;
    return r;
}

decoder_embedding data_embedding() {
    decoder_embedding e;
    e.name = "test";
    e.data.assign(k_decoder_embedding_count, 0.25f);
    return e;
}

struct rig {
    decoder_scheduler s;
    native_decoder_backend *b = nullptr;
    rig() {
        auto backend = std::make_unique<native_decoder_backend>(s, test::disc_decode, "native test");
        b = backend.get();
        s.set_backend(std::move(backend));
        s.load("decoder.bin");
        s.set_image(data_embedding());
        b->run_all();
        REQUIRE(s.status() == decoder_status::ready);
        REQUIRE(s.embedding() == embedding_status::ready);
    }
};

}  // namespace

TEST_CASE("app decoder seam: loaded message gives the backend, threads and outputs") {
    rig r;
    CHECK(r.s.backend_name() == "native test");
    CHECK(r.s.threads() == 1);
    CHECK(r.s.outputs() == 4);
    CHECK(r.s.description() == "native test, 1 thread");
}

TEST_CASE("app decoder seam: latest request wins, one job in flight, one pending slot") {
    rig r;
    const uint64_t a = r.s.request(point_request(100, 100));
    CHECK(r.b->queued() == 1);  // sent at once
    const uint64_t b = r.s.request(point_request(200, 100));
    const uint64_t c = r.s.request(point_request(300, 100));
    CHECK(r.b->queued() == 1);  // b and c wait; c replaced b
    CHECK(r.s.busy());
    REQUIRE(r.b->run_next());   // a comes back; c goes out
    decoder_result out;
    REQUIRE(r.s.poll(out));
    CHECK(out.request_id == a);
    CHECK(r.b->queued() == 1);
    r.b->run_all();
    REQUIRE(r.s.poll(out));
    CHECK(out.request_id == c);
    CHECK(out.request_id != b);
    CHECK(r.b->decodes() == 2);  // b never ran
    CHECK_FALSE(r.s.busy());
    CHECK_FALSE(r.s.poll(out));
}

TEST_CASE("app decoder seam: of several finished results only the newest is returned") {
    rig r;
    r.s.request(point_request(100, 100));
    r.b->run_all();
    const uint64_t second = r.s.request(point_request(120, 100));
    r.b->run_all();
    decoder_result out;
    REQUIRE(r.s.poll(out));
    CHECK(out.request_id == second);
    CHECK_FALSE(r.s.poll(out));
}

TEST_CASE("app decoder seam: batches run in order, in parts, behind interactive requests") {
    rig r;
    r.b->batch_part = 5;
    decoder_batch b1, b2;
    for (int i = 0; i < 12; ++i) b1.prompts.push_back(decoder_prompt{{10.0f * i, 20, 0, 0}, {1, -1}});
    for (int i = 0; i < 3; ++i) b2.prompts.push_back(decoder_prompt{{5.0f * i, 20, 0, 0}, {1, -1}});
    const uint64_t id1 = r.s.request_batch(b1);
    const uint64_t id2 = r.s.request_batch(b2);
    const uint64_t hover = r.s.request(point_request(50, 50));  // waits for batch 1 only, then goes first
    CHECK(r.b->queued() == 1);
    r.b->run_next();  // batch 1 (three parts)
    decoder_batch_result part;
    size_t seen = 0;
    while (r.s.poll_batch(part)) {
        CHECK(part.request_id == id1);
        CHECK(part.offset == seen);
        CHECK(part.mask_count == 4);
        CHECK(part.iou_predictions.size() == part.count * 4);
        CHECK(part.low_res_masks.size() == part.count * 4 * k_low_res_count);
        seen += part.count;
        CHECK(part.done == (seen == 12));
    }
    CHECK(seen == 12);
    r.b->run_next();  // the interactive request before batch 2
    decoder_result out;
    REQUIRE(r.s.poll(out));
    CHECK(out.request_id == hover);
    r.b->run_all();
    REQUIRE(r.s.poll_batch(part));
    CHECK(part.request_id == id2);
    CHECK(part.count == 3);
    CHECK(part.done);
    // each prompt's masks are its own: the disc is centred on its point (x = 5 * i)
    const float *first = part.low_res_masks.data();                            // prompt 0 (x 0), output 0
    const float *second = part.low_res_masks.data() + 1 * 4 * k_low_res_count;  // prompt 1 (x 5), output 0
    const size_t at = 4 * 256 + 1;  // 256-frame (1, 4): the 1024 frame's (6, 18)
    CHECK(second[at] == doctest::Approx(60.0f - std::sqrt(1.0f + 4.0f)));
    CHECK(first[at] == doctest::Approx(60.0f - std::sqrt(36.0f + 4.0f)));
}

TEST_CASE("app decoder seam: after set_image no result of the old image is returned") {
    rig r;
    r.s.request(point_request(100, 100));  // in flight
    r.s.request(point_request(110, 100));  // pending
    decoder_batch b;
    b.prompts.push_back(decoder_prompt{{1, 1, 0, 0}, {1, -1}});
    r.s.request_batch(b);
    const uint64_t image = r.s.set_image(data_embedding());
    CHECK(r.s.embedding() == embedding_status::loading);
    const uint64_t fresh = r.s.request(point_request(300, 300));
    CHECK(fresh > image);
    r.b->run_all();
    decoder_result out;
    REQUIRE(r.s.poll(out));
    CHECK(out.request_id == fresh);
    decoder_batch_result part;
    CHECK_FALSE(r.s.poll_batch(part));  // the queued batch went with the old image
    CHECK(r.s.embedding() == embedding_status::ready);
}

TEST_CASE("app decoder seam: cancel_batches drops queued batches and the running one's results") {
    rig r;
    decoder_batch b;
    b.prompts.push_back(decoder_prompt{{1, 1, 0, 0}, {1, -1}});
    r.s.request_batch(b);
    r.s.request_batch(b);
    r.s.cancel_batches();
    CHECK(r.s.queued_batches() == 0);
    r.b->run_all();
    decoder_batch_result part;
    CHECK_FALSE(r.s.poll_batch(part));
    CHECK_FALSE(r.s.busy());
    // the seam works on afterwards
    const uint64_t id = r.s.request(point_request(10, 10));
    r.b->run_all();
    decoder_result out;
    REQUIRE(r.s.poll(out));
    CHECK(out.request_id == id);
}

TEST_CASE("app decoder seam: a failed load, then another backend gets the embedding again") {
    decoder_scheduler s;
    auto failing = std::make_unique<native_decoder_backend>(s, test::disc_decode, "C++");
    failing->fail_load = "truncated weights file";
    native_decoder_backend *f = failing.get();
    s.set_backend(std::move(failing));
    s.load("decoder.samw");
    s.set_image(data_embedding());
    const uint64_t id = s.request(point_request(40, 40));  // waits for a decoder
    f->run_all();
    CHECK(s.status() == decoder_status::failed);
    CHECK(s.error() == "decoder.samw: truncated weights file");
    CHECK(s.embedding() == embedding_status::loading);  // never sent to a decoder that failed
    auto onnx = std::make_unique<native_decoder_backend>(s, test::disc_decode, "ORT");
    native_decoder_backend *o = onnx.get();
    s.set_backend(std::move(onnx));
    s.load("decoder.onnx");
    o->run_all();
    CHECK(s.status() == decoder_status::ready);
    CHECK(s.embedding() == embedding_status::ready);
    decoder_result out;
    REQUIRE(s.poll(out));
    CHECK(out.request_id == id);
    CHECK(s.backend_name() == "ORT");
}

TEST_CASE("app decoder seam: an embedding by URL is fetched and parsed like the core parses it") {
    test::host_reset();
    decoder_scheduler s;
    auto backend = std::make_unique<native_decoder_backend>(s, test::disc_decode, "native");
    native_decoder_backend *b = backend.get();
    s.set_backend(std::move(backend));
    s.load("d");
    b->run_all();
    test::host_add_file("http://x/e.npy", test::embedding_npy());
    decoder_embedding e;
    e.url = "http://x/e.npy";
    e.name = "embeddings/e.npy";
    s.set_image(e);
    CHECK_FALSE(b->run_next());  // the fetch holds the queue
    test::host_run();
    b->run_all();
    CHECK(s.embedding() == embedding_status::ready);
    decoder_embedding bad;
    bad.url = "http://x/missing.npy";
    s.set_image(bad);
    test::host_run();
    b->run_all();
    CHECK(s.embedding() == embedding_status::failed);
    CHECK(s.embedding_error().find("missing.npy") != std::string::npos);
}
