// encoder_backend.h - what runs SAM's image encoder in the browser for the app
// (browser_encoding.h), and what comes back: the worker web/encoder_worker.js (the core's
// decode + preprocessing in WebAssembly, ONNX Runtime Web, the IndexedDB embedding
// cache), or an in-process fake in the native tests. A backend runs one image at a time,
// in the order given, and reports to its encoder_events on the main thread, between frames.
//   b->load(encoder_url, model_key, warm_up) -> on_encoder_loaded;  b->encode(id, bytes, name) -> on_encoded
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sam {

struct encoder_result {
    uint64_t id = 0;
    bool ok = false;
    std::string error;             // names the file ("cat.jpg: truncated JPEG ...")
    std::vector<float> embedding;  // image_embeddings [1,256,64,64] f32 (k_decoder_embedding_count)
    int width = 0, height = 0;     // the EXIF-oriented image
    std::string sha256;            // of the image file's bytes
    bool cached = false;           // read from the embedding cache, not computed
    double prep_ms = 0, encode_ms = 0;  // decode + preprocessing, encoder run (inside the worker)
    std::string cache_error;       // the cache could not be read or written (quota): the embedding still came
};

class encoder_events {
public:
    virtual ~encoder_events() = default;
    // ok: message = "backend=ORT <version> wasm;threads=N"; else why (names the file).
    virtual void on_encoder_loaded(bool ok, const std::string &message) = 0;
    virtual void on_encoded(encoder_result r) = 0;
};

class encoder_backend {
public:
    virtual ~encoder_backend() = default;
    // model_key names the model in the embedding cache (cache entries are "<model_key>|<sha256>").
    // warm_up: a load ahead of need (a quiet moment): run the encoder once on a blank input
    // before answering, so the first real image does not pay ONNX Runtime's first-run cost
    // (measured: 940 ms against 60 ms for the bundled encoder's second image).
    virtual void load(const std::string &url, const std::string &model_key, bool warm_up) = 0;
    virtual void encode(uint64_t id, std::vector<uint8_t> bytes, const std::string &name) = 0;
};

}  // namespace sam
