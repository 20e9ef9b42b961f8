// web_platform.h - the browser side of src/app/platform.h: fetch through JS,
// the query string, and the Worker-based decoder. The JS halves are EM_JS
// functions in web_platform.cpp / worker_decoder.cpp; JS calls back into the
// functions below only through the exports in bindings.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace sam {

// Starts recording the newest input event's timestamp (platform_last_input_ms)
// and accepting files from the file dialog and drops on the page.
void web_install_input_clock();

// Something happened (input, a callback from JS): draw frames again for a while.
void web_wake();
// Frames drawn so far (idle pages draw none; state().frames_drawn).
int web_frames_drawn();

// Value of ?name=... in the page URL ("" when absent).
std::string web_query_param(const std::string &name);

// Completes fetch `id`; `error` is null on success (bytes owned by the caller).
void web_fetch_done(int id, const uint8_t *bytes, size_t size, const char *error);

// Completes platform_http / platform_store_get request `id`.
void web_http_done(int id, int http_status, const char *body, const char *error);
void web_store_got(int id, int found, const char *text, double number);

// Worker decoder callbacks (see web/decoder_worker.js for the messages).
void web_decoder_loaded(int ok, const char *message);
void web_decoder_result(double request_id, int mask_count, const float *iou, const float *low_res_masks,
                        double decode_ms, const char *error);

}  // namespace sam
