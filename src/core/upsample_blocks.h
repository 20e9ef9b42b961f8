// upsample_blocks.h - Sam.postprocess_masks (256 -> 1024 bilinear, crop, -> original
// size bilinear) seen block by block, internal to src/core: each output pixel is a
// convex combination of at most 3 x 3 neighbouring low-res logits, and output rows
// (columns) come in runs that read the same low-res rows (columns). Where all the
// logits a block reads lie clearly on one side of a threshold, every pixel of the
// block does too; only blocks that straddle it need their pixels computed, with
// exactly the float operations of postprocess_masks (upsampled_at). Users: the exact
// stability score of the mask generator, postprocess_to_rle (mask_postprocess.h).
#pragma once
#include <cstdint>
#include <vector>

#include "core/model_spec.h"
#include "core/resize_longest_side.h"
#include "core/upsample_bilinear.h"

namespace sam {

// The axes of one crop: low-res -> 1024 frame (a*) and resized crop -> crop pixels (b*),
// plus for each output row/column the range of low-res rows/columns it reads.
struct upsample_plan {
    bilinear_axis ax, ay, bx, by;
    std::vector<int> col_lo, col_hi, row_lo, row_hi;
    int out_h = 0, out_w = 0, in_w = 0;
    // Maximal runs of output rows / columns that read the same low-res rows / columns.
    struct span {
        int begin, end, lo, hi;
    };
    std::vector<span> row_runs, col_runs;
    int n_cols = 0;  // low-res columns read at all
};

// `input` is the resized image inside the 1024 frame; out_h x out_w the original size.
// SAM 2.1 (square_1024): one bilinear resize 256 -> out_h x out_w, `input` unused.
upsample_plan make_plan(image_shape input, int out_h, int out_w,
                        preprocess_kind preprocess = preprocess_kind::longest_side_1024);

// Low-res rows interpolated along x to the resized width, made on demand per mask
// (postprocess_masks' first pass).
struct lowx_cache {
    int width = 0;
    std::vector<float> rows;
    std::vector<char> have;
    const float *s = nullptr;

    void reset(const float *low_res, int input_w);
    const float *row(int r, const bilinear_axis &ax);
};

// One postprocessed logit, with postprocess_masks' operations in its order.
inline float upsampled_at(lowx_cache &lx, const upsample_plan &p, int Y, int X) {
    auto a = [&](int y, int x) {
        return lx.row(p.ay.i0[y], p.ax)[x] * p.ay.w0[y] + lx.row(p.ay.i1[y], p.ax)[x] * p.ay.w1[y];
    };
    auto t = [&](int y) { return a(y, p.bx.i0[X]) * p.bx.w0[X] + a(y, p.bx.i1[X]) * p.bx.w1[X]; };
    return t(p.by.i0[Y]) * p.by.w0[Y] + t(p.by.i1[Y]) * p.by.w1[Y];
}

// A margin far beyond the rounding of the three interpolation stages (a few ulp of the
// largest input): 1e-4 of the largest magnitude the plan reads (+1).
float block_margin(const float *low_res, const upsample_plan &p);

}  // namespace sam
