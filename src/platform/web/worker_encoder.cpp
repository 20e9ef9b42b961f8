// worker_encoder.cpp - the encoder_backend of the browser: web/encoder_worker.js in a
// module Worker (its message format is in that file; the page's ?threads=N goes along).
// This side only moves messages: the image bytes go to the worker (transferred), the
// embedding comes back into a C++-owned buffer (one copy, worker -> wasm heap).
// Scheduling (the shown image first, background work) is browser_encoding's.
#include <emscripten.h>

#include <algorithm>
#include <map>
#include <string>

#include "app/platform.h"
#include "platform/web/web_platform.h"

namespace sam {

namespace {

EM_JS(void, sam_js_encoder_create, (int handle), {
    const toHeap = (s) => {
        const n = lengthBytesUTF8(s) + 1;
        const p = _malloc(n);
        stringToUTF8(s, p, n);
        return p;
    };
    const url = new URL('encoder_worker.js' + location.search, document.baseURI).href;
    const worker = new Worker(url, {type : 'module'});
    (Module.samEncoders = Module.samEncoders || {})[handle] = worker;
    Module.samEncoderWorker = worker;  // tests and the bench look at it
    worker.onmessage = (ev) => {
        const m = ev.data;
        if (m.type === 'loaded') {
            const p = toHeap(String(m.message || ''));
            Module._sam_on_encoder_loaded(handle, m.ok ? 1 : 0, p);
            _free(p);
        } else if (m.type === 'encoded') {
            const ok = m.ok && m.embedding && m.embedding.length > 0;
            if (ok) {
                const p = Module._sam_encoder_buffer(handle, m.embedding.length);  // may grow the heap: view after
                HEAPF32.set(m.embedding, p >> 2);
            }
            const error = toHeap(String(ok ? '' : (m.error || 'the encoder sent no embedding')));
            const sha = toHeap(String(m.sha256 || ''));
            const cacheError = toHeap(String(m.cacheError || ''));
            const ms = m.ms || {};
            Module._sam_on_encoded(handle, m.id, ok ? 1 : 0, error, m.width | 0, m.height | 0, sha, m.cached ? 1 : 0,
                                   +ms.prep || 0, +ms.encode || 0, cacheError);
            _free(error);
            _free(sha);
            _free(cacheError);
        }
    };
    worker.onerror = (e) => {
        const p = toHeap(url + ': ' + (e.message || 'the encoder worker failed to start'));
        Module._sam_on_encoder_loaded(handle, 0, p);
        _free(p);
    };
});

EM_JS(void, sam_js_encoder_terminate, (int handle), {
    const w = Module.samEncoders && Module.samEncoders[handle];
    if (w) w.terminate();
    if (Module.samEncoders) delete Module.samEncoders[handle];
});

EM_JS(void, sam_js_encoder_load, (int handle, const char *url, const char *model_key, int warm_up), {
    Module.samEncoders[handle].postMessage({type : 'load', url : new URL(UTF8ToString(url), document.baseURI).href,
                                            modelId : UTF8ToString(model_key), warmUp : warm_up != 0});
});

EM_JS(void, sam_js_encoder_encode, (int handle, double id, const uint8_t *bytes, int n, const char *name), {
    const b = HEAPU8.slice(bytes, bytes + n);
    Module.samEncoders[handle].postMessage({type : 'encode', id, bytes : b.buffer, name : UTF8ToString(name)}, [b.buffer]);
});

class worker_encoder;
std::map<int, worker_encoder *> g_encoders;
int g_next_handle = 1;

class worker_encoder final : public encoder_backend {
public:
    explicit worker_encoder(encoder_events &events) : events_(events), handle_(g_next_handle++) {
        g_encoders[handle_] = this;
        sam_js_encoder_create(handle_);
    }
    ~worker_encoder() override {
        g_encoders.erase(handle_);
        sam_js_encoder_terminate(handle_);
    }
    void load(const std::string &url, const std::string &model_key, bool warm_up) override {
        sam_js_encoder_load(handle_, url.c_str(), model_key.c_str(), warm_up ? 1 : 0);
    }
    void encode(uint64_t id, std::vector<uint8_t> bytes, const std::string &name) override {
        sam_js_encoder_encode(handle_, (double)id, bytes.data(), (int)bytes.size(), name.c_str());
    }

    float *buffer(int n) {
        embedding_.resize((size_t)std::max(0, n));
        return embedding_.data();
    }
    void loaded(bool ok, const char *message) { events_.on_encoder_loaded(ok, message ? message : ""); }
    void encoded(encoder_result r) {
        if (r.ok) r.embedding = std::move(embedding_);  // the buffer JS filled, no copy
        embedding_.clear();
        events_.on_encoded(std::move(r));
    }

private:
    encoder_events &events_;
    int handle_;
    std::vector<float> embedding_;
};

worker_encoder *find(int handle) {
    auto it = g_encoders.find(handle);
    return it == g_encoders.end() ? nullptr : it->second;
}

}  // namespace

std::unique_ptr<encoder_backend> platform_make_encoder_backend(encoder_events &events) {
    return std::make_unique<worker_encoder>(events);
}

float *web_encoder_buffer(int handle, int n) {
    worker_encoder *e = find(handle);
    return e ? e->buffer(n) : nullptr;
}

void web_encoder_loaded(int handle, int ok, const char *message) {
    if (worker_encoder *e = find(handle)) e->loaded(ok != 0, message);
}

void web_encoded(int handle, double id, int ok, const char *error, int width, int height, const char *sha256, int cached,
                 double prep_ms, double encode_ms, const char *cache_error) {
    worker_encoder *e = find(handle);
    if (!e) return;
    encoder_result r;
    r.id = (uint64_t)id;
    r.ok = ok != 0;
    r.error = error ? error : "";
    r.width = width;
    r.height = height;
    r.sha256 = sha256 ? sha256 : "";
    r.cached = cached != 0;
    r.prep_ms = prep_ms;
    r.encode_ms = encode_ms;
    r.cache_error = cache_error ? cache_error : "";
    e->encoded(std::move(r));
}

}  // namespace sam
