// thread_pool.cpp - see thread_pool.h. An index is taken by a compare-and-swap on ticket_,
// one word holding the job's generation, its size and the next index: a worker that wakes
// after its job is over (or while the next one is being set up) cannot take an index of a
// job it did not read, and a job's function is only called for an index taken while that
// job was current. run() waits for done_count_ == n, so its function outlives every call.
#include "core/thread_pool.h"

#include <algorithm>

namespace sam {

namespace {
constexpr int k_spin = 20000;  // loads of an atomic: tens of microseconds
// ticket_: generation (24 bits) | n (20 bits) | next index (20 bits)
constexpr int k_bits = 20;
constexpr uint64_t k_mask = (1u << k_bits) - 1;
constexpr int k_max_job = (int)k_mask;
unsigned ticket_generation(uint64_t t) { return (unsigned)(t >> (2 * k_bits)); }
int ticket_n(uint64_t t) { return (int)((t >> k_bits) & k_mask); }
int ticket_index(uint64_t t) { return (int)(t & k_mask); }
}  // namespace

thread_pool::thread_pool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work_loop(); });
}

thread_pool::~thread_pool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
    }
    wake_.notify_all();
    for (std::thread &t : workers_) t.join();
}

void thread_pool::work_on(unsigned generation) {
    generation &= 0xffffffu;
    for (;;) {
        uint64_t t = ticket_.load(std::memory_order_acquire);
        bool taken = false;
        while (ticket_generation(t) == generation && ticket_index(t) < ticket_n(t)) {
            if (ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) {
                taken = true;
                break;
            }
        }
        if (!taken) return;
        const job_slot &slot = slots_[generation & 1];
        (*slot.fn.load(std::memory_order_acquire))(ticket_index(t));
        if (done_count_.fetch_add(1, std::memory_order_acq_rel) + 1 == ticket_n(t)) {
            std::lock_guard<std::mutex> lock(mutex_);
            done_.notify_all();
        }
    }
}

void thread_pool::work_loop() {
    unsigned seen = 0;
    for (;;) {
        for (int s = 0; s < k_spin && generation_.load(std::memory_order_acquire) == seen && !stop_.load(); ++s) {
        }
        if (generation_.load(std::memory_order_acquire) == seen) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
        }
        if (stop_.load()) return;
        seen = generation_.load(std::memory_order_acquire);
        work_on(seen);
    }
}

void thread_pool::run(int n, const std::function<void(int)> &fn) {
    if (workers_.empty() || n <= 1) {
        for (int i = 0; i < n; ++i) fn(i);
        return;
    }
    if (n > k_max_job) {  // more indices than a ticket counts: in turns
        for (int first = 0; first < n; first += k_max_job) {
            const int count = std::min(k_max_job, n - first);
            run(count, [&](int i) { fn(first + i); });
        }
        return;
    }
    // The previous job is over (done_count_ reached its n): nobody can take from it any more.
    const unsigned g = (generation_.load() + 1) & 0xffffffu;
    slots_[g & 1].fn.store(&fn, std::memory_order_release);
    done_count_.store(0, std::memory_order_release);
    ticket_.store((uint64_t)g << (2 * k_bits) | (uint64_t)n << k_bits, std::memory_order_release);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.store(g, std::memory_order_release);
    }
    wake_.notify_all();
    work_on(g);
    for (int s = 0; s < k_spin && done_count_.load(std::memory_order_acquire) != n; ++s) {
    }
    if (done_count_.load(std::memory_order_acquire) != n) {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [&] { return done_count_.load() == n; });
    }
}

}  // namespace sam
