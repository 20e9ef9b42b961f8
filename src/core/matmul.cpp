// matmul.cpp - see matmul.h. Blocking: k in blocks of 256; rows in blocks of 72
// (12 groups of 6, packed); for a row block, each 8-column panel of B (256 x 8 floats, L1)
// meets every 6-row group of A (72 x 256 floats, L2).
#include "core/matmul.h"

#include <algorithm>
#include <cstring>

#include "core/simd.h"

namespace sam {

namespace {

using simd::f32x4;

constexpr int k_mr = 6, k_nr = 8, k_kc = 256, k_mc = 72;
// Below this many multiply-adds a product is not worth waking other threads for.
constexpr double k_parallel_min_work = 1 << 20;

enum class start { zero, bias, load, add };  // add: sum this k block from zero, then add it to C

// a: the row group packed as [kc][6] (a[k*6 + r]), so the 6 broadcasts of one k step read
// one 24-byte run at constant offsets (in WebAssembly, row-strided reads cost three integer
// instructions each).
template <int MR>
void kernel(int kc, const float *a, const float *bp, float *c, int ldc, int nr, start from, const float *bias8) {
    f32x4 acc0[MR], acc1[MR];
    float tmp[MR][k_nr];
    const bool full = nr == k_nr;
    if ((from == start::load || from == start::add) && !full)
        for (int r = 0; r < MR; ++r) {
            std::memset(tmp[r], 0, sizeof tmp[r]);
            std::memcpy(tmp[r], c + (size_t)r * ldc, sizeof(float) * nr);
        }
    for (int r = 0; r < MR; ++r) {
        if (from == start::load) {
            const float *src = full ? c + (size_t)r * ldc : tmp[r];
            acc0[r] = simd::load(src);
            acc1[r] = simd::load(src + 4);
        } else if (from == start::bias) {
            acc0[r] = simd::load(bias8);
            acc1[r] = simd::load(bias8 + 4);
        } else {
            acc0[r] = simd::zero();
            acc1[r] = simd::zero();
        }
    }
    for (int k = 0; k < kc; ++k, a += k_mr, bp += k_nr) {
        const f32x4 b0 = simd::load(bp), b1 = simd::load(bp + 4);
        for (int r = 0; r < MR; ++r) {
            const f32x4 av = simd::splat(a[r]);
            acc0[r] = acc0[r] + av * b0;
            acc1[r] = acc1[r] + av * b1;
        }
    }
    for (int r = 0; r < MR; ++r) {
        float *dst = full ? c + (size_t)r * ldc : tmp[r];
        if (from == start::add) {
            acc0[r] = simd::load(dst) + acc0[r];
            acc1[r] = simd::load(dst + 4) + acc1[r];
        }
        simd::store(dst, acc0[r]);
        simd::store(dst + 4, acc1[r]);
        if (!full) std::memcpy(c + (size_t)r * ldc, tmp[r], sizeof(float) * nr);
    }
}

void run_kernel(int mr, int kc, const float *a, const float *bp, float *c, int ldc, int nr, start from,
                const float *bias8) {
    switch (mr) {
    case 6: kernel<6>(kc, a, bp, c, ldc, nr, from, bias8); break;
    case 5: kernel<5>(kc, a, bp, c, ldc, nr, from, bias8); break;
    case 4: kernel<4>(kc, a, bp, c, ldc, nr, from, bias8); break;
    case 3: kernel<3>(kc, a, bp, c, ldc, nr, from, bias8); break;
    case 2: kernel<2>(kc, a, bp, c, ldc, nr, from, bias8); break;
    default: kernel<1>(kc, a, bp, c, ldc, nr, from, bias8); break;
    }
}

// Rows [r0, r1) x columns [k0, k0 + kc) of A as groups of 6 rows, each [kc][6] (rows past
// r1 are zero: their results are never stored).
void pack_a(const float *a, int lda, int r0, int r1, int k0, int kc, float *out) {
    for (int g = r0; g < r1; g += k_mr) {
        float *dst = out + (size_t)(g - r0) * kc;
        for (int r = 0; r < k_mr; ++r) {
            if (g + r < r1) {
                const float *src = a + (size_t)(g + r) * lda + k0;
                for (int k = 0; k < kc; ++k) dst[k * k_mr + r] = src[k];
            } else {
                for (int k = 0; k < kc; ++k) dst[k * k_mr + r] = 0.f;
            }
        }
    }
}

// Rows [r0, r1) x panels [p0, p1) of C.
void gemm_tile(int r0, int r1, int p0, int p1, const float *a, int lda, const packed_b &b, float *c, int ldc,
               const float *bias, bool accumulate) {
    const int k = b.k;
    alignas(16) float apack[k_mc * k_kc];  // 72 KB: the stack, so that pool threads never allocate
    for (int ic = r0; ic < r1; ic += k_mc) {
        const int ie = std::min(ic + k_mc, r1);
        for (int kb = 0; kb < k || (k == 0 && kb == 0); kb += k_kc) {
            const int kc = std::min(k_kc, k - kb);
            pack_a(a, lda, ic, ie, kb, kc, apack);
            // Each k block of 256 is summed on its own and then added: a long product (k = 4096
            // image tokens) rounds like 16 sums of 256, not like one sum of 4096.
            const start from = kb > 0 ? start::add : accumulate ? start::load : bias ? start::bias : start::zero;
            for (int p = p0; p < p1; ++p) {
                const int nr = std::min(k_nr, b.n - p * k_nr);
                float bias8[k_nr] = {};
                if (from == start::bias) std::memcpy(bias8, bias + p * k_nr, sizeof(float) * nr);
                const float *bp = b.data.data() + (size_t)p * k * k_nr + (size_t)kb * k_nr;
                for (int ir = ic; ir < ie; ir += k_mr)
                    run_kernel(std::min(k_mr, ie - ir), kc, apack + (size_t)(ir - ic) * kc, bp,
                               c + (size_t)ir * ldc + p * k_nr, ldc, nr, from, bias8);
            }
            if (k == 0) break;
        }
    }
}

}  // namespace

// B[kk][j] = base[kk * step_k + j * step_j], zero-padded to whole panels. When B's rows are
// contiguous (step_j 1), each whole panel row is one 8-float copy.
void pack_strided(const float *base, size_t step_k, size_t step_j, int k, int n, packed_b &out) {
    out.k = k;
    out.n = n;
    // Only ever grown: a reused buffer that shrank would be zero-filled again when it grows
    // back (resize value-initialises), 4 MB per decode for the image-side panels.
    const size_t need = (size_t)out.panels() * k * k_nr;
    if (out.data.size() < need) out.data.resize(need);
    for (int p = 0; p < out.panels(); ++p) {
        const int nr = std::min(k_nr, n - p * k_nr);
        float *dst = out.data.data() + (size_t)p * k * k_nr;
        const float *src = base + (size_t)p * k_nr * step_j;
        for (int kk = 0; kk < k; ++kk, dst += k_nr, src += step_k) {
            if (step_j == 1 && nr == k_nr) {
                simd::store(dst, simd::load(src));
                simd::store(dst + 4, simd::load(src + 4));
            } else {
                for (int j = 0; j < k_nr; ++j) dst[j] = j < nr ? src[j * step_j] : 0.f;
            }
        }
    }
}

void pack_b_into(const float *b, int ldb, int k, int n, packed_b &out) { pack_strided(b, ldb, 1, k, n, out); }

void pack_bt_into(const float *bt, int ldbt, int k, int n, packed_b &out) { pack_strided(bt, 1, ldbt, k, n, out); }

packed_b pack_b(const float *b, int ldb, int k, int n) {
    packed_b out;
    pack_b_into(b, ldb, k, n, out);
    return out;
}

packed_b pack_bt(const float *bt, int ldbt, int k, int n) {
    packed_b out;
    pack_bt_into(bt, ldbt, k, n, out);
    return out;
}

void gemm(int m, const float *a, int lda, const packed_b &b, float *c, int ldc, const float *bias, bool accumulate,
          parallel_for *pf) {
    if (m <= 0 || b.n <= 0) return;
    const int panels = b.panels();
    const double work = (double)m * b.n * b.k;
    const int threads = pf && work >= k_parallel_min_work ? pf->threads() : 1;
    if (threads <= 1) {
        gemm_tile(0, m, 0, panels, a, lda, b, c, ldc, bias, accumulate);
        return;
    }
    const int row_blocks = (m + k_mc - 1) / k_mc;
    if (row_blocks >= 2 * threads) {
        parallel_run(pf, row_blocks, [&](int i) {
            gemm_tile(i * k_mc, std::min(m, (i + 1) * k_mc), 0, panels, a, lda, b, c, ldc, bias, accumulate);
        });
    } else {
        // Few rows (prompt tokens against image tokens): split the columns instead.
        const int per = std::max(1, panels / (4 * threads));
        const int tasks = (panels + per - 1) / per;
        parallel_run(pf, tasks, [&](int i) {
            gemm_tile(0, m, i * per, std::min(panels, (i + 1) * per), a, lda, b, c, ldc, bias, accumulate);
        });
    }
}

linear_layer linear_from(const float *w, const float *b, int out, int in) {
    linear_layer l;
    l.in = in;
    l.out = out;
    pack_bt_into(w, in, in, out, l.wt);
    l.bias.assign(b, b + out);
    return l;
}

void linear_forward(const linear_layer &l, const float *x, int rows, int ldx, float *y, int ldy, parallel_for *pf) {
    gemm(rows, x, ldx, l.wt, y, ldy, l.bias.data(), false, pf);
}

void gemm_reference(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                    const float *bias, bool accumulate) {
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
            float s = accumulate ? c[(size_t)i * ldc + j] : bias ? bias[j] : 0.f;
            for (int kb = 0; kb < k; kb += k_kc) {
                float block = kb == 0 ? s : 0.f;
                for (int kk = kb; kk < std::min(k, kb + k_kc); ++kk)
                    block = block + a[(size_t)i * lda + kk] * b[(size_t)kk * ldb + j];
                s = kb == 0 ? block : s + block;
            }
            c[(size_t)i * ldc + j] = s;
        }
}

}  // namespace sam
