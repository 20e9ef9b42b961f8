// decoder_scheduler.h - the one decoder seam of the app: every decode goes through
// here, whichever backend runs it (the C++ decoder's worker, ONNX Runtime Web's worker,
// an in-process backend in tests). Scheduling lives here and nowhere else:
// - one job in the backend at a time;
// - interactive requests: latest wins, one pending slot (a newer request replaces the
//   one not yet sent), ahead of batch jobs;
// - batch jobs (<= k_max_batch prompts each) run in the order given; cancel_batches()
//   drops the queued ones and the results of the one running;
// - set_image() starts a new image: the pending request and queued batches go, and no
//   result of a job sent before it is ever returned (ids below embedding_id() are stale);
// - the embedding is (re)sent once the backend has loaded, also after set_backend().
//   s.set_backend(b); s.load(url); s.set_image(e); id = s.request(r); ... s.poll(result)
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "app/decoder_backend.h"

namespace sam {

enum class decoder_status { idle, loading, ready, failed };
enum class embedding_status { none, loading, ready, failed };

class decoder_scheduler final : public decoder_events {
public:
    // Replaces the backend (e.g. the ONNX Runtime fallback after the C++ one failed to
    // load): jobs in flight are forgotten, the current embedding is sent again after load().
    void set_backend(std::unique_ptr<decoder_backend> backend);
    bool has_backend() const { return backend_ != nullptr; }

    void load(const std::string &url);
    decoder_status status() const { return status_; }
    const std::string &url() const { return url_; }
    const std::string &error() const { return error_; }
    // From the backend's loaded message: "C++ wasm SIMD, 2 threads" (+ ", <variant>").
    const std::string &description() const { return description_; }
    const std::string &backend_name() const { return backend_name_; }
    int threads() const { return threads_; }
    int outputs() const { return outputs_; }  // K per prompt (0 = not reported)

    uint64_t set_image(decoder_embedding e);
    uint64_t embedding_id() const { return embedding_id_; }
    embedding_status embedding() const { return embedding_status_; }
    const std::string &embedding_error() const { return embedding_error_; }

    // Returns the request id (increasing, shared with batch jobs and images).
    uint64_t request(decoder_request r);
    uint64_t request_batch(decoder_batch b);
    void cancel_batches();
    size_t queued_batches() const { return batches_.size(); }

    // The newest interactive result (older ones are dropped), if one arrived.
    bool poll(decoder_result &out);
    // Batch results in arrival order.
    bool poll_batch(decoder_batch_result &out);
    bool busy() const { return in_flight_ || has_pending_ || !batches_.empty(); }
    uint64_t in_flight_id() const { return in_flight_ ? in_flight_id_ : 0; }

    // decoder_events (called by the backend)
    void on_loaded(bool ok, const std::string &message) override;
    void on_embedding(uint64_t id, bool ok, const std::string &message) override;
    void on_result(decoder_result r) override;
    void on_batch_result(decoder_batch_result r) override;

private:
    struct batch_job {
        uint64_t id = 0;
        decoder_batch batch;
    };
    void send_embedding();
    void pump();  // sends the next job when the backend is free

    std::unique_ptr<decoder_backend> backend_;
    decoder_status status_ = decoder_status::idle;
    std::string url_, error_, description_, backend_name_;
    int threads_ = 0, outputs_ = 0;

    uint64_t next_id_ = 1;
    uint64_t embedding_id_ = 0;  // results of jobs with smaller ids are stale
    decoder_embedding embedding_;
    bool embedding_sent_ = false;
    embedding_status embedding_status_ = embedding_status::none;
    std::string embedding_error_;

    bool in_flight_ = false, in_flight_batch_ = false;
    uint64_t in_flight_id_ = 0;
    decoder_request in_flight_request_;  // kept to run again on a new backend
    decoder_batch in_flight_job_;
    bool has_pending_ = false;
    uint64_t pending_id_ = 0;
    decoder_request pending_;
    std::deque<batch_job> batches_;
    uint64_t batches_cancelled_below_ = 0;

    bool has_result_ = false;
    decoder_result newest_;
    std::deque<decoder_batch_result> batch_results_;
};

}  // namespace sam
