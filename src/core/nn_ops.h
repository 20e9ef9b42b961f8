// nn_ops.h - the decoder's row and elementwise operations on float32 row-major
// arrays (simd.h vectors): LayerNorm over each row (nn.LayerNorm and SAM's
// LayerNorm2d on channel-last data), softmax over each row, GELU (exact erf), ReLU.
//   sam::layer_norm_rows(x, rows, n, ld, weight, bias, 1e-5f, pool);   // in place
// Rows may be split over a parallel_for; each row is computed the same either way.
#pragma once
#include <cstddef>

#include "core/parallel_for.h"

namespace sam {

// x[r][:n] <- (x - mean) / sqrt(var + eps) * weight + bias (biased variance, two passes).
void layer_norm_rows(float *x, int rows, int n, int ld, const float *weight, const float *bias, float eps,
                     parallel_for *pf);
// x[r][:n] <- softmax(x[r][:n] / divisor) (attention's scores / sqrt(head width), as torch divides).
void softmax_rows(float *x, int rows, int n, int ld, float divisor, parallel_for *pf);
// Each row holds `segs` segments of `len` values, each softmaxed on its own (as softmax_rows
// on rows * segs rows of len; attention of image tokens over a few prompt tokens, per head).
void softmax_segments(float *x, int rows, int segs, int len, float divisor, parallel_for *pf);
void gelu_inplace(float *x, size_t n, parallel_for *pf);
void relu_inplace(float *x, size_t n);
// y[i] = a[i] + b[i]
void add_arrays(const float *a, const float *b, float *y, size_t n, parallel_for *pf);

}  // namespace sam
