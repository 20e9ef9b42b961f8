#include "app/browser_encoding.h"

#include <algorithm>
#include <cstdlib>

#include "app/decoder_backend.h"
#include "app/platform.h"

namespace sam {

namespace {

void send(browser_encoding_state &e, int index, const std::string &name, std::vector<uint8_t> bytes, bool background) {
    e.busy = true;
    e.job_silent = false;
    e.job_id = e.next_id++;
    e.job_index = index;
    e.job_background = background;
    e.job_sent_ms = platform_now_ms();
    e.backend->encode(e.job_id, std::move(bytes), name);
}

void pump(browser_encoding_state &e) {
    if (e.status != encoder_status::ready || e.busy || !e.has_pending) return;
    e.has_pending = false;
    send(e, e.pending_index, e.pending_name, std::move(e.pending_bytes), false);
    e.pending_bytes.clear();
}

bool needs_encoding(const browser_encoding_state &e, const manifest_image &im, int index) {
    return im.embedding.empty() && !e.kept.count(index) && !e.encoded.count(index) && !e.failed.count(index);
}

}  // namespace

bool browser_encoding_allowed(const manifest &m, bool asked) {
    return m.version == 1 && !m.encoder.empty() && (m.browser_encoder || asked);
}

void browser_encoding_start(browser_encoding_state &e, const std::string &manifest_url, const manifest &m) {
    e.dataset_first_id = e.next_id;  // whatever runs now belongs to the last dataset
    e.has_pending = false;
    e.pending_bytes.clear();
    e.fetching = -1;
    e.fetch_generation++;
    e.kept.clear();
    e.kept_order.clear();
    e.encoded.clear();
    e.failed.clear();
    e.results.clear();
    e.background_done = e.cache_hits = 0;
    e.shown = {};
    e.total = 0;
    for (const manifest_image &im : m.images)
        if (im.embedding.empty()) e.total++;
    e.declared = m.browser_encoder;
    if (e.total > 0) browser_encoding_load(e, manifest_url, m);
}

void browser_encoding_load(browser_encoding_state &e, const std::string &manifest_url, const manifest &m, bool ahead) {
    if (!browser_encoding_allowed(m, e.asked)) return;
    const std::string url = platform_absolute_url(url_resolve(manifest_url, m.encoder));
    if (e.backend && e.url == url && e.status != encoder_status::failed) return;
    if (!e.make) e.make = platform_make_encoder_backend;
    e.backend = e.make(e);
    e.busy = false;
    e.url = url;
    e.model_key = (m.model_id.empty() ? std::string("model") : m.model_id) + "@" +
                  (m.encoder_sha256.empty() ? url : m.encoder_sha256);
    e.status = encoder_status::loading;
    e.error.clear();
    e.error_reported = false;
    e.description.clear();
    e.backend->load(url, e.model_key, ahead);
}

const std::vector<float> *browser_encoding_embedding(const browser_encoding_state &e, int index) {
    auto it = e.kept.find(index);
    return it == e.kept.end() ? nullptr : &it->second;
}

void browser_encoding_request(browser_encoding_state &e, int index, const std::string &name, std::vector<uint8_t> bytes) {
    e.failed.erase(index);
    if (e.busy && e.job_index == index && e.job_id >= e.dataset_first_id) {
        e.job_background = false;  // already running: its result goes to the decoder
        e.job_silent = false;
        return;
    }
    e.has_pending = true;
    e.pending_index = index;
    e.pending_name = name;
    e.pending_bytes = std::move(bytes);
    pump(e);
}

void browser_encoding_forget(browser_encoding_state &e, int index) {
    if (e.has_pending && e.pending_index == index) {
        e.has_pending = false;
        e.pending_bytes.clear();
    }
    if (e.busy && e.job_index == index) e.job_silent = true;
    e.failed.insert(index);
}

void browser_encoding_preload(browser_encoding_state &e, const dataset_state &d, double now_ms, bool decoder_idle) {
    if (e.status != encoder_status::off || !d.embedding_ready || !browser_encoding_allowed(d.data, false)) return;
    const double quiet_at = platform_last_input_ms() + k_preload_idle_ms;
    if (decoder_idle && now_ms >= quiet_at) return browser_encoding_load(e, d.manifest_url, d.data, true);
    if (e.wake_at < now_ms) {
        e.wake_at = std::max(quiet_at, now_ms + 100);
        platform_wake_after(e.wake_at - now_ms);
    }
}

void browser_encoding_tick(browser_encoding_state &e, const dataset_state &d, double now_ms, bool decoder_idle) {
    pump(e);
    if (e.status != encoder_status::ready || e.busy || e.has_pending || e.fetching >= 0 || d.current < 0) return;
    const std::vector<manifest_image> &images = d.data.images;
    int next = -1;
    for (int i = d.current + 1; i <= d.current + k_encode_ahead && i < (int)images.size(); ++i)
        if (needs_encoding(e, images[(size_t)i], i)) {
            next = i;
            break;
        }
    if (next < 0) return;
    // The person's image first, then only while the decoder and the person rest.
    const double quiet_at = platform_last_input_ms() + k_background_idle_ms;
    if (!d.image_ready || !d.embedding_ready || !decoder_idle || now_ms < quiet_at) {
        if (d.embedding_ready && e.wake_at < now_ms) {
            e.wake_at = std::max(quiet_at, now_ms + 50);
            platform_wake_after(e.wake_at - now_ms);
        }
        return;
    }
    e.fetching = next;
    const int generation = e.fetch_generation;
    const manifest_image entry = images[(size_t)next];
    browser_encoding_state *self = &e;
    load_resource(d, resource_url(d, entry.file), [self, generation, next, entry](const status &st, std::vector<uint8_t> &&bytes) {
        browser_encoding_state &e = *self;
        if (generation != e.fetch_generation) return;
        e.fetching = -1;
        if (!st) {
            e.failed.insert(next);
            encoded_image x;
            x.index = next;
            x.background = true;
            x.r.error = st.message;
            e.results.push_back(std::move(x));
            return;
        }
        if (e.status != encoder_status::ready || e.busy || e.has_pending) return;  // the shown image came first: later
        send(e, next, coco_file_name(entry), std::move(bytes), true);
    });
}

bool browser_encoding_poll(browser_encoding_state &e, encoded_image &out) {
    if (e.results.empty()) return false;
    out = std::move(e.results.front());
    e.results.pop_front();
    return true;
}

void browser_encoding_keep(browser_encoding_state &e, int index, std::vector<float> embedding) {
    if (!e.kept.count(index)) e.kept_order.push_back(index);
    e.kept[index] = std::move(embedding);
    e.encoded.insert(index);
    while (e.kept_order.size() > k_kept_embeddings) {
        e.kept.erase(e.kept_order.front());
        e.kept_order.pop_front();
    }
}

std::string browser_encoding_progress(const browser_encoding_state &e, const dataset_state &d) {
    if (e.status == encoder_status::loading && (e.has_pending || e.total > 0)) return "loading the image encoder...";
    if (!e.busy || e.job_index < 0 || e.job_index >= (int)d.data.images.size()) return "";
    const std::string name = coco_file_name(d.data.images[(size_t)e.job_index]);
    const int n = std::max(e.total, (int)e.encoded.size() + 1);
    return "encoding image " + std::to_string(std::min(n, (int)e.encoded.size() + 1)) + " of " + std::to_string(n) +
           " (" + name + (e.job_background ? ", in the background" : "") + ")...";
}

void browser_encoding_state::on_encoder_loaded(bool ok, const std::string &message) {
    if (!ok) {
        status = encoder_status::failed;
        error = message;
        return;
    }
    status = encoder_status::ready;
    std::string backend_name;
    size_t at = 0;
    while (at <= message.size()) {
        const size_t end = std::min(message.find(';', at), message.size());
        const std::string part = message.substr(at, end - at);
        const size_t eq = part.find('=');
        if (eq != std::string::npos && part.substr(0, eq) == "backend") backend_name = part.substr(eq + 1);
        if (eq != std::string::npos && part.substr(0, eq) == "threads") threads = (int)std::min(1000000L, std::max(0L, std::strtol(part.substr(eq + 1).c_str(), nullptr, 10)));
        at = end + 1;
    }
    description = (backend_name.empty() ? std::string("encoder") : backend_name) + ", " + std::to_string(threads) +
                  (threads == 1 ? " thread" : " threads");
    pump(*this);
}

void browser_encoding_state::on_encoded(encoder_result r) {
    if (!busy || r.id != job_id) return;
    busy = false;
    const bool stale = r.id < dataset_first_id || job_silent;
    if (!stale) {
        if (r.ok && r.embedding.size() != k_decoder_embedding_count) {
            r.ok = false;
            r.error = "the encoder gave " + std::to_string(r.embedding.size()) + " values, expected 1x256x64x64";
        }
        encoded_image x;
        x.index = job_index;
        x.background = job_background;
        x.round_trip_ms = platform_now_ms() - job_sent_ms;
        x.r = std::move(r);
        if (x.r.ok && x.background) background_done++;
        if (x.r.ok && x.r.cached) cache_hits++;
        if (!x.r.ok) failed.insert(x.index);
        results.push_back(std::move(x));
    }
    pump(*this);
}

}  // namespace sam
