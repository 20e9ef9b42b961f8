// rle.h - COCO run-length encoding of binary masks (pycocotools maskApi.c semantics).
// rle.counts are alternating runs of 0s and 1s over the mask in COLUMN-MAJOR (Fortran)
// order, starting with 0s (counts[0] may be 0); they sum to height*width. Masks are
// sam::binary_mask (HxW, row-major, 0/1). Usage: rle r = mask_to_rle(m);
// std::string s = rle_to_string(r); rle_from_string(s, h, w, r2) -> status.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/status.h"

namespace sam {

struct rle {
    int height = 0;
    int width = 0;
    std::vector<uint32_t> counts;  // column-major runs, zeros first, sum == height*width
};

// Same runs as pycocotools.mask.encode(np.asfortranarray(m)): all zeros gives {h*w}, all
// ones {0, h*w}, a 0-pixel mask {0}. Any non-zero byte counts as 1.
rle mask_to_rle(const binary_mask &m);

// Inverse of mask_to_rle. Expects a valid rle (counts sum to height*width); runs past the
// end are clipped rather than written out of bounds.
binary_mask rle_to_mask(const rle &r);

// COCO compressed counts string (maskApi.c rleToString): each count, after i > 2 as the
// difference from counts[i-2], in 5-bit little-endian groups with a continuation bit,
// offset by 48 into printable ASCII. Byte-identical to pycocotools.
std::string rle_to_string(const rle &r);

// Parses a compressed counts string (maskApi.c rleFrString) for a height x width mask.
// Refuses (with a message) truncated or out-of-range characters, negative or overflowing
// counts and counts that do not sum to height*width. `out` is only written on success.
status rle_from_string(const std::string &s, int height, int width, rle &out);

// Number of 1 pixels (sum of the odd runs).
uint64_t rle_area(const rle &r);

// Tight box around the 1 pixels as COCO bbox [x, y, w, h] in pixels (maskApi.c rleToBbox:
// x, y the first column/row touched, w/h covering through the last one; a run of ones
// that wraps to the next column spans all rows, as there); all zeros for an empty mask.
// Unlike rleToBbox, empty runs of ones (non-canonical counts) touch nothing.
box_xywh rle_to_bbox(const rle &r);

// Set operations for editing masks; both inputs must have the same height and width
// (otherwise the result is an empty rle of a's size). subtract = a AND NOT b.
enum class rle_merge_op { union_, intersect, subtract };
rle rle_merge(const rle &a, const rle &b, rle_merge_op op);

// Whether pixel (x, y) (column x, row y) is 1; false outside the mask. Walks the runs
// (O(runs)), so hit-testing a click needs no decoded mask.
bool rle_contains(const rle &r, int x, int y);

// The pixels of `r` inside the w x h window whose top-left pixel is (x0, y0), as a
// row-major binary_mask (0 outside `r`). Reads the runs directly, so cropping a small
// object out of a large image costs its runs, not a whole-image decode.
binary_mask rle_crop(const rle &r, int x0, int y0, int w, int h);

// The rle of a height x width image that is `win` in its top-left corner and 0 elsewhere
// (win.width <= width, win.height <= height): the window's own runs, split at its column
// ends, with the rows below it and the columns right of it added as zeros.
rle rle_from_top_left(const binary_mask &win, int height, int width);

// True when counts sum to height*width (what every function above assumes).
bool rle_is_valid(const rle &r);

}  // namespace sam
