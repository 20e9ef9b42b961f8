// thread_pool.h - a parallel_for (parallel_for.h) on std::thread: threads-1 workers and the
// calling thread take a job's indices one at a time; run() returns when every index has
// run, whether or not each worker woke up for it (on a loaded machine a sleeping worker is
// not waited for). Between jobs workers spin briefly before they sleep: a decode is ~50
// short jobs, and a futex wake per job costs more than the spin.
//   sam::thread_pool pool(2);  pool.run(100, [&](int i) { ... });
// One run() at a time. Natively, and in the -pthread WebAssembly build (pthreads in a
// Worker); never on a browser main thread, which may not block.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
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
    struct job_slot {
        std::atomic<const std::function<void(int)> *> fn{nullptr};
    };
    void work_loop();
    void work_on(unsigned generation);

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    job_slot slots_[2];                    // job g lives in slots_[g & 1]
    std::atomic<uint64_t> ticket_{0};      // generation | job size | next index to take
    std::atomic<unsigned> generation_{0};  // the newest job, 24 bits (published under mutex_)
    std::atomic<int> done_count_{0};       // indices of the newest job that have run
    std::atomic<bool> stop_{false};
};

}  // namespace sam
