// Tests of the decoder's SIMD layer and kernels (simd.h, matmul.h, nn_ops.h): exp, erf
// and GELU against double-precision references over dense grids; the blocked gemm equal
// bit for bit to plain loops (same summation order) for awkward sizes and any thread count.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <random>
#include <vector>

#include "core/matmul.h"
#include "core/nn_ops.h"
#include "core/simd.h"
#include "core/thread_pool.h"

#include <atomic>
#include <chrono>
#include <thread>

TEST_CASE("simd: erf within 1.5e-7 of the exact value, GELU as torch's exact GELU") {
    double worst_erf = 0, worst_gelu = 0;
    for (int i = -1200000; i <= 1200000; ++i) {
        const float x = (float)i * 1e-5f;  // [-12, 12]
        worst_erf = std::max(worst_erf, std::fabs((double)sam::simd::erf(x) - std::erf((double)x)));
        const double g = 0.5 * (double)x * std::erfc(-(double)x / std::sqrt(2.0));
        worst_gelu = std::max(worst_gelu, std::fabs((double)sam::simd::gelu(x) - g) / std::max(1.0, std::fabs((double)x)));
    }
    MESSAGE("erf max abs error " << worst_erf << ", GELU max error / max(1,|x|) " << worst_gelu);
    CHECK(worst_erf < 1.5e-7);
    CHECK(worst_gelu < 2e-7);
    CHECK(sam::simd::erf(100.f) == 1.f);
    CHECK(sam::simd::erf(-1e30f) == -1.f);
    CHECK(sam::simd::gelu(-30.f) == doctest::Approx(0.0).epsilon(1e-30));
    // The tanh approximation differs by up to ~1e-3 near |x| = 2: it must not be what we do.
    const float x = 2.f, tanh_gelu = 0.5f * x * (1.f + std::tanh(0.7978845608f * (x + 0.044715f * x * x * x)));
    CHECK(std::fabs(sam::simd::gelu(x) - tanh_gelu) > 1e-5f);
}

TEST_CASE("simd: exp within 2 ulp on the softmax range") {
    double worst = 0;
    for (int i = -873000; i <= 880000; ++i) {
        const float x = (float)i * 1e-4f;
        const double want = std::exp((double)x);
        worst = std::max(worst, std::fabs((double)sam::simd::exp(x) - want) / want);
    }
    MESSAGE("exp max relative error " << worst);
    CHECK(worst < 2.5e-7);
    CHECK(sam::simd::exp(0.f) == 1.f);
    CHECK(sam::simd::exp(-1000.f) < 1.3e-38f);
}

TEST_CASE("gemm: equal to plain loops bit for bit, any shape, any thread count") {
    std::mt19937 rng(5);
    std::normal_distribution<float> dist;
    sam::thread_pool pool(3);
    for (auto [m, n, k] : {std::array<int, 3>{1, 1, 1}, {13, 19, 300}, {73, 8, 257}, {300, 130, 64}, {7, 2048, 256}, {5, 3, 0}}) {
        CAPTURE(m);
        CAPTURE(n);
        CAPTURE(k);
        std::vector<float> a((size_t)m * (k + 3)), b((size_t)k * (n + 1)), bias(n), c0((size_t)m * (n + 2));
        for (float &v : a) v = dist(rng);
        for (float &v : b) v = dist(rng);
        for (float &v : bias) v = dist(rng);
        for (float &v : c0) v = dist(rng);
        const sam::packed_b pb = sam::pack_b(b.data(), n + 1, k, n);
        std::vector<float> bt((size_t)n * k);
        for (int j = 0; j < n; ++j)
            for (int kk = 0; kk < k; ++kk) bt[(size_t)j * k + kk] = b[(size_t)kk * (n + 1) + j];
        CHECK(sam::pack_bt(bt.data(), k, k, n).data == pb.data);
        for (int mode = 0; mode < 3; ++mode) {
            const float *bp = mode == 1 ? bias.data() : nullptr;
            const bool acc = mode == 2;
            std::vector<float> want = c0, got1 = c0, got3 = c0;
            sam::gemm_reference(m, n, k, a.data(), k + 3, b.data(), n + 1, want.data(), n + 2, bp, acc);
            sam::gemm(m, a.data(), k + 3, pb, got1.data(), n + 2, bp, acc, nullptr);
            sam::gemm(m, a.data(), k + 3, pb, got3.data(), n + 2, bp, acc, &pool);
            CHECK(got1 == want);  // padding columns (n..n+1) untouched too
            CHECK(got3 == want);
        }
    }
}

TEST_CASE("layer_norm_rows and softmax_rows against double references") {
    std::mt19937 rng(6);
    std::normal_distribution<float> dist(0.5f, 2.f);
    const int rows = 9, n = 37;
    std::vector<float> x((size_t)rows * n), w(n), b(n);
    for (float &v : x) v = dist(rng);
    for (int i = 0; i < n; ++i) w[i] = dist(rng), b[i] = dist(rng);
    std::vector<float> ln = x, sm = x;
    sam::layer_norm_rows(ln.data(), rows, n, n, w.data(), b.data(), 1e-5f, nullptr);
    sam::softmax_rows(sm.data(), rows, n, n, 3.f, nullptr);
    for (int r = 0; r < rows; ++r) {
        double mean = 0, var = 0, mx = -1e30, sum = 0;
        for (int i = 0; i < n; ++i) mean += x[r * n + i] / (double)n;
        for (int i = 0; i < n; ++i) var += (x[r * n + i] - mean) * (x[r * n + i] - mean) / n;
        for (int i = 0; i < n; ++i) mx = std::max(mx, x[r * n + i] / 3.0);
        for (int i = 0; i < n; ++i) sum += std::exp(x[r * n + i] / 3.0 - mx);
        for (int i = 0; i < n; ++i) {
            CHECK(ln[r * n + i] == doctest::Approx((x[r * n + i] - mean) / std::sqrt(var + 1e-5) * w[i] + b[i]).epsilon(1e-5));
            CHECK(sm[r * n + i] == doctest::Approx(std::exp(x[r * n + i] / 3.0 - mx) / sum).epsilon(1e-6));
        }
    }
}

TEST_CASE("softmax_segments equals softmax_rows on each segment") {
    std::mt19937 rng(8);
    std::normal_distribution<float> dist(0.f, 30.f);
    for (int len : {1, 3, 7, 13, 64, 300}) {
        const int rows = 5, segs = 8;
        std::vector<float> x((size_t)rows * segs * len);
        for (float &v : x) v = dist(rng);
        std::vector<float> a = x, b = x;
        sam::softmax_segments(a.data(), rows, segs, len, 4.f, nullptr);
        sam::softmax_rows(b.data(), rows * segs, len, len, 4.f, nullptr);
        for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(2e-6));
    }
}

TEST_CASE("thread_pool: every index of every job runs exactly once, whoever wakes late") {
    sam::thread_pool pool(3);
    std::vector<std::atomic<int>> hits(300);
    std::mt19937 rng(10);
    for (int job = 0; job < 3000; ++job) {
        const int n = 1 + (int)(rng() % 300);
        for (int i = 0; i < n; ++i) hits[i].store(0);
        const bool slow = job % 7 == 0;  // some tasks take long enough for the workers to sleep
        pool.run(n, [&](int i) {
            hits[i].fetch_add(1);
            if (slow && i == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
        });
        int bad = 0;
        for (int i = 0; i < n; ++i) bad += hits[i].load() != 1;
        REQUIRE_MESSAGE(bad == 0, "job " << job);
    }
    // More indices than one ticket counts run in turns.
    std::atomic<long> sum{0};
    pool.run(1 << 21, [&](int i) { sum.fetch_add(i % 3); });
    long want = 0;
    for (int i = 0; i < (1 << 21); ++i) want += i % 3;
    CHECK(sum.load() == want);
}
