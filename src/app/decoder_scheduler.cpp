#include "app/decoder_scheduler.h"

#include <sstream>
#include <utility>
#include <vector>

namespace sam {

namespace {

std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, sep))
        if (!item.empty()) out.push_back(item);
    return out;
}

int to_int(const std::string &v) {
    int n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return 0;
        n = n * 10 + (c - '0');
        if (n > 1000000) return 0;
    }
    return n;
}

}  // namespace

void decoder_scheduler::set_backend(std::unique_ptr<decoder_backend> backend) {
    // Whatever was in the old backend is lost: run it again on the new one.
    if (in_flight_ && in_flight_batch_ && in_flight_id_ >= embedding_id_ && in_flight_id_ >= batches_cancelled_below_)
        batches_.push_front(batch_job{in_flight_id_, std::move(in_flight_job_)});
    else if (in_flight_ && !in_flight_batch_ && !has_pending_ && in_flight_id_ >= embedding_id_) {
        has_pending_ = true;
        pending_id_ = in_flight_id_;
        pending_ = std::move(in_flight_request_);
    }
    backend_ = std::move(backend);
    in_flight_ = false;
    status_ = decoder_status::idle;
    url_.clear();
    error_.clear();
    description_.clear();
    backend_name_.clear();
    threads_ = outputs_ = 0;
    embedding_sent_ = false;
    if (embedding_status_ != embedding_status::none) embedding_status_ = embedding_status::loading;
}

void decoder_scheduler::load(const std::string &url) {
    if (!backend_) return;
    status_ = decoder_status::loading;
    url_ = url;
    error_.clear();
    backend_->load(url);
}

uint64_t decoder_scheduler::set_image(decoder_embedding e) {
    embedding_id_ = next_id_++;
    embedding_ = std::move(e);
    embedding_status_ = embedding_status::loading;
    embedding_error_.clear();
    embedding_sent_ = false;
    has_pending_ = false;
    batches_.clear();
    has_result_ = false;
    batch_results_.clear();
    if (status_ == decoder_status::ready) send_embedding();
    return embedding_id_;
}

void decoder_scheduler::send_embedding() {
    if (!backend_ || embedding_status_ == embedding_status::none) return;
    embedding_sent_ = true;
    // The backend may keep the data (a worker transfers it): send a copy, keep ours for a new backend.
    backend_->set_image(embedding_id_, embedding_);
}

uint64_t decoder_scheduler::request(decoder_request r) {
    const uint64_t id = next_id_++;
    pending_ = std::move(r);
    pending_id_ = id;
    has_pending_ = true;
    pump();
    return id;
}

uint64_t decoder_scheduler::request_batch(decoder_batch b) {
    const uint64_t id = next_id_++;
    batches_.push_back(batch_job{id, std::move(b)});
    pump();
    return id;
}

void decoder_scheduler::cancel_batches() {
    batches_.clear();
    batches_cancelled_below_ = next_id_;
    std::deque<decoder_batch_result> kept;
    batch_results_.swap(kept);
}

bool decoder_scheduler::poll(decoder_result &out) {
    if (!has_result_) return false;
    out = std::move(newest_);
    newest_ = decoder_result{};
    has_result_ = false;
    return true;
}

bool decoder_scheduler::poll_batch(decoder_batch_result &out) {
    if (batch_results_.empty()) return false;
    out = std::move(batch_results_.front());
    batch_results_.pop_front();
    return true;
}

void decoder_scheduler::pump() {
    if (!backend_ || in_flight_ || status_ != decoder_status::ready || !embedding_sent_) return;
    if (has_pending_) {
        has_pending_ = false;
        in_flight_ = true;
        in_flight_batch_ = false;
        in_flight_id_ = pending_id_;
        in_flight_request_ = std::move(pending_);
        pending_ = decoder_request{};
        backend_->decode(in_flight_id_, in_flight_request_);
        return;
    }
    if (!batches_.empty()) {
        batch_job j = std::move(batches_.front());
        batches_.pop_front();
        in_flight_ = true;
        in_flight_batch_ = true;
        in_flight_id_ = j.id;
        in_flight_job_ = std::move(j.batch);
        backend_->decode_batch(in_flight_id_, in_flight_job_);
    }
}

void decoder_scheduler::on_loaded(bool ok, const std::string &message) {
    if (!ok) {
        status_ = decoder_status::failed;
        error_ = message;
        return;
    }
    status_ = decoder_status::ready;
    std::string variant;
    for (const std::string &part : split(message, ';')) {
        const size_t eq = part.find('=');
        if (eq == std::string::npos) continue;
        const std::string k = part.substr(0, eq), v = part.substr(eq + 1);
        if (k == "backend") backend_name_ = v;
        else if (k == "threads") threads_ = to_int(v);
        else if (k == "outputs") outputs_ = to_int(v);
        else if (k == "variant") variant = v;
    }
    description_ = (backend_name_.empty() ? std::string("decoder") : backend_name_) + ", " +
                   std::to_string(threads_) + (threads_ == 1 ? " thread" : " threads") +
                   (variant.empty() ? "" : ", " + variant);
    send_embedding();
    pump();
}

void decoder_scheduler::on_embedding(uint64_t id, bool ok, const std::string &message) {
    // Messages are answered in order: whatever was sent before this image is done (or dropped).
    if (in_flight_ && in_flight_id_ < id) in_flight_ = false;
    if (id == embedding_id_) {
        embedding_status_ = ok ? embedding_status::ready : embedding_status::failed;
        embedding_error_ = ok ? "" : message;
    }
    pump();
}

void decoder_scheduler::on_result(decoder_result r) {
    // only the job we sent: a reply to anyone else (a diagnostic probe) is not ours
    if (!in_flight_ || in_flight_batch_ || r.request_id != in_flight_id_) return;
    in_flight_ = false;
    if (r.request_id >= embedding_id_ && (!has_result_ || r.request_id > newest_.request_id)) {
        newest_ = std::move(r);
        has_result_ = true;
    }
    pump();
}

void decoder_scheduler::on_batch_result(decoder_batch_result r) {
    if (!in_flight_ || !in_flight_batch_ || r.request_id != in_flight_id_) return;
    if (r.done || !r.error.empty()) in_flight_ = false;
    if (r.request_id >= embedding_id_ && r.request_id >= batches_cancelled_below_) batch_results_.push_back(std::move(r));
    pump();
}

}  // namespace sam
