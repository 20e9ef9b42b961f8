// app_test_session.h - one annotator on a served test dataset in the native host
// (app_test_platform.h), loaded and settled: what the app's doctests start from.
//   test::session t(test::session_options{});  annotator_set_prompt(*t.app, ...);  t.settle();
// A second session with keep_host = true is a reload of the page (same store, same server).
#pragma once
#include <memory>
#include <string>

#include "app/annotator.h"
#include "app_test_platform.h"

namespace sam::test {

struct session_options {
    std::string name = "ds";
    int images = 3, width = 640, height = 480;
    std::string model_json;      // extra fields of the manifest's "model" (e.g. decoder_weights)
    bool sam2 = false;           // a SAM 2.1 dataset (version 2 manifest, three feature files per image)
    std::string decoder_url;     // ?decoder=
    std::string token;           // ?token=
    std::string failing_worker;  // this worker's load fails with "refused"
    annotations_api_double *server = nullptr;  // answers /api/annotations/<name>
    bool keep_host = false;      // a reload: the host (files, store, server) as the last session left it
};

struct session {
    std::unique_ptr<annotator> app;
    double now = 1000;

    explicit session(const session_options &o) {
        if (!o.keep_host) {
            host_reset();
            if (o.sam2) host_add_sam2_dataset(o.name, o.images, o.width, o.height, o.model_json);
            else host_add_dataset(o.name, o.images, o.width, o.height, o.model_json);
        }
        host_backends().clear();
        if (!o.failing_worker.empty()) host_fail_worker(o.failing_worker, "refused");
        if (o.server) {
            annotations_api_double *api = o.server;
            host_set_http([api](const http_request &r, int &status, std::string &body) { api->handle(r, status, body); });
        }
        app = std::make_unique<annotator>();
        annotator_options opt;
        opt.manifest_url = "http://127.0.0.1:8000/datasets/" + o.name + "/manifest.json";
        opt.decoder_url = o.decoder_url;
        opt.token = o.token;
        annotator_init(*app, opt);
        settle();
    }
    ~session() {
        host_backends().clear();
        host_clear_queue();
    }

    // Runs callbacks, decoders and frames (16 ms apart) until nothing moves and nothing waits to be saved.
    void settle() {
        for (int i = 0; i < 200; ++i) {
            size_t n = host_run();
            now += 16;
            host_set_now(now);
            annotator_update(*app, now);
            n += host_run();
            if (n == 0 && !annotator_wants_frame(*app)) {
                annotator_update(*app, now);
                if (host_run() == 0) return;
            }
        }
    }
};

}  // namespace sam::test
