// thread_pool.h - a parallel_for (parallel_for.h) on std::thread: threads-1 workers
// wait on a condition variable; run() hands out indices through an atomic counter and
// the calling thread works too. One run() at a time (the decoder is single-caller).
//   sam::thread_pool pool(2);  pool.run(100, [&](int i) { ... });
// Natively, and in the -pthread WebAssembly build (pthreads in a Worker); never on a
// browser main thread, which may not block.
#pragma once
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "core/parallel_for.h"

namespace sam {

class thread_pool : public parallel_for {
public:
    explicit thread_pool(int threads);
    ~thread_pool() override;
    thread_pool(const thread_pool &) = delete;
    thread_pool &operator=(const thread_pool &) = delete;

    int threads() const override { return (int)workers_.size() + 1; }
    void run(int n, const std::function<void(int)> &fn) override;

private:
    void work_loop();
    void drain();

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    const std::function<void(int)> *job_ = nullptr;
    int job_n_ = 0;
    unsigned generation_ = 0;
    int busy_ = 0;  // workers still inside the current job
    bool stop_ = false;
    std::atomic<int> next_{0};
};

}  // namespace sam
