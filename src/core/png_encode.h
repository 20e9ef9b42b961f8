// png_encode.h - greyscale PNG encoding for the mask exports (png_masks.h), to bytes.
// Pixels are row-major, width x height, one sample each: uint8 (8-bit PNG, colour type 0)
// or uint16 (16-bit PNG, written big-endian as PNG stores it; decoders give the values
// back). 8-bit goes through stb_image_write; stb_image_write has no 16-bit PNG, so that
// one is our own IHDR/IDAT/IEND chunks around stb's zlib deflate. Deterministic bytes.
//   std::vector<uint8_t> png; sam::status st = sam::png_encode_gray16(ids.data(), w, h, png);
#pragma once
#include <cstdint>
#include <vector>

#include "core/status.h"

namespace sam {

// Fails for width or height < 1, more than 100 megapixels, or when stb runs out of memory.
status png_encode_gray8(const uint8_t *pixels, int width, int height, std::vector<uint8_t> &out);
status png_encode_gray16(const uint16_t *pixels, int width, int height, std::vector<uint8_t> &out);

}  // namespace sam
