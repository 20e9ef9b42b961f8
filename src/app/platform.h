// platform.h - what the annotator needs from its host (the browser build
// implements these in src/platform/web/). All calls are made and all
// callbacks run on the main thread; callbacks fire between frames.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/decoder.h"
#include "core/status.h"

namespace sam {

// Fetches `url` (relative URLs resolve against the page). On failure the
// status names the URL and the HTTP status or network error.
using fetch_callback = std::function<void(const status &, std::vector<uint8_t> &&)>;
void platform_fetch(const std::string &url, fetch_callback done);

// An HTTP request with a text body (the annotations API of scripts/serve).
// `done` gets the HTTP status (0 on a network error, with `error` set), the
// response body and its ETag / X-Annotations-Version header.
struct http_request {
    std::string method = "GET", url, body, if_match, content_type = "application/json";
    std::vector<uint8_t> body_bytes;  // sent instead of `body` when not empty
};
using http_callback = std::function<void(int http_status, std::string body, std::string error)>;
void platform_http(const http_request &r, http_callback done);

// `url` resolved against the page's URL ("manifest.json" -> "http://host/manifest.json").
std::string platform_absolute_url(const std::string &url);

// Shows the browser's file dialog; chosen (or dropped) files arrive through
// annotator_add_local_file.
void platform_open_files();

// Offers `text` as a file download named `file_name`.
void platform_download(const std::string &file_name, const std::string &text, const std::string &mime);

// The browser's persistent store (IndexedDB): one text value + a number per key.
// get: found=false when the key has none; any storage error is reported as not found
// (autosave is a safety net, not a requirement) and logged to the console.
using store_get_callback = std::function<void(bool found, std::string text, double number)>;
void platform_store_get(const std::string &key, store_get_callback done);
void platform_store_put(const std::string &key, const std::string &text, double number);

// Milliseconds from an arbitrary origin (performance.now()).
double platform_now_ms();
// platform_now_ms() clock time of the newest pointer/wheel/key event on the
// page (the event's own timestamp, before the frame that handled it).
double platform_last_input_ms();
// Called once after the first frame that shows a new decoder result.
void platform_mask_frame_drawn(uint64_t request_id, double input_ms, double result_ms, double frame_ms);

std::unique_ptr<decoder> platform_make_decoder();

}  // namespace sam
