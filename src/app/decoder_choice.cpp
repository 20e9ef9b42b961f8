#include "app/decoder_choice.h"

#include "app/platform.h"

namespace sam {

namespace {

void start(decoder_choice &c, decoder_scheduler &s, const std::string &worker, const std::string &url) {
    if (!c.make) c.make = platform_make_worker_backend;
    if (!s.has_backend() || worker != c.worker) s.set_backend(c.make(worker, s));
    c.worker = worker;
    c.url = url;
    c.error_reported = false;
    s.load(url);
}

}  // namespace

void decoder_choose(decoder_choice &c, decoder_scheduler &s, const std::string &manifest_url, const manifest &data,
                    const std::string &override_url) {
    std::string worker = k_onnx_worker, url;
    c.fallback_url.clear();
    if (!override_url.empty()) {
        url = override_url;
    } else if (!data.decoder_weights.empty() &&
               (data.spec.family == model_family::sam1 || data.spec.family == model_family::sam2_1)) {
        worker = k_cpp_worker;
        url = url_resolve(manifest_url, data.decoder_weights);
        if (!data.decoder.empty()) c.fallback_url = url_resolve(manifest_url, data.decoder);
    } else if (!data.decoder.empty()) {
        url = url_resolve(manifest_url, data.decoder);
    } else if (!c.url.empty()) {
        return;  // local files: keep the decoder we have
    } else {
        url = "decoder.onnx";  // beside index.html
    }
    if (s.has_backend() && url == c.url && worker == c.worker && s.status() != decoder_status::failed) return;
    c.fell_back = false;
    start(c, s, worker, url);
}

void decoder_check_fallback(decoder_choice &c, decoder_scheduler &s, app_messages &m) {
    if (s.status() != decoder_status::failed || c.error_reported) return;
    if (c.worker == k_cpp_worker && !c.fallback_url.empty()) {
        add_notice(m, "C++ decoder unavailable (" + s.error() + "); using ONNX Runtime Web");
        const std::string url = c.fallback_url;
        c.fallback_url.clear();
        c.fell_back = true;
        start(c, s, k_onnx_worker, url);
        return;
    }
    c.error_reported = true;
    add_error(m, "decoder: " + s.error());
}

}  // namespace sam
