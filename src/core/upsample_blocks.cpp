#include "core/upsample_blocks.h"

#include <algorithm>
#include <cmath>

#include "core/mask_postprocess.h"

namespace sam {

namespace {

std::vector<upsample_plan::span> make_runs(const std::vector<int> &lo, const std::vector<int> &hi) {
    std::vector<upsample_plan::span> runs;
    for (int i = 0; i < (int)lo.size();) {
        int j = i + 1;
        while (j < (int)lo.size() && lo[j] == lo[i] && hi[j] == hi[i]) j++;
        runs.push_back({i, j, lo[i], hi[i]});
        i = j;
    }
    return runs;
}

void plan_ranges(const bilinear_axis &a, const bilinear_axis &b, int n, std::vector<int> &lo, std::vector<int> &hi) {
    lo.resize(n);
    hi.resize(n);
    for (int X = 0; X < n; X++) {
        const int x0 = b.i0[X], x1 = b.i1[X];
        lo[X] = std::min(std::min(a.i0[x0], a.i1[x0]), std::min(a.i0[x1], a.i1[x1]));
        hi[X] = std::max(std::max(a.i0[x0], a.i1[x0]), std::max(a.i0[x1], a.i1[x1]));
    }
}

}  // namespace

// SAM 1: low-res -> 1024 frame, crop to the resized input, -> crop size. SAM 2.1 resizes
// 256 -> crop size at once: its plan is the first stage to the crop size and an identity
// second stage (equal sizes copy, w0 = 1, w1 = 0: the same floats as one stage).
upsample_plan make_plan(image_shape input, int out_h, int out_w, preprocess_kind preprocess) {
    upsample_plan p;
    if (preprocess == preprocess_kind::square_1024) {
        p.ax = make_bilinear_axis(low_res_mask_size, out_w);
        p.ay = make_bilinear_axis(low_res_mask_size, out_h);
        input = image_shape{out_h, out_w};
    } else {
        p.ax = make_bilinear_axis(low_res_mask_size, encoder_image_size);
        p.ay = p.ax;
    }
    p.bx = make_bilinear_axis(input.width, out_w);
    p.by = make_bilinear_axis(input.height, out_h);
    plan_ranges(p.ax, p.bx, out_w, p.col_lo, p.col_hi);
    plan_ranges(p.ay, p.by, out_h, p.row_lo, p.row_hi);
    p.out_h = out_h;
    p.out_w = out_w;
    p.in_w = input.width;
    p.row_runs = make_runs(p.row_lo, p.row_hi);
    p.col_runs = make_runs(p.col_lo, p.col_hi);
    p.n_cols = p.col_hi.empty() ? 0 : p.col_hi.back() + 1;
    return p;
}

void lowx_cache::reset(const float *low_res, int input_w) {
    s = low_res;
    width = input_w;
    rows.resize((size_t)low_res_mask_size * input_w);
    have.assign(low_res_mask_size, 0);
}

const float *lowx_cache::row(int r, const bilinear_axis &ax) {
    float *d = &rows[(size_t)r * width];
    if (!have[r]) {
        const float *src = s + (size_t)r * low_res_mask_size;
        for (int x = 0; x < width; x++) d[x] = src[ax.i0[x]] * ax.w0[x] + src[ax.i1[x]] * ax.w1[x];
        have[r] = 1;
    }
    return d;
}

float block_margin(const float *s, const upsample_plan &p) {
    const int L = low_res_mask_size;
    float vmax = 0.f;
    const int n_rows = p.row_runs.empty() ? 0 : p.row_runs.back().hi + 1;
    for (int y = 0; y < n_rows; y++)
        for (int c = 0; c < p.n_cols; c++) vmax = std::max(vmax, std::fabs(s[y * L + c]));
    return 1e-4f * (vmax + 1.f);
}

}  // namespace sam
