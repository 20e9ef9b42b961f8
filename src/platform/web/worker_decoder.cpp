// worker_decoder.cpp - a decoder_backend that is a Web Worker speaking the decoder
// worker protocol (/work/notes/decoder_worker_protocol.md): web/decoder_worker.js (ONNX
// Runtime Web) or web/sam_decoder_worker.js (our C++ decoder), chosen by script URL.
// This side only moves messages: scheduling is decoder_scheduler's. Results land in
// C++-owned buffers (one copy, worker -> wasm heap). The worker starts as a module
// worker; one that fails to start as a module (a classic script) is started again as
// a classic worker with the messages sent so far.
#include <emscripten.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "app/platform.h"
#include "platform/web/web_platform.h"

namespace sam {

namespace {

EM_JS(void, sam_js_worker_create, (int handle, const char *script_ptr), {
    const script = UTF8ToString(script_ptr);
    const toHeap = (s) => {
        const n = lengthBytesUTF8(s) + 1;
        const p = _malloc(n);
        stringToUTF8(s, p, n);
        return p;
    };
    const url = new URL(script + location.search, document.baseURI).href;  // the page's ?threads=N goes along
    const w = {confirmed : false, sent : [], worker : null, failed : false};
    (Module.samWorkers = Module.samWorkers || {})[handle] = w;
    const onmessage = (ev) => {
        const m = ev.data;
        if (!w.confirmed) { w.confirmed = true; w.sent = []; }
        if (m.type === 'loaded') {
            const p = toHeap(String(m.message || ''));
            Module._sam_on_worker_loaded(handle, m.ok ? 1 : 0, p);
            _free(p);
        } else if (m.type === 'embedding') {
            const p = toHeap(String(m.message || ''));
            Module._sam_on_worker_embedding(handle, m.id, m.ok ? 1 : 0, p);
            _free(p);
        } else if (m.type === 'result' || m.type === 'batch_result') {
            const batch = m.type === 'batch_result';
            const count = batch ? (m.count | 0) : 1;
            const offset = batch ? (m.offset | 0) : 0;
            const done = !batch || m.done === undefined || m.done ? 1 : 0;
            if (m.error || !m.iou || !m.lowRes) {
                const p = toHeap(String(m.error || 'the worker sent no outputs'));
                Module._sam_on_worker_result(handle, batch ? 1 : 0, m.id, offset, count, 0, m.ms || 0, done, p);
                _free(p);
                return;
            }
            const k = batch ? (m.k | 0) : m.iou.length;
            HEAPF32.set(m.iou, Module._sam_worker_buffer(handle, 0, m.iou.length) >> 2);
            HEAPF32.set(m.lowRes, Module._sam_worker_buffer(handle, 1, m.lowRes.length) >> 2);
            Module._sam_on_worker_result(handle, batch ? 1 : 0, m.id, offset, count, k, m.ms || 0, done, 0);
        }
    };
    const start = (type) => {
        w.worker = new Worker(url, {type});
        Module.samDecoderWorker = w.worker;  // the bench's decode probe talks to it directly
        w.worker.onmessage = onmessage;
        w.worker.onerror = (e) => {
            if (!w.confirmed && type === 'module') {
                // not a module: the same script as a classic worker, with what it was sent
                const again = w.sent;
                w.worker.terminate();
                start('classic');
                for (const m of again) w.worker.postMessage(m);
                return;
            }
            const p = toHeap(url + ': ' + (e.message || 'the decoder worker failed to start'));
            Module._sam_on_worker_loaded(handle, 0, p);
            _free(p);
        };
    };
    start('module');
    w.post = (m, transfer) => {
        if (!w.confirmed) {
            w.sent.push(m);  // kept (copied, not transferred) until the worker answers
            w.worker.postMessage(m);
        } else {
            w.worker.postMessage(m, transfer);
        }
    };
});

EM_JS(void, sam_js_worker_terminate, (int handle), {
    const w = Module.samWorkers && Module.samWorkers[handle];
    if (w && w.worker) w.worker.terminate();
    if (Module.samWorkers) delete Module.samWorkers[handle];
});

EM_JS(void, sam_js_worker_load, (int handle, const char *url), {
    Module.samWorkers[handle].post({type : 'load', url : new URL(UTF8ToString(url), document.baseURI).href}, []);
});

EM_JS(void, sam_js_worker_embedding_url, (int handle, double id, const char *url, const char *name, const char *dtype), {
    const m = {type : 'embedding', id, url : UTF8ToString(url), name : UTF8ToString(name)};
    const d = UTF8ToString(dtype);
    if (d) m.dtype = d;
    Module.samWorkers[handle].post(m, []);
});

// SAM 2.1: {type:'embedding', id, urls: {input: url}, shapes: {input: [dims]}, name, dtype}.
EM_JS(void, sam_js_worker_embedding_features, (int handle, double id, const char *json, const char *dtype), {
    const f = JSON.parse(UTF8ToString(json));
    const m = {type : 'embedding', id, urls : f.urls, shapes : f.shapes, name : f.name};
    const d = UTF8ToString(dtype);
    if (d) m.dtype = d;
    Module.samWorkers[handle].post(m, []);
});

EM_JS(void, sam_js_worker_embedding_data, (int handle, double id, const float *data, int count), {
    const e = HEAPF32.slice(data >> 2, (data >> 2) + count);
    Module.samWorkers[handle].post({type : 'embedding', id, data : e}, [e.buffer]);
});

EM_JS(void, sam_js_worker_decode, (int handle, double id, const float *coords, const float *labels, int n,
                                   const float *mask, int orig_h, int orig_w), {
    const c = HEAPF32.slice(coords >> 2, (coords >> 2) + 2 * n);
    const l = HEAPF32.slice(labels >> 2, (labels >> 2) + n);
    const m = mask ? HEAPF32.slice(mask >> 2, (mask >> 2) + 65536) : null;
    const transfer = [ c.buffer, l.buffer ];
    if (m) transfer.push(m.buffer);
    Module.samWorkers[handle].post({type : 'decode', id, pointCoords : c, pointLabels : l, maskInput : m,
                                    origImSize : new Float32Array([ orig_h, orig_w ])}, transfer);
});

// A batch arrives as one flat array per field: [counts...] says how many points each prompt has.
EM_JS(void, sam_js_worker_batch, (int handle, double id, const float *coords, const float *labels, const int *counts,
                                  int n_prompts, int multimask, int orig_h, int orig_w), {
    const prompts = [];
    const transfer = [];
    let at = 0;
    for (let i = 0; i < n_prompts; i++) {
        const n = HEAP32[(counts >> 2) + i];
        const c = HEAPF32.slice((coords >> 2) + 2 * at, (coords >> 2) + 2 * (at + n));
        const l = HEAPF32.slice((labels >> 2) + at, (labels >> 2) + at + n);
        prompts.push({pointCoords : c, pointLabels : l});
        transfer.push(c.buffer, l.buffer);
        at += n;
    }
    Module.samWorkers[handle].post({type : 'batch', id, prompts, multimask : !!multimask,
                                    origImSize : new Float32Array([ orig_h, orig_w ])}, transfer);
});

class worker_backend;
std::map<int, worker_backend *> g_backends;
int g_next_handle = 1;

class worker_backend final : public decoder_backend {
public:
    worker_backend(const std::string &script, decoder_events &events) : events_(events), handle_(g_next_handle++) {
        g_backends[handle_] = this;
        sam_js_worker_create(handle_, script.c_str());
    }
    ~worker_backend() override {
        g_backends.erase(handle_);
        sam_js_worker_terminate(handle_);
    }

    void load(const std::string &url) override { sam_js_worker_load(handle_, url.c_str()); }
    void set_image(uint64_t id, decoder_embedding e) override {
        if (!e.features.empty()) return set_features(id, e);
        if (!e.url.empty())
            sam_js_worker_embedding_url(handle_, (double)id, e.url.c_str(), e.name.c_str(), e.dtype.c_str());
        else
            sam_js_worker_embedding_data(handle_, (double)id, e.data.data(), (int)e.data.size());
    }
    void decode(uint64_t id, const decoder_request &r) override {
        sam_js_worker_decode(handle_, (double)id, r.point_coords.data(), r.point_labels.data(),
                             (int)r.point_labels.size(), r.mask_input.size() == k_low_res_count ? r.mask_input.data() : nullptr,
                             r.orig_h, r.orig_w);
    }
    void decode_batch(uint64_t id, const decoder_batch &b) override {
        std::vector<float> coords, labels;
        std::vector<int> counts;
        for (const decoder_prompt &p : b.prompts) {
            coords.insert(coords.end(), p.point_coords.begin(), p.point_coords.end());
            labels.insert(labels.end(), p.point_labels.begin(), p.point_labels.end());
            counts.push_back((int)p.point_labels.size());
        }
        sam_js_worker_batch(handle_, (double)id, coords.data(), labels.data(), counts.data(), (int)counts.size(),
                            b.multimask ? 1 : 0, b.orig_h, b.orig_w);
    }

    float *buffer(int which, int n) {
        std::vector<float> &v = which == 0 ? iou_ : low_;
        v.resize((size_t)std::max(0, n));
        return v.data();
    }
    void loaded(bool ok, const char *message) { events_.on_loaded(ok, message ? message : ""); }
    void embedding(uint64_t id, bool ok, const char *message) { events_.on_embedding(id, ok, message ? message : ""); }
    void result(bool batch, uint64_t id, int offset, int count, int k, double ms, bool done, const char *error) {
        if (!batch) {
            decoder_result r;
            take_outputs(r, id, k, ms, error);
            return events_.on_result(std::move(r));
        }
        decoder_batch_result r;
        take_outputs(r, id, k, ms, error);
        r.offset = (size_t)std::max(0, offset);
        r.count = (size_t)std::max(0, count);
        r.done = done;
        events_.on_batch_result(std::move(r));
    }

private:
    void set_features(uint64_t id, const decoder_embedding &e) {
        nlohmann::json urls = nlohmann::json::object(), shapes = nlohmann::json::object();
        for (const decoder_feature &f : e.features) {
            urls[f.input] = f.url;
            shapes[f.input] = f.shape;
        }
        const std::string text = nlohmann::json{{"urls", urls}, {"shapes", shapes}, {"name", e.name}}.dump();
        sam_js_worker_embedding_features(handle_, (double)id, text.c_str(), e.dtype.c_str());
    }

    // The buffers JS filled move into the result (no copy).
    template <class R>
    void take_outputs(R &r, uint64_t id, int k, double ms, const char *error) {
        r.request_id = id;
        r.decode_ms = ms;
        if (error) {
            r.error = error;
        } else {
            r.mask_count = k;
            r.iou_predictions = std::move(iou_);
            r.low_res_masks = std::move(low_);
        }
        iou_.clear();
        low_.clear();
    }

    decoder_events &events_;
    int handle_;
    std::vector<float> iou_, low_;
};

worker_backend *find(int handle) {
    auto it = g_backends.find(handle);
    return it == g_backends.end() ? nullptr : it->second;
}

}  // namespace

std::unique_ptr<decoder_backend> platform_make_worker_backend(const std::string &worker_script, decoder_events &events) {
    return std::make_unique<worker_backend>(worker_script, events);
}

float *web_worker_buffer(int handle, int which, int n) {
    worker_backend *b = find(handle);
    return b ? b->buffer(which, n) : nullptr;
}

void web_worker_loaded(int handle, int ok, const char *message) {
    if (worker_backend *b = find(handle)) b->loaded(ok != 0, message);
}

void web_worker_embedding(int handle, double id, int ok, const char *message) {
    if (worker_backend *b = find(handle)) b->embedding((uint64_t)id, ok != 0, message);
}

void web_worker_result(int handle, int batch, double id, int offset, int count, int k, double ms, int done,
                       const char *error) {
    if (worker_backend *b = find(handle)) b->result(batch != 0, (uint64_t)id, offset, count, k, ms, done != 0, error);
}

}  // namespace sam
