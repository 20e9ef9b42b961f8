// parallel_for.h - the decoder's optional threading hook: run(n, fn) calls fn(i) for
// every i in [0, n), spread over threads(), and returns when all calls are done.
// The core never starts threads itself; thread_pool.h is the std::thread version
// (natively, and in the pthread WebAssembly build). Work is split by output rows or
// columns only, so results are bit-identical for any thread count.
//   sam::thread_pool pool(2); decoder.set_parallel(&pool);
#pragma once
#include <functional>

namespace sam {

class parallel_for {
public:
    virtual ~parallel_for() = default;
    virtual int threads() const = 0;
    virtual void run(int n, const std::function<void(int)> &fn) = 0;
};

// fn(0..n-1) on pf, or inline when pf is null, single-threaded or n <= 1.
inline void parallel_run(parallel_for *pf, int n, const std::function<void(int)> &fn) {
    if (!pf || pf->threads() <= 1 || n <= 1) {
        for (int i = 0; i < n; ++i) fn(i);
        return;
    }
    pf->run(n, fn);
}

}  // namespace sam
