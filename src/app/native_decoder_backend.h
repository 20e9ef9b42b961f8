// native_decoder_backend.h - a decoder_backend that runs in-process, natively or in
// WebAssembly: a native_decoder (the core's sam_decoder, cpp_decoder.h, or a small
// deterministic test decoder given as a function) behind the same seam as the workers.
// Jobs are queued like worker messages and complete only in run_next() / run_all(),
// i.e. "between frames", so a test controls what is in flight when.
//   native_decoder_backend b(scheduler, make_cpp_decoder(), "C++ native");  ...  b.run_all();
// load(url) fetches the weights with platform_fetch when the decoder wants them;
// embeddings given by URL are fetched and parsed by the core (embedding_from_npy), as
// the C++ worker does; a model with several feature files (SAM 2.1) has each fetched and
// checked against its spec shape (feature_from_npy), and the decoder gets the first
// (image_embed). set_image runs once per image, predict once per request.
#pragma once
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/decoder_backend.h"
#include "core/status.h"

namespace sam {

// A decoder run in the app's own process: weights once, the embedding once per image.
class native_decoder {
public:
    virtual ~native_decoder() = default;
    virtual bool wants_weights() const { return true; }  // load() gets the file at the URL
    virtual status load(const std::vector<uint8_t> &bytes, const std::string &name) = 0;
    virtual int num_outputs() const = 0;  // K
    // embedding [1,256,64,64] f32
    virtual status set_image(const std::vector<float> &embedding) = 0;
    // request in the 1024 frame -> out (K masks, mask_count set)
    virtual status predict(const decoder_request &r, decoder_result &out) = 0;
};

// One decode as a function (a test decoder): embedding, request -> out.
using native_decode_fn =
    std::function<status(const std::vector<float> &embedding, const decoder_request &r, decoder_result &out)>;

class native_decoder_backend final : public decoder_backend {
public:
    native_decoder_backend(decoder_events &events, std::unique_ptr<native_decoder> decoder, std::string name);
    native_decoder_backend(decoder_events &events, native_decode_fn fn, std::string name, int outputs = 4);

    void load(const std::string &url) override;
    void set_image(uint64_t id, decoder_embedding e) override;
    void decode(uint64_t id, const decoder_request &r) override;
    void decode_batch(uint64_t id, const decoder_batch &b) override;

    // Runs the oldest queued message; false when none is queued.
    bool run_next();
    size_t run_all();  // until the queue is empty (jobs queued meanwhile included)
    size_t queued() const { return queue_.size(); }
    size_t decodes() const { return decodes_; }  // prompts decoded so far (batches count each)
    // The decoder inputs of the last image's features (SAM 1: {"image_embeddings"}).
    const std::vector<std::string> &feature_inputs() const { return feature_inputs_; }
    size_t batch_part = 0;  // > 0: batch results in parts of this many prompts
    std::string fail_load;  // non-empty: load() fails with this message

private:
    void push(std::function<void()> f);
    void set_image_features(uint64_t id, const decoder_embedding &e);
    std::deque<std::shared_ptr<std::function<void()>>> queue_;  // empty function: a fetch not done yet
    status run(const decoder_request &r, decoder_result &out);
    decoder_events &events_;
    std::unique_ptr<native_decoder> decoder_;
    std::string name_;
    bool image_set_ = false;
    std::vector<std::string> feature_inputs_;
    size_t decodes_ = 0;
};

}  // namespace sam
