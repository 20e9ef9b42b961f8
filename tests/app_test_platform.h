// app_test_platform.h - the native host of the app's doctests (src/app/platform.h):
// fetches served from an in-memory table of files, HTTP requests answered by a
// handler the test installs (e.g. annotations_api_double below), the browser store
// in memory, a clock the test sets. As in the browser, callbacks never run inside the
// call that started them: they queue until host_run() (between frames). Decoder
// workers are native_decoder_backend running disc_decode (the geometry of
// tests/browser/fixtures/disc_decoder.onnx); host_backends() lists them.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "app/annotator.h"
#include "app/native_decoder_backend.h"
#include "app/platform.h"

namespace sam::test {

void host_reset();
void host_add_file(const std::string &url, std::vector<uint8_t> bytes);
void host_add_text(const std::string &url, const std::string &text);
using http_handler = std::function<void(const http_request &r, int &status, std::string &body)>;
void host_set_http(http_handler h);
const std::vector<http_request> &host_http_log();
std::map<std::string, store_unit> &host_store();                               // units
std::map<std::string, std::pair<std::string, double>> &host_single_store();    // the old one-record form
size_t host_store_bytes_written();
void host_set_now(double ms);
// Runs queued callbacks and the decoders' queued jobs until nothing is left; returns how many ran.
size_t host_run();
// Drops queued callbacks (their annotator is gone).
void host_clear_queue();
std::vector<native_decoder_backend *> &host_backends();
// The worker scripts asked for, in order (decoder_choice's picks).
const std::vector<std::string> &host_workers();
// Workers named here fail to load with this message (e.g. the C++ one).
void host_fail_worker(const std::string &worker, const std::string &message);
// Backends made for this worker run the core's C++ decoder (make_cpp_decoder) instead of the disc decoder.
void host_use_cpp_decoder(const std::string &worker);
// platform_last_input_ms() (default: always "now", so background work never starts).
void host_set_last_input(double ms);
// What platform_download / platform_download_bytes offered, in order.
struct host_download {
    std::string name, mime;
    std::vector<uint8_t> bytes;
};
std::vector<host_download> &host_downloads();

// The in-browser encoder in the native host, as web/encoder_worker.js behaves: load()
// fails when the URL is not among the host's files; encode() decodes the image with the
// core (bad images fail naming the file) and gives an embedding whose every value is
// fake_embedding_value(bytes); a cache by "<model key>|<content hash>" answers a second
// request (cached = true) unless `cache_fails` (then cache_error says a quota failure).
struct host_encoder_state {
    int loads = 0, encodes = 0, computed = 0;
    int warm_ups = 0;  // loads asked to warm the encoder up (ahead of need)
    std::vector<std::string> names;  // encode() calls in order
    bool cache_fails = false;
    std::map<std::string, int> cache;  // key -> times written
    std::string model_key;
};
host_encoder_state &host_encoder();
float fake_embedding_value(const std::vector<uint8_t> &bytes);

// disc_decoder.onnx in C++: low_res_masks[k] at 256-frame (u, v) = RADII[k] - |(4u+2, 4v+2) - p|,
// p = the first point (1024 frame); iou_predictions = IOUS (best multimask output: 2).
status disc_decode(const std::vector<float> &embedding, const decoder_request &r, decoder_result &out);
constexpr float k_disc_radii[4] = {60, 40, 120, 80};

// A .npy of a [1,256,64,64] f32 embedding (all `value`).
std::vector<uint8_t> embedding_npy(float value = 0.5f);
// An uncompressed 24-bit BMP of w x h (a grey gradient).
std::vector<uint8_t> bmp_image(int w, int h);
// A served dataset folder: /datasets/<name>/manifest.json with `n` images of w x h,
// their files and embeddings (every image the same picture).
void host_add_dataset(const std::string &name, int n, int w, int h, const std::string &extra_model_json = "");
// The same as a SAM 2.1 dataset: a version 2 manifest with the SAM 2.1 model spec and
// three float16 feature files per image (zeros), listed under "features".
void host_add_sam2_dataset(const std::string &name, int n, int w, int h, const std::string &extra_model_json = "");

// scripts/serve's annotations API (the contract in /work/notes/annotations_api.md) in
// memory, to test the client against: per-image units with versions, 409 with the
// current unit on a stale If-Match, the index, the assembled document; `whole_only`:
// an older server with only GET/PUT of the whole document.
struct annotations_api_double {
    std::string dataset;
    bool whole_only = false;
    std::vector<std::pair<int64_t, std::string>> images;  // id, file_name (the manifest's)
    std::map<std::string, std::pair<double, std::string>> units;  // unit -> version, JSON array
    double store_version = 0;
    int puts = 0, conflicts = 0;
    size_t put_bytes = 0;
    void handle(const http_request &r, int &status, std::string &body);
};

}  // namespace sam::test
