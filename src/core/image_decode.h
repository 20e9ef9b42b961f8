// image_decode.h - JPEG/PNG (and BMP, first frame of GIF) bytes -> RGB pixels.
// decode_image() always returns HxWx3 uint8 (grey is replicated, alpha is
// dropped, as PIL's convert("RGB")), upright when apply_exif is set (JPEG
// EXIF orientation, see exif.h). The size is read from the header and checked
// against max_pixels before any pixel memory is allocated.
//   sam::image_u8 img;
//   sam::status st = sam::decode_image(bytes, n, "cat.jpg", img, {});
// JPEG decodes with libjpeg-turbo (natively Debian's library, in the browser its
// source compiled to WebAssembly) and PNG with libpng (natively) or stb_image (in
// the browser, the same pixels), set up as PIL sets them up, so the pixels equal
// PIL's: what the official SAM pipeline sees, in the embedder and the browser alike.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/image.h"
#include "core/status.h"

namespace sam {

// Who decodes JPEG and PNG (GIF and BMP always go to stb_image).
//   system: libjpeg-turbo, and libpng where built in (else stb_image, which gives the
//     same PNG pixels), PIL's settings: Image.open(f).convert("RGB") exactly, except
//     16-bit grey, whose high byte is kept (PIL clips it to 255); CMYK JPEGs as PIL
//     converts them (Adobe inverted, then PIL's cmyk2rgb).
//   stb: stb_image 2.27 with our hostile-input patch (scripts/patches) for every
//     format; JPEG pixels may differ from libjpeg's by a few levels.
enum class image_codec { system, stb };
bool image_codec_available(image_codec codec);

struct decode_options {
    uint64_t max_pixels = 100'000'000;  // width * height limit, checked from the header
    bool apply_exif = true;             // rotate/flip JPEGs by their EXIF orientation
#if SAM_HAVE_LIBJPEG
    image_codec codec = image_codec::system;
#else
    image_codec codec = image_codec::stb;
#endif
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
