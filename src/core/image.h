// image.h - plain pixel containers shared by the core.
// image_u8: HxWxC uint8, row-major, channels interleaved (C = 1, 3 or 4).
// binary_mask: HxW uint8 (0 or 1), row-major, in original-image pixels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sam {

struct image_u8 {
    int width = 0;
    int height = 0;
    int channels = 0;
    std::vector<uint8_t> pixels;  // height * width * channels

    uint8_t *at(int x, int y) { return &pixels[((size_t)y * width + x) * channels]; }
    const uint8_t *at(int x, int y) const { return &pixels[((size_t)y * width + x) * channels]; }
};

struct binary_mask {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> data;  // height * width, 0 or 1, row-major

    binary_mask() = default;
    binary_mask(int w, int h) : width(w), height(h), data((size_t)w * h, 0) {}
    uint8_t &at(int x, int y) { return data[(size_t)y * width + x]; }
    uint8_t at(int x, int y) const { return data[(size_t)y * width + x]; }
};

// Axis-aligned box in pixels. COCO bbox is [x, y, w, h]; SAM boxes are XYXY.
struct box_xywh {
    double x = 0, y = 0, w = 0, h = 0;
};

}  // namespace sam
