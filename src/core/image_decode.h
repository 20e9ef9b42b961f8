// image_decode.h - JPEG/PNG (and BMP, first frame of GIF) bytes -> RGB pixels.
// decode_image() always returns HxWx3 uint8 (grey is replicated, alpha is
// dropped, as PIL's convert("RGB")), upright when apply_exif is set (JPEG
// EXIF orientation, see exif.h). The size is read from the header and checked
// against max_pixels before any pixel memory is allocated.
//   sam::image_u8 img;
//   sam::status st = sam::decode_image(bytes, n, "cat.jpg", img, {});
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/image.h"
#include "core/status.h"

namespace sam {

struct decode_options {
    uint64_t max_pixels = 100'000'000;  // width * height limit, checked from the header
    bool apply_exif = true;             // rotate/flip JPEGs by their EXIF orientation
};

// Sets `type` to "jpeg", "png", "gif" or "bmp" from the magic bytes. Anything
// else fails; known but unsupported formats (WebP, HEIC/AVIF, TIFF) are named in
// the message. `name` prefixes the message.
status sniff_image_type(const uint8_t *bytes, size_t n, std::string &type, const std::string &name = "image");

// Width and height as stored in the file header (before EXIF orientation),
// without decoding. Fails on a header it cannot read.
status probe_image_size(const uint8_t *bytes, size_t n, const std::string &name, int &width, int &height);

// Decodes a whole file held in memory. On failure `out` is left untouched and
// the message names the file and the reason (stb_image's, for corrupt data).
status decode_image(const uint8_t *bytes, size_t n, const std::string &name, image_u8 &out,
                    const decode_options &opt = decode_options());

}  // namespace sam
