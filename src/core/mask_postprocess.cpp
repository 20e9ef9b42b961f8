// mask_postprocess.cpp - see mask_postprocess.h.
#include "core/mask_postprocess.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/resize_longest_side.h"
#include "core/upsample_bilinear.h"
#include "core/upsample_blocks.h"

namespace sam {

namespace {

// A row cache of two slots keyed by source row index: output rows walk the
// source rows monotonically, so each source row is produced once.
struct row_pair_cache {
    int width = 0;
    int idx[2] = {-1, -1};
    std::vector<float> rows[2];

    explicit row_pair_cache(int w) : width(w) {
        rows[0].resize(w);
        rows[1].resize(w);
    }
    // Returns the row `r`, producing it with fill(r, dst) if absent, never
    // evicting row `keep`.
    template <class Fill>
    const float *get(int r, int keep, Fill &&fill) {
        for (int s = 0; s < 2; s++)
            if (idx[s] == r) return rows[s].data();
        int s = (idx[0] == keep) ? 1 : 0;
        fill(r, rows[s].data());
        idx[s] = r;
        return rows[s].data();
    }
};

// Streams the postprocessed logits row by row: row_out(Y) returns where to
// write output row Y (orig_w floats); done(Y) is called once it is written.
// Torch evaluates each output as (row y0 interpolated in x) * wy0 +
// (row y1 interpolated in x) * wy1, which this separable form reproduces.
template <class RowOut, class Done>
void postprocess_stream(const float *low_res, int input_h, int input_w, int orig_h, int orig_w, RowOut row_out,
                        Done done) {
    const int S = encoder_image_size, L = low_res_mask_size;
    bilinear_axis ax = make_bilinear_axis(L, S), ay = make_bilinear_axis(L, S);  // stage A, cropped by only using the first entries
    bilinear_axis bx = make_bilinear_axis(input_w, orig_w), by = make_bilinear_axis(input_h, orig_h);

    // Low-res rows interpolated along x to the crop width, produced on demand.
    std::vector<float> lowx((size_t)L * input_w);
    std::vector<char> have_lowx(L, 0);
    auto lowx_row = [&](int r) -> const float * {
        float *d = &lowx[(size_t)r * input_w];
        if (!have_lowx[r]) {
            const float *s = low_res + (size_t)r * L;
            for (int x = 0; x < input_w; x++) d[x] = s[ax.i0[x]] * ax.w0[x] + s[ax.i1[x]] * ax.w1[x];
            have_lowx[r] = 1;
        }
        return d;
    };

    std::vector<float> a_row(input_w);
    // Row y of the cropped 1024 image, then interpolated along x to orig_w.
    auto fill_b = [&](int y, float *dst) {
        const float *r0 = lowx_row(ay.i0[y]);
        const float *r1 = lowx_row(ay.i1[y]);
        const float w0 = ay.w0[y], w1 = ay.w1[y];
        for (int x = 0; x < input_w; x++) a_row[x] = r0[x] * w0 + r1[x] * w1;
        const int *i0 = bx.i0.data(), *i1 = bx.i1.data();
        const float *v0 = bx.w0.data(), *v1 = bx.w1.data();
        for (int X = 0; X < orig_w; X++) dst[X] = a_row[i0[X]] * v0[X] + a_row[i1[X]] * v1[X];
    };

    row_pair_cache cache(orig_w);
    for (int Y = 0; Y < orig_h; Y++) {
        const int y0 = by.i0[Y], y1 = by.i1[Y];
        const float *t0 = cache.get(y0, y1, fill_b);
        const float *t1 = cache.get(y1, y0, fill_b);
        const float w0 = by.w0[Y], w1 = by.w1[Y];
        float *o = row_out(Y);
        for (int X = 0; X < orig_w; X++) o[X] = t0[X] * w0 + t1[X] * w1;
        done(Y);
    }
}

}  // namespace

void postprocess_masks(const float *low_res, int input_h, int input_w, int orig_h, int orig_w, float *out) {
    postprocess_stream(
        low_res, input_h, input_w, orig_h, orig_w, [&](int Y) { return out + (size_t)Y * orig_w; }, [](int) {});
}

binary_mask postprocess_to_mask(const float *low_res, int input_h, int input_w, int orig_h, int orig_w,
                                float mask_threshold) {
    binary_mask m(orig_w, orig_h);
    std::vector<float> row(orig_w);
    postprocess_stream(
        low_res, input_h, input_w, orig_h, orig_w, [&](int) { return row.data(); },
        [&](int Y) {
            uint8_t *d = &m.data[(size_t)Y * orig_w];
            for (int X = 0; X < orig_w; X++) d[X] = row[X] > mask_threshold ? 1 : 0;
        });
    return m;
}

rle postprocess_to_rle(const float *low_res, int input_h, int input_w, int orig_h, int orig_w, float mask_threshold) {
    const upsample_plan p = make_plan(image_shape{input_h, input_w}, orig_h, orig_w);
    lowx_cache lx;
    lx.reset(low_res, input_w);
    const float m = block_margin(low_res, p), above = mask_threshold + m, below = mask_threshold - m;
    const int L = low_res_mask_size;
    // Per row run and low-res column: 1 all above, 0 all below, 2 undecided; then per block
    // (row run x column run) the same over the block's columns.
    const size_t R = p.row_runs.size(), C = p.col_runs.size();
    std::vector<uint8_t> column_code(p.n_cols), block((size_t)R * C);
    for (size_t r = 0; r < R; r++) {
        const upsample_plan::span &rr = p.row_runs[r];
        for (int c = 0; c < p.n_cols; c++) {
            float mn = low_res[rr.lo * L + c], mx = mn;
            bool nan = std::isnan(mn);
            for (int y = rr.lo + 1; y <= rr.hi; y++) {
                const float v = low_res[y * L + c];
                nan |= std::isnan(v);
                mn = std::min(mn, v);
                mx = std::max(mx, v);
            }
            // A NaN makes its pixels NaN (never above the threshold): computed, as the rest.
            column_code[c] = nan ? 2 : mn > above ? 1 : mx < below ? 0 : 2;
        }
        for (size_t k = 0; k < C; k++) {
            const upsample_plan::span &cs = p.col_runs[k];
            uint8_t v = column_code[cs.lo];
            for (int c = cs.lo + 1; c <= cs.hi; c++)
                if (column_code[c] != v) v = 2;
            block[r * C + k] = v;
        }
    }
    // Undecided pixels cost ~10x a streamed one: a noisy mask (a random decoder's) is
    // faster thresholded whole and encoded from the mask.
    size_t undecided = 0;
    for (size_t r = 0; r < R; r++)
        for (size_t k = 0; k < C; k++)
            if (block[r * C + k] == 2)
                undecided += (size_t)(p.row_runs[r].end - p.row_runs[r].begin) * (p.col_runs[k].end - p.col_runs[k].begin);
    if (undecided * 10 > (size_t)orig_h * orig_w)
        return mask_to_rle(postprocess_to_mask(low_res, input_h, input_w, orig_h, orig_w, mask_threshold));

    rle out;
    out.height = orig_h;
    out.width = orig_w;
    uint8_t cur = 0;  // runs start with zeros
    uint32_t run = 0;
    auto put = [&](uint8_t v, uint32_t n) {
        if (v != cur) {
            out.counts.push_back(run);
            cur = v;
            run = 0;
        }
        run += n;
    };
    for (size_t k = 0; k < C; k++) {
        const upsample_plan::span &cs = p.col_runs[k];
        for (int X = cs.begin; X < cs.end; X++)
            for (size_t r = 0; r < R; r++) {
                const upsample_plan::span &rr = p.row_runs[r];
                const uint8_t v = block[r * C + k];
                if (v != 2) {
                    put(v, (uint32_t)(rr.end - rr.begin));
                    continue;
                }
                for (int Y = rr.begin; Y < rr.end; Y++) put(upsampled_at(lx, p, Y, X) > mask_threshold ? 1 : 0, 1);
            }
    }
    out.counts.push_back(run);
    return out;
}

float calculate_stability_score(const float *logits, size_t n, float mask_threshold, float threshold_offset) {
    // torch compares float32 logits with the Python-float thresholds cast to float32.
    const float hi = (float)((double)mask_threshold + (double)threshold_offset);
    const float lo = (float)((double)mask_threshold - (double)threshold_offset);
    int64_t inter = 0, uni = 0;
    for (size_t i = 0; i < n; i++) {
        inter += logits[i] > hi;
        uni += logits[i] > lo;
    }
    return (float)inter / (float)uni;
}

int64_t mask_area(const binary_mask &m) {
    int64_t a = 0;
    for (uint8_t v : m.data) a += v != 0;
    return a;
}

box_xyxy mask_to_box(const binary_mask &m) {
    int x0 = m.width, y0 = m.height, x1 = -1, y1 = -1;
    for (int y = 0; y < m.height; y++) {
        const uint8_t *r = &m.data[(size_t)y * m.width];
        int first = -1, last = -1;
        for (int x = 0; x < m.width; x++)
            if (r[x]) {
                if (first < 0) first = x;
                last = x;
            }
        if (first < 0) continue;
        if (y < y0) y0 = y;
        y1 = y;
        x0 = std::min(x0, first);
        x1 = std::max(x1, last);
    }
    box_xyxy b;
    if (x1 < 0) return b;  // empty: official returns zeros
    b.x0 = x0;
    b.y0 = y0;
    b.x1 = x1;
    b.y1 = y1;
    return b;
}

box_xywh mask_to_coco_bbox(const binary_mask &m) {
    box_xywh r;
    if (mask_area(m) == 0) return r;
    box_xyxy b = mask_to_box(m);
    r.x = b.x0;
    r.y = b.y0;
    r.w = b.x1 - b.x0 + 1;
    r.h = b.y1 - b.y0 + 1;
    return r;
}

}  // namespace sam
