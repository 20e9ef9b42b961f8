#include "app/native_decoder_backend.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "app/platform.h"
#include "core/embedding.h"

namespace sam {

namespace {

// A test decoder given as a function: it sees the embedding on every decode.
class function_decoder final : public native_decoder {
public:
    function_decoder(native_decode_fn fn, int outputs) : fn_(std::move(fn)), outputs_(outputs) {}
    bool wants_weights() const override { return false; }
    status load(const std::vector<uint8_t> &, const std::string &) override { return status::success(); }
    int num_outputs() const override { return outputs_; }
    status set_image(const std::vector<float> &embedding) override {
        embedding_ = embedding;
        return status::success();
    }
    status predict(const decoder_request &r, decoder_result &out) override { return fn_(embedding_, r, out); }

private:
    native_decode_fn fn_;
    int outputs_;
    std::vector<float> embedding_;
};

}  // namespace

native_decoder_backend::native_decoder_backend(decoder_events &events, std::unique_ptr<native_decoder> decoder,
                                               std::string name)
    : events_(events), decoder_(std::move(decoder)), name_(std::move(name)) {}

native_decoder_backend::native_decoder_backend(decoder_events &events, native_decode_fn fn, std::string name,
                                               int outputs)
    : native_decoder_backend(events, std::make_unique<function_decoder>(std::move(fn), outputs), std::move(name)) {}

void native_decoder_backend::load(const std::string &url) {
    auto loaded = [this, url](const status &st) {
        if (!st) return events_.on_loaded(false, st.message);
        events_.on_loaded(true, "backend=" + name_ + ";threads=1;outputs=" + std::to_string(decoder_->num_outputs()));
    };
    if (!fail_load.empty()) return push([loaded, url, m = fail_load] { loaded(status::failure(url + ": " + m)); });
    if (!decoder_->wants_weights()) return push([loaded] { loaded(status::success()); });
    // The weights arrive on their own (between frames); until then the queue waits here.
    auto slot = std::make_shared<std::function<void()>>();
    queue_.push_back(slot);
    platform_fetch(url, [this, url, slot, loaded](const status &st, std::vector<uint8_t> &&bytes) {
        *slot = [this, url, loaded, st, bytes = std::move(bytes)] {
            loaded(st ? decoder_->load(bytes, url) : st);
        };
    });
}

void native_decoder_backend::set_image(uint64_t id, decoder_embedding e) {
    if (!e.features.empty()) return set_image_features(id, e);
    auto apply = [this, id](const status &st, const std::vector<float> &emb) {
        status s = st ? decoder_->set_image(emb) : st;
        image_set_ = (bool)s;
        if (s) feature_inputs_ = {"image_embeddings"};
        events_.on_embedding(id, (bool)s, s.message);
    };
    if (e.url.empty()) {
        push([apply, data = std::move(e.data)] {
            if (data.size() != k_decoder_embedding_count)
                return apply(status::failure("embedding: " + std::to_string(data.size()) + " floats"), data);
            apply(status::success(), data);
        });
        return;
    }
    // The fetch completes on its own (between frames); until then the queue waits at it, so
    // the image is set before the jobs sent after it run.
    auto slot = std::make_shared<std::function<void()>>();
    queue_.push_back(slot);
    const std::string name = e.name.empty() ? e.url : e.name;
    platform_fetch(e.url, [name, slot, apply](const status &st, std::vector<uint8_t> &&bytes) {
        std::vector<float> emb;
        status ps = st ? embedding_from_npy(bytes.data(), bytes.size(), name, emb) : st;
        *slot = [apply, ps, emb = std::move(emb)] { apply(ps, emb); };
    });
}

// Every file fetched and checked; the queue waits at this image until the last has come.
void native_decoder_backend::set_image_features(uint64_t id, const decoder_embedding &e) {
    struct pending {
        size_t left = 0;
        status st;
        std::vector<std::vector<float>> values;
    };
    auto slot = std::make_shared<std::function<void()>>();
    queue_.push_back(slot);
    auto got = std::make_shared<pending>();
    got->left = e.features.size();
    got->values.resize(e.features.size());
    std::vector<std::string> inputs;
    for (const decoder_feature &f : e.features) inputs.push_back(f.input);
    for (size_t k = 0; k < e.features.size(); ++k) {
        const decoder_feature f = e.features[k];
        platform_fetch(f.url, [this, id, k, f, got, slot, inputs](const status &st, std::vector<uint8_t> &&bytes) {
            status ps = st ? feature_from_npy(bytes.data(), bytes.size(), f.file.empty() ? f.url : f.file, f.shape,
                                              got->values[k])
                           : st;
            if (!ps && got->st) got->st = ps;
            if (--got->left > 0) return;
            *slot = [this, id, got, inputs] {
                status s = got->st ? decoder_->set_image(got->values[0]) : got->st;
                image_set_ = (bool)s;
                if (s) feature_inputs_ = inputs;
                events_.on_embedding(id, (bool)s, s.message);
            };
        });
    }
}

status native_decoder_backend::run(const decoder_request &r, decoder_result &out) {
    decodes_++;
    if (!image_set_) return status::failure("no embedding set");
    return decoder_->predict(r, out);
}

void native_decoder_backend::decode(uint64_t id, const decoder_request &r) {
    push([this, id, r] {
        decoder_result out;
        status st = run(r, out);
        out.request_id = id;
        if (!st) out.error = st.message;
        events_.on_result(std::move(out));
    });
}

void native_decoder_backend::decode_batch(uint64_t id, const decoder_batch &b) {
    push([this, id, b] {
        const size_t n = b.prompts.size(), part = batch_part ? batch_part : std::max<size_t>(1, n);
        for (size_t offset = 0; offset < n || (n == 0 && offset == 0); offset += part) {
            decoder_batch_result br;
            br.request_id = id;
            br.offset = offset;
            br.count = std::min(part, n - offset);
            br.done = offset + part >= n;
            for (size_t i = offset; i < offset + br.count; ++i) {
                decoder_request r;
                r.point_coords = b.prompts[i].point_coords;
                r.point_labels = b.prompts[i].point_labels;
                r.orig_h = b.orig_h;
                r.orig_w = b.orig_w;
                decoder_result one;
                status st = run(r, one);
                if (!st) {
                    br.error = st.message;
                    break;
                }
                br.mask_count = one.mask_count;
                br.iou_predictions.insert(br.iou_predictions.end(), one.iou_predictions.begin(),
                                          one.iou_predictions.end());
                br.low_res_masks.insert(br.low_res_masks.end(), one.low_res_masks.begin(), one.low_res_masks.end());
                br.decode_ms += one.decode_ms;
            }
            const bool stop = !br.error.empty();
            events_.on_batch_result(std::move(br));
            if (stop || n == 0) break;
        }
    });
}

void native_decoder_backend::push(std::function<void()> f) {
    queue_.push_back(std::make_shared<std::function<void()>>(std::move(f)));
}

bool native_decoder_backend::run_next() {
    if (queue_.empty()) return false;
    if (!*queue_.front()) return false;  // an embedding still being fetched holds the queue
    std::shared_ptr<std::function<void()>> f = std::move(queue_.front());
    queue_.pop_front();
    (*f)();
    return true;
}

size_t native_decoder_backend::run_all() {
    size_t n = 0;
    while (run_next()) ++n;
    return n;
}

}  // namespace sam
