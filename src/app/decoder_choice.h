// decoder_choice.h - which backend runs the dataset's decoder, behind the one seam:
// - ?decoder=<onnx> forces ONNX Runtime Web (web/decoder_worker.js) with that file;
// - else a SAM 1 or SAM 2.1 manifest naming the C++ decoder's weights ("decoder_weights")
//   gets the C++ worker (web/sam_decoder_worker.js) with them (the weights file says its
//   family; the worker takes SAM 2.1's three feature files as web/decoder_worker.js does);
// - else ONNX Runtime Web with the manifest's ONNX decoder (or decoder.onnx beside the page).
// When the C++ worker reports a load failure (or cannot start), the ONNX decoder takes
// over and a notice says why. The factory is replaceable (native tests).
//   decoder_choice c; decoder_choose(c, sched, manifest_url, data, override_url);
//   each frame: decoder_check_fallback(c, sched, m);
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "app/decoder_scheduler.h"
#include "app/manifest.h"
#include "app/messages.h"

namespace sam {

constexpr const char *k_cpp_worker = "sam_decoder_worker.js";
constexpr const char *k_onnx_worker = "decoder_worker.js";

using backend_factory = std::function<std::unique_ptr<decoder_backend>(const std::string &worker, decoder_events &)>;

struct decoder_choice {
    backend_factory make;       // default: platform_make_worker_backend
    std::string worker;         // the worker script of the running backend
    std::string url;            // the decoder file it loads
    std::string fallback_url;   // the ONNX decoder, if the C++ one fails ("" = none)
    bool fell_back = false;
    bool error_reported = false;
};

// Picks and starts the backend for a dataset (no-op when the same file runs already).
void decoder_choose(decoder_choice &c, decoder_scheduler &s, const std::string &manifest_url, const manifest &data,
                    const std::string &override_url);
// After a failed load of the C++ decoder: the ONNX one. A failure with nothing left to
// try becomes an error.
void decoder_check_fallback(decoder_choice &c, decoder_scheduler &s, app_messages &m);

}  // namespace sam
