// libFuzzer target: COCO compressed RLE strings (rle_from_string) for small masks, then
// everything downstream of a string that parses: decode, re-encode, merge, bbox and the
// polygon tracer/rasteriser. Input: byte 0 -> height (0..69), byte 1 -> width (0..139,
// more than two of the 64-column strips rle.cpp works in),
// the rest is the counts string. Must never crash, read out of bounds or disagree.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/polygon.h"
#include "core/rle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const int h = data[0] % 70, w = data[1] % 140;
    const std::string s(reinterpret_cast<const char *>(data + 2), size - 2);
    sam::rle r;
    if (!sam::rle_from_string(s, h, w, r).ok()) return 0;
    if (!sam::rle_is_valid(r) || r.height != h || r.width != w) __builtin_trap();

    // The string we write for these counts parses back to the same counts.
    sam::rle again;
    if (!sam::rle_from_string(sam::rle_to_string(r), h, w, again).ok() || again.counts != r.counts) __builtin_trap();

    // Decoding, then encoding canonically, keeps the pixels and the area.
    const sam::binary_mask m = sam::rle_to_mask(r);
    const sam::rle c = sam::mask_to_rle(m);
    if (sam::rle_to_mask(c).data != m.data || sam::rle_area(c) != sam::rle_area(r)) __builtin_trap();
    const sam::box_xywh b = sam::rle_to_bbox(c);
    if (b.x < 0 || b.y < 0 || b.x + b.w > w || b.y + b.h > h || (b.w == 0) != (sam::rle_area(c) == 0))
        __builtin_trap();

    // Merging with itself or its canonical form is the identity; subtracting gives nothing.
    if (sam::rle_merge(r, c, sam::rle_merge_op::union_).counts != c.counts ||
        sam::rle_merge(c, r, sam::rle_merge_op::intersect).counts != c.counts ||
        sam::rle_area(sam::rle_merge(r, r, sam::rle_merge_op::subtract)) != 0)
        __builtin_trap();

    // Exact polygons cover every mask pixel (holes are filled, never more than that
    // checked here); simplified ones must merely be well-formed.
    const sam::polygon_set exact = sam::mask_to_polygons(m, 0.0);
    const sam::binary_mask filled = sam::polygons_to_mask(exact.polygons, h, w);
    for (size_t i = 0; i < m.data.size(); i++)
        if (m.data[i] && !filled.data[i]) __builtin_trap();
    for (const sam::polygon &p : sam::mask_to_polygons(m, 1.0).polygons)
        if (p.xy.size() < 6 || p.xy.size() % 2) __builtin_trap();
    return 0;
}
