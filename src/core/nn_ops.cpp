// nn_ops.cpp - see nn_ops.h.
#include "core/nn_ops.h"

#include <algorithm>
#include <cmath>

#include "core/simd.h"

namespace sam {

namespace {

using simd::f32x4;

// Splits [0, n) into chunks of at least `grain` items for the pool.
void for_chunks(parallel_for *pf, size_t n, size_t grain, const std::function<void(size_t, size_t)> &fn) {
    const int threads = pf ? pf->threads() : 1;
    if (threads <= 1 || n < 2 * grain) {
        fn(0, n);
        return;
    }
    const size_t chunks = std::min<size_t>(n / grain, (size_t)threads * 8);
    const size_t per = (n + chunks - 1) / chunks;
    parallel_run(pf, (int)((n + per - 1) / per), [&](int i) { fn(i * per, std::min(n, (i + 1) * per)); });
}

float row_sum(const float *x, int n) {
    f32x4 acc = simd::zero();
    int i = 0;
    for (; i + 4 <= n; i += 4) acc = acc + simd::load(x + i);
    float s = simd::hsum(acc);
    for (; i < n; ++i) s += x[i];
    return s;
}

void layer_norm_row(float *x, int n, const float *w, const float *b, float eps) {
    const float mean = row_sum(x, n) / (float)n;
    const f32x4 mv = simd::splat(mean);
    f32x4 acc = simd::zero();
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        const f32x4 d = simd::load(x + i) - mv;
        acc = acc + d * d;
    }
    float ss = simd::hsum(acc);
    for (; i < n; ++i) ss += (x[i] - mean) * (x[i] - mean);
    const float inv = 1.f / std::sqrt(ss / (float)n + eps);
    const f32x4 iv = simd::splat(inv);
    for (i = 0; i + 4 <= n; i += 4)
        simd::store(x + i, (simd::load(x + i) - mv) * iv * simd::load(w + i) + simd::load(b + i));
    for (; i < n; ++i) x[i] = (x[i] - mean) * inv * w[i] + b[i];
}

void softmax_row(float *x, int n, float divisor) {
    const f32x4 sv = simd::splat(divisor);
    f32x4 mx = simd::splat(-INFINITY);
    int i = 0;
    for (; i + 4 <= n; i += 4) mx = simd::max(mx, simd::load(x + i) / sv);
    float m = simd::hmax(mx);
    for (; i < n; ++i) m = std::max(m, x[i] / divisor);
    const f32x4 mv = simd::splat(m);
    f32x4 acc = simd::zero();
    for (i = 0; i + 4 <= n; i += 4) {
        const f32x4 e = simd::exp(simd::load(x + i) / sv - mv);
        simd::store(x + i, e);
        acc = acc + e;
    }
    float s = simd::hsum(acc);
    for (; i < n; ++i) {
        x[i] = simd::exp(x[i] / divisor - m);
        s += x[i];
    }
    const f32x4 inv = simd::splat(1.f / s);
    for (i = 0; i + 4 <= n; i += 4) simd::store(x + i, simd::load(x + i) * inv);
    for (; i < n; ++i) x[i] *= 1.f / s;
}

// Segments of `len` values (len <= k_seg_chunk) side by side in one row, each its own softmax:
// maxima per segment, then the exponentials of a whole chunk of segments as full vectors
// (a short segment alone would spend most of its exp lanes on its tail).
constexpr int k_seg_chunk = 256;

void softmax_segments_row(float *x, int segs, int len, float divisor) {
    const int per_chunk = k_seg_chunk / len;
    alignas(16) float shift[k_seg_chunk], scale[k_seg_chunk];
    for (int s0 = 0; s0 < segs; s0 += per_chunk) {
        const int ns = std::min(per_chunk, segs - s0), n = ns * len;
        float *y = x + (size_t)s0 * len;
        for (int s = 0; s < ns; ++s) {
            float m = -INFINITY;
            for (int i = 0; i < len; ++i) m = std::max(m, y[s * len + i] / divisor);
            for (int i = 0; i < len; ++i) shift[s * len + i] = m;
        }
        const f32x4 dv = simd::splat(divisor);
        int i = 0;
        for (; i + 4 <= n; i += 4) simd::store(y + i, simd::exp(simd::load(y + i) / dv - simd::load(shift + i)));
        for (; i < n; ++i) y[i] = simd::exp(y[i] / divisor - shift[i]);
        for (int s = 0; s < ns; ++s) {
            float sum = 0.f;
            for (int k = 0; k < len; ++k) sum += y[s * len + k];
            for (int k = 0; k < len; ++k) scale[s * len + k] = 1.f / sum;
        }
        for (i = 0; i + 4 <= n; i += 4) simd::store(y + i, simd::load(y + i) * simd::load(scale + i));
        for (; i < n; ++i) y[i] *= scale[i];
    }
}

}  // namespace

void softmax_segments(float *x, int rows, int segs, int len, float divisor, parallel_for *pf) {
    if (len > k_seg_chunk) {
        softmax_rows(x, rows * segs, len, len, divisor, pf);
        return;
    }
    for_chunks(pf, (size_t)rows, std::max(1, 16384 / std::max(segs * len, 1)), [&](size_t r0, size_t r1) {
        for (size_t r = r0; r < r1; ++r) softmax_segments_row(x + r * (size_t)segs * len, segs, len, divisor);
    });
}

void layer_norm_rows(float *x, int rows, int n, int ld, const float *weight, const float *bias, float eps,
                     parallel_for *pf) {
    for_chunks(pf, (size_t)rows, std::max(1, 16384 / std::max(n, 1)), [&](size_t r0, size_t r1) {
        for (size_t r = r0; r < r1; ++r) layer_norm_row(x + r * ld, n, weight, bias, eps);
    });
}

void softmax_rows(float *x, int rows, int n, int ld, float divisor, parallel_for *pf) {
    for_chunks(pf, (size_t)rows, std::max(1, 16384 / std::max(n, 1)), [&](size_t r0, size_t r1) {
        for (size_t r = r0; r < r1; ++r) softmax_row(x + r * ld, n, divisor);
    });
}

void gelu_inplace(float *x, size_t n, parallel_for *pf) {
    for_chunks(pf, n, 16384, [&](size_t i0, size_t i1) {
        size_t i = i0;
        for (; i + 4 <= i1; i += 4) simd::store(x + i, simd::gelu(simd::load(x + i)));
        for (; i < i1; ++i) x[i] = simd::gelu(x[i]);
    });
}

void relu_inplace(float *x, size_t n) {
    for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0.f ? x[i] : 0.f;
}

void add_arrays(const float *a, const float *b, float *y, size_t n, parallel_for *pf) {
    for_chunks(pf, n, 16384, [&](size_t i0, size_t i1) {
        size_t i = i0;
        for (; i + 4 <= i1; i += 4) simd::store(y + i, simd::load(a + i) + simd::load(b + i));
        for (; i < i1; ++i) y[i] = a[i] + b[i];
    });
}

}  // namespace sam
