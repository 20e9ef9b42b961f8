// native_decoder_backend.h - a decoder_backend that runs in-process, natively or in
// WebAssembly: a C++ decode function (tests: a small deterministic decoder; the
// core's sam_decoder once it lands) behind the same seam as the workers. Jobs are
// queued like worker messages and complete only in run_next() / run_all(), i.e.
// "between frames", so a test controls what is in flight when.
//   native_decoder_backend b(scheduler, fn, "native test");  ...  b.run_all();
// Embeddings given by URL are fetched with platform_fetch and parsed by the core
// (embedding_from_npy), as the C++ worker does; a model with several feature files
// (SAM 2.1) has each fetched and checked against its spec shape (feature_from_npy), and
// the decode function gets the first (image_embed).
#pragma once
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/decoder_backend.h"
#include "core/status.h"

namespace sam {

// One decode: embedding [1,256,64,64] f32, request in the 1024 frame -> out (K masks).
using native_decode_fn =
    std::function<status(const std::vector<float> &embedding, const decoder_request &r, decoder_result &out)>;

class native_decoder_backend final : public decoder_backend {
public:
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
    decoder_events &events_;
    native_decode_fn fn_;
    std::string name_;
    int outputs_;
    std::vector<float> embedding_;
    std::vector<std::string> feature_inputs_;
    size_t decodes_ = 0;
};

}  // namespace sam
