// thread_pool.cpp - see thread_pool.h.
#include "core/thread_pool.h"

namespace sam {

thread_pool::thread_pool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work_loop(); });
}

thread_pool::~thread_pool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    for (std::thread &t : workers_) t.join();
}

void thread_pool::drain() {
    for (int i = next_.fetch_add(1); i < job_n_; i = next_.fetch_add(1)) (*job_)(i);
}

void thread_pool::work_loop() {
    unsigned seen = 0;
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
        }
        drain();
        std::lock_guard<std::mutex> lock(mutex_);
        if (--busy_ == 0) done_.notify_one();
    }
}

void thread_pool::run(int n, const std::function<void(int)> &fn) {
    if (workers_.empty() || n <= 1) {
        for (int i = 0; i < n; ++i) fn(i);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        job_ = &fn;
        job_n_ = n;
        next_.store(0);
        busy_ = (int)workers_.size();
        ++generation_;
    }
    wake_.notify_all();
    drain();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return busy_ == 0; });
    job_ = nullptr;
}

}  // namespace sam
