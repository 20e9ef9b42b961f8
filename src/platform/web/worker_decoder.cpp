// The browser decoder: web/decoder_worker.js runs ONNX Runtime Web in a
// module Worker; this side keeps the latest-request-wins bookkeeping in C++
// so the JS only moves tensors. At most one request is in the worker at a
// time; a newer request replaces the pending one.
#include <emscripten.h>

#include <sstream>

#include "app/decoder.h"
#include "app/platform.h"
#include "platform/web/web_platform.h"

namespace sam {

namespace {

EM_JS(void, sam_js_decoder_create, (), {
    // The page's query goes along so the worker sees ?threads=N.
    const worker = new Worker(new URL('decoder_worker.js' + location.search, document.baseURI), {type : 'module'});
    const toHeap = (s) => {
        const n = lengthBytesUTF8(s) + 1;
        const p = _malloc(n);
        stringToUTF8(s, p, n);
        return p;
    };
    worker.onmessage = (ev) => {
        const m = ev.data;
        if (m.type === 'loaded') {
            const p = toHeap(m.message);
            Module._sam_on_decoder_loaded(m.ok ? 1 : 0, p);
            _free(p);
        } else if (m.type === 'result') {
            if (m.error) {
                const p = toHeap(m.error);
                Module._sam_on_decoder_result(m.id, 0, 0, 0, 0, p);
                _free(p);
                return;
            }
            const iou = _malloc(m.iou.length * 4), low = _malloc(m.lowRes.length * 4);
            HEAPF32.set(m.iou, iou >> 2);
            HEAPF32.set(m.lowRes, low >> 2);
            Module._sam_on_decoder_result(m.id, m.iou.length, iou, low, m.ms, 0);
            _free(iou);
            _free(low);
        }
    };
    worker.onerror = (e) => {
        const p = toHeap('decoder worker: ' + (e.message || 'failed to start'));
        Module._sam_on_decoder_loaded(0, p);
        _free(p);
    };
    Module.samDecoderWorker = worker;
});

EM_JS(void, sam_js_decoder_load, (const char *url), {
    Module.samDecoderWorker.postMessage({type : 'load', url : new URL(UTF8ToString(url), document.baseURI).href});
});

EM_JS(void, sam_js_decoder_set_embedding, (const float *data, int count), {
    const e = HEAPF32.slice(data >> 2, (data >> 2) + count);
    Module.samDecoderWorker.postMessage({type : 'embedding', data : e}, [e.buffer]);
});

EM_JS(void, sam_js_decoder_run,
      (double id, const float *coords, const float *labels, int n, const float *mask, int orig_h, int orig_w), {
          const c = HEAPF32.slice(coords >> 2, (coords >> 2) + 2 * n);
          const l = HEAPF32.slice(labels >> 2, (labels >> 2) + n);
          const m = mask ? HEAPF32.slice(mask >> 2, (mask >> 2) + 65536) : new Float32Array(65536);
          Module.samDecoderWorker.postMessage({
              type : 'decode', id : id, pointCoords : c, pointLabels : l, maskInput : m,
              hasMaskInput : mask ? 1 : 0, origImSize : new Float32Array([ orig_h, orig_w ])
          }, [ c.buffer, l.buffer, m.buffer ]);
      });

std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, sep))
        if (!item.empty()) out.push_back(item);
    return out;
}

class worker_decoder final : public decoder {
public:
    void load(const std::string &url) override {
        if (!created_) {
            sam_js_decoder_create();
            created_ = true;
        }
        status_ = decoder_status::loading;
        url_ = url;
        error_.clear();
        sam_js_decoder_load(url.c_str());
    }
    decoder_status status() const override { return status_; }
    const std::string &error() const override { return error_; }
    const std::string &description() const override { return description_; }

    void set_embedding(std::vector<float> embedding) override {
        if (!created_) {
            sam_js_decoder_create();
            created_ = true;
        }
        sam_js_decoder_set_embedding(embedding.data(), (int)embedding.size());
        has_pending_ = false;
        has_result_ = false;
        min_valid_id_ = next_id_;
    }

    uint64_t request(decoder_request r) override {
        uint64_t id = next_id_++;
        if (status_ == decoder_status::ready && !in_flight_) {
            send(id, r);
        } else {
            pending_ = std::move(r);
            pending_id_ = id;
            has_pending_ = true;
        }
        return id;
    }

    bool poll(decoder_result &out) override {
        if (!has_result_) return false;
        out = std::move(newest_);
        has_result_ = false;
        return true;
    }
    bool busy() const override { return in_flight_ || has_pending_; }

    // ---- from JS ----
    void on_loaded(bool ok, const std::string &message) {
        if (!ok) {
            status_ = decoder_status::failed;
            error_ = message;
            return;
        }
        // message: "inputs=a,b;outputs=c,d;threads=N;backend=..."
        std::vector<std::string> inputs, outputs;
        std::string threads, backend;
        for (const std::string &part : split(message, ';')) {
            size_t eq = part.find('=');
            if (eq == std::string::npos) continue;
            std::string k = part.substr(0, eq), v = part.substr(eq + 1);
            if (k == "inputs") inputs = split(v, ',');
            if (k == "outputs") outputs = split(v, ',');
            if (k == "threads") threads = v;
            if (k == "backend") backend = v;
        }
        auto has = [](const std::vector<std::string> &v, const char *name) {
            for (const std::string &s : v)
                if (s == name) return true;
            return false;
        };
        std::string missing;
        for (const char *name : {"image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input"})
            if (!has(inputs, name)) missing += std::string(missing.empty() ? "" : ", ") + "input " + name;
        for (const char *name : {"iou_predictions", "low_res_masks"})
            if (!has(outputs, name)) missing += std::string(missing.empty() ? "" : ", ") + "output " + name;
        if (!missing.empty()) {
            status_ = decoder_status::failed;
            error_ = url_ + ": not a SAM decoder (missing " + missing + ")";
            return;
        }
        status_ = decoder_status::ready;
        description_ = backend + ", " + threads + (threads == "1" ? " thread" : " threads") +
                       (has(outputs, "masks") ? ", official (with masks)" : ", fast (low-res only)");
        if (has_pending_ && !in_flight_) {
            has_pending_ = false;
            send(pending_id_, pending_);
        }
    }

    void on_result(uint64_t id, int mask_count, const float *iou, const float *low, double ms, const char *error) {
        in_flight_ = false;
        if (id >= min_valid_id_) {
            newest_ = decoder_result{};
            newest_.request_id = id;
            newest_.decode_ms = ms;
            if (error) {
                newest_.error = error;
            } else {
                newest_.mask_count = mask_count;
                newest_.iou_predictions.assign(iou, iou + mask_count);
                newest_.low_res_masks.assign(low, low + (size_t)mask_count * 256 * 256);
            }
            has_result_ = true;
        }
        if (has_pending_ && status_ == decoder_status::ready) {
            has_pending_ = false;
            send(pending_id_, pending_);
        }
    }

private:
    void send(uint64_t id, const decoder_request &r) {
        in_flight_ = true;
        int n = (int)r.point_labels.size();
        sam_js_decoder_run((double)id, r.point_coords.data(), r.point_labels.data(), n,
                           r.mask_input.size() == 256 * 256 ? r.mask_input.data() : nullptr, r.orig_h, r.orig_w);
    }

    bool created_ = false;
    decoder_status status_ = decoder_status::idle;
    std::string url_, error_, description_;
    bool in_flight_ = false;
    bool has_pending_ = false;
    decoder_request pending_;
    uint64_t pending_id_ = 0, next_id_ = 1, min_valid_id_ = 0;
    bool has_result_ = false;
    decoder_result newest_;
};

worker_decoder *g_decoder = nullptr;

}  // namespace

std::unique_ptr<decoder> platform_make_decoder() {
    auto d = std::make_unique<worker_decoder>();
    g_decoder = d.get();
    return d;
}

void web_decoder_loaded(int ok, const char *message) {
    if (g_decoder) g_decoder->on_loaded(ok != 0, message ? message : "");
}

void web_decoder_result(double request_id, int mask_count, const float *iou, const float *low_res_masks,
                        double decode_ms, const char *error) {
    if (g_decoder) g_decoder->on_result((uint64_t)request_id, mask_count, iou, low_res_masks, decode_ms, error);
}

}  // namespace sam
