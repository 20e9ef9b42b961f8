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

// Milliseconds from an arbitrary origin (performance.now()).
double platform_now_ms();
// platform_now_ms() clock time of the newest pointer/wheel/key event on the
// page (the event's own timestamp, before the frame that handled it).
double platform_last_input_ms();
// Called once after the first frame that shows a new decoder result.
void platform_mask_frame_drawn(uint64_t request_id, double input_ms, double result_ms, double frame_ms);

std::unique_ptr<decoder> platform_make_decoder();

}  // namespace sam
