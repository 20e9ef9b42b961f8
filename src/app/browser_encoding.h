// browser_encoding.h - in-browser encoding: images without an embedding file (dropped
// photos, a manifest that lists images without embeddings, the static demo) get theirs
// from the model's image encoder, run in its own worker (encoder_backend.h), when the
// model declares one that runs in the browser ("encoder" + "browser_encoder": true in the
// manifest's model or model.json) or the person asks for a larger one ("encode in the
// browser (slow)"). SAM 1 models only (version 1 manifests: one [1,256,64,64] tensor).
// One image at a time: the shown image first; then, while the person annotates, the
// next k_encode_ahead images in the background, each started only when the decoder is
// idle and no input came for k_background_idle_ms (no decode waits behind a queued
// encode; one already running shares the CPU with it). Embeddings stay in memory for the
// last k_kept_embeddings images and in the worker's IndexedDB cache ("sam-embeddings",
// "<model key>|<sha256 of the file>"); a cache that cannot be written (quota) is
// reported once and encoding goes on.
//   browser_encoding_start(e, manifest_url, m);             a dataset (or local session) opens
//   browser_encoding_request(e, index, name, bytes);         the shown image needs its embedding
//   each frame: browser_encoding_tick(e, d, now, decoder_idle); while (browser_encoding_poll(e, x)) ...
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "app/dataset.h"
#include "app/encoder_backend.h"
#include "app/manifest.h"

namespace sam {

constexpr int k_encode_ahead = 4;             // images after the shown one encoded in the background
constexpr size_t k_kept_embeddings = 6;       // in memory (4 MiB each); the rest come from IndexedDB
constexpr double k_background_idle_ms = 400;  // no input for this long before a background encode starts
constexpr double k_preload_idle_ms = 1500;    // ... before a declared encoder loads ahead of any need

enum class encoder_status { off, loading, ready, failed };

// An embedding (or a failure) for image `index` of the dataset.
struct encoded_image {
    int index = -1;
    bool background = false;
    double round_trip_ms = 0;  // request -> result, main-thread clock
    encoder_result r;
};

using encoder_factory = std::function<std::unique_ptr<encoder_backend>(encoder_events &)>;

struct browser_encoding_state final : encoder_events {
    encoder_factory make;  // default: platform_make_encoder_backend
    std::unique_ptr<encoder_backend> backend;
    encoder_status status = encoder_status::off;
    std::string url, model_key;  // absolute encoder URL; the cache's model key
    std::string description;     // "ORT 1.x wasm, 1 thread"
    int threads = 0;
    std::string error;           // load failure (names the file)
    bool error_reported = false;
    bool asked = false;          // the person ticked "encode in the browser (slow)"
    bool declared = false;       // the model says its encoder runs in the browser

    uint64_t next_id = 1, dataset_first_id = 1;  // results of jobs below dataset_first_id are stale
    // the one job in the worker
    bool busy = false, job_silent = false;
    uint64_t job_id = 0;
    int job_index = -1;
    bool job_background = false;
    double job_sent_ms = 0;
    // the shown image, waiting for the worker
    bool has_pending = false;
    int pending_index = -1;
    std::string pending_name;
    std::vector<uint8_t> pending_bytes;
    int fetching = -1;        // a background image whose bytes are being fetched
    int fetch_generation = 0; // bumps with every dataset; stale fetches compare it

    std::map<int, std::vector<float>> kept;  // index -> embedding, the newest k_kept_embeddings
    std::deque<int> kept_order;
    std::set<int> encoded, failed;           // this dataset's images done / refused
    std::deque<encoded_image> results;       // for browser_encoding_poll
    int total = 0;                           // images of the dataset without an embedding file
    int background_done = 0, cache_hits = 0;
    std::string cache_error;                 // the newest cache failure ("" = none)
    bool cache_error_reported = false;
    double wake_at = -1;                     // a frame is asked for then (a background start)
    // the shown image's embedding: where it came from (state().encoding.shown)
    struct shown_info {
        int index = -1;
        bool from_memory = false, cached = false;
        double prep_ms = 0, encode_ms = 0, round_trip_ms = 0;
    } shown;

    void on_encoder_loaded(bool ok, const std::string &message) override;
    void on_encoded(encoder_result r) override;
};

// The model's encoder may run here (declared, or asked for), for a SAM 1 manifest.
bool browser_encoding_allowed(const manifest &m, bool asked);
// A dataset opens: forgets the last one's embeddings and queue; loads the encoder when
// allowed and some image needs it.
void browser_encoding_start(browser_encoding_state &e, const std::string &manifest_url, const manifest &m);
// Loads the model's encoder when allowed and not loaded yet (e.g. on the static demo once
// its first image shows, for the photos a person may drop next; `ahead`: no image waits,
// so the encoder is warmed up first).
void browser_encoding_load(browser_encoding_state &e, const std::string &manifest_url, const manifest &m,
                           bool ahead = false);
// The embedding of image `index` when it is in memory (else null).
const std::vector<float> *browser_encoding_embedding(const browser_encoding_state &e, int index);
// The shown image: encode it next (ahead of background work; a newer request replaces an older one).
void browser_encoding_request(browser_encoding_state &e, int index, const std::string &name, std::vector<uint8_t> bytes);
// The app could not decode image `index` itself: its encoder result is not reported again.
void browser_encoding_forget(browser_encoding_state &e, int index);
// The dataset's images all have embeddings but its model declares a browser encoder (the
// static demo): loads it ahead, for photos the person may drop, once the shown image is
// ready, the decoder idle and no input came for k_preload_idle_ms.
void browser_encoding_preload(browser_encoding_state &e, const dataset_state &d, double now_ms, bool decoder_idle);
// Sends the next job; starts background work when allowed (decoder_idle: nothing queued
// or running in the decoder).
void browser_encoding_tick(browser_encoding_state &e, const dataset_state &d, double now_ms, bool decoder_idle);
bool browser_encoding_poll(browser_encoding_state &e, encoded_image &out);
// Keeps an embedding that came back (evicting the oldest beyond k_kept_embeddings).
void browser_encoding_keep(browser_encoding_state &e, int index, std::vector<float> embedding);
// "encoding image 2 of 5 (cat.jpg)" while a job runs, else "".
std::string browser_encoding_progress(const browser_encoding_state &e, const dataset_state &d);

}  // namespace sam
