// platform.h - what the annotator needs from its host. The browser build implements
// these in src/platform/web/; the native tests in tests/app_test_platform.cpp. All
// calls are made and all callbacks run on the main thread; callbacks fire between
// frames (never inside the call that started them).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/decoder_backend.h"
#include "app/encoder_backend.h"
#include "core/status.h"

namespace sam {

// Fetches `url` (relative URLs resolve against the page). On failure the
// status names the URL and the HTTP status or network error.
using fetch_callback = std::function<void(const status &, std::vector<uint8_t> &&)>;
void platform_fetch(const std::string &url, fetch_callback done);

// An HTTP request with a text body (the annotations API of scripts/serve).
// `done` gets the HTTP status (0 on a network error, with `error` set) and the body.
struct http_request {
    std::string method = "GET", url, body, if_match, content_type = "application/json";
    std::string authorization;        // sent as the Authorization header when not empty
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
// The same for binary content (a ZIP of label files or PNG masks).
void platform_download_bytes(const std::string &file_name, const std::vector<uint8_t> &bytes, const std::string &mime);

// The browser's persistent store (IndexedDB). Units: key -> (text, number, flags);
// list() returns every unit whose key starts with `prefix`; write() stores the given
// units in ONE transaction (all or none), then calls done(ok). Any storage error is
// reported (not found / ok=false) and logged to the console: the autosave is a safety
// net, the server the record.
struct store_unit {
    std::string key, text;
    double number = 0;
    int flags = 0;
};
void platform_store_list(const std::string &prefix, std::function<void(std::vector<store_unit>)> done);
void platform_store_write(std::vector<store_unit> units, std::function<void(bool ok)> done);
// The old single-record autosave (one COCO text per dataset key, before per-image units):
// read for migration only.
void platform_store_read_single(const std::string &key,
                                std::function<void(bool found, std::string text, double number)> done);

// Milliseconds from an arbitrary origin (performance.now()).
double platform_now_ms();
// platform_now_ms() clock time of the newest pointer/wheel/key event on the
// page (the event's own timestamp, before the frame that handled it).
double platform_last_input_ms();
// A frame is wanted `ms` from now (a debounced save, a retry); idle pages draw none otherwise.
void platform_wake_after(double ms);

// A decoder worker speaking the protocol of /work/notes/decoder_worker_protocol.md,
// started from `worker_script` (relative to the page, e.g. "decoder_worker.js").
std::unique_ptr<decoder_backend> platform_make_worker_backend(const std::string &worker_script,
                                                              decoder_events &events);

// The in-browser image encoder: web/encoder_worker.js (its messages are in that file).
std::unique_ptr<encoder_backend> platform_make_encoder_backend(encoder_events &events);

}  // namespace sam
