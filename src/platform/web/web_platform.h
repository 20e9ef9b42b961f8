// web_platform.h - the browser side of src/app/platform.h: fetch, HTTP, the browser
// store (web_store.cpp), decoder workers (worker_decoder.cpp), the encoder worker
// (worker_encoder.cpp), the page's query and
// the frame loop's controls (main_web.cpp). The JS halves are EM_JS functions in those
// files; JS calls back into the functions below only through the exports in bindings.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "app/annotator.h"

namespace sam {

// Records the newest input event's timestamp (platform_last_input_ms) and accepts files
// from the file dialog and drops on the page.
void web_install_page_hooks();

// Something happened (a callback from JS, a timer): run a frame.
void web_wake();
// Stops (true) or restarts the frame loop (the bench's "app paused" figures).
void web_set_paused(bool paused);
frame_counters web_frame_counters();
// Main-thread milliseconds of the frames run since the last call.
std::vector<float> web_take_frame_times();
// After the first frame drawn with a decoder result (window.samAnnotator.onFrame hooks).
void web_mask_frame_drawn(uint64_t request_id, double input_ms, double result_ms, double frame_ms);

// Value of ?name=... in the page URL ("" when absent).
std::string web_query_param(const std::string &name);

// Completions of platform_fetch / platform_http (bytes owned by the caller).
void web_fetch_done(int id, const uint8_t *bytes, size_t size, const char *error);
void web_http_done(int id, int http_status, const char *body, const char *error);

// Completions of the browser store's requests.
void web_store_unit(int id, const char *key, const char *text, double number, int flags);
void web_store_listed(int id);
void web_store_written(int id, int ok);
void web_store_single(int id, int found, const char *text, double number);

// Decoder worker messages (see worker_decoder.cpp): which = 0 iou, 1 low_res.
float *web_worker_buffer(int handle, int which, int n);
void web_worker_loaded(int handle, int ok, const char *message);
void web_worker_embedding(int handle, double id, int ok, const char *message);
void web_worker_result(int handle, int batch, double id, int offset, int count, int k, double ms, int done,
                       const char *error);

// Encoder worker messages (see worker_encoder.cpp).
float *web_encoder_buffer(int handle, int n);
void web_encoder_loaded(int handle, int ok, const char *message);
void web_encoded(int handle, double id, int ok, const char *error, int width, int height, const char *sha256, int cached,
                 double prep_ms, double encode_ms, const char *cache_error);

}  // namespace sam
