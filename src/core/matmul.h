// matmul.h - cache-blocked float32 matrix products for the decoder (simd.h vectors).
// C[M][N] = A[M][K] . B[K][N] (+ bias[N]) (+ C when accumulating), row-major with
// strides. B is first packed into 8-column panels (pack_b: B as stored; pack_bt: from
// its transpose, e.g. a weight W[out][in] gives B = W^T); weights are packed once.
//   sam::packed_b w = sam::pack_bt(W, in, out, in);  sam::gemm(M, x, in, w, y, out, bias, false, pool);
// A 6 x 8 register block (12 f32x4 accumulators): DESIGN.md measured it at 24 GFLOP/s in wasm.
#pragma once
#include <vector>

#include "core/parallel_for.h"

namespace sam {

struct packed_b {
    int k = 0, n = 0;          // B is k x n
    std::vector<float> data;   // panel p (columns 8p..8p+7, zero beyond n): data[p*k*8 + kk*8 + j];
                               // may be longer than panels() * k * 8 when the buffer is reused
    int panels() const { return (n + 7) / 8; }
};

// B[kk][j] = b[kk*ldb + j]: k x n.
packed_b pack_b(const float *b, int ldb, int k, int n);
// B[kk][j] = bt[j*ldbt + kk]: B is the transpose of the n x k matrix bt.
packed_b pack_bt(const float *bt, int ldbt, int k, int n);
// In place of a new allocation (the decoder reuses its buffers).
void pack_b_into(const float *b, int ldb, int k, int n, packed_b &out);
void pack_bt_into(const float *bt, int ldbt, int k, int n, packed_b &out);

// C = A . B (+ bias) (+ C if accumulate). Rows of C are split over pf's threads (or
// column panels when M is small); each element is summed in the same k order for any
// thread count: k in blocks of 256, each block from zero, added in turn. bias may be null.
void gemm(int m, const float *a, int lda, const packed_b &b, float *c, int ldc, const float *bias, bool accumulate,
          parallel_for *pf);

// A torch nn.Linear, ready for gemm: y = x W^T + b.
struct linear_layer {
    int in = 0, out = 0;
    packed_b wt;              // W^T: in x out
    std::vector<float> bias;  // out
};
// w: torch's weight [out][in]; b: [out].
linear_layer linear_from(const float *w, const float *b, int out, int in);
// y[rows][out] (row stride ldy) = x[rows][in] (row stride ldx) W^T + b.
void linear_forward(const linear_layer &l, const float *x, int rows, int ldx, float *y, int ldy, parallel_for *pf);

// The same product in plain loops, summed as gemm sums (in k blocks of 256; tests compare).
void gemm_reference(int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc,
                    const float *bias, bool accumulate);

}  // namespace sam
