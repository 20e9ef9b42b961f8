// image_codecs.h - the pixel decoders behind decode_image (image_decode.h);
// internal to src/core. decode_image sniffs the type, reads the size from the
// header and checks it against the pixel limit first, then calls one of these,
// which return HxWx3 uint8 as stored (EXIF orientation is applied afterwards):
//   libjpeg-turbo (native and WebAssembly) / libpng (native): the pixels PIL gives;
//   stb_image (PNG in the browser, with the same pixels; GIF/BMP everywhere).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/image.h"
#include "core/status.h"

namespace sam {

// What a walk over a JPEG's segments found (no entropy decoding).
struct jpeg_scan {
    bool have_size = false;
    bool complete = false;  // reaches its end-of-image marker
    // A DHT table with more than 256 codes, or tables that do not fill their segment:
    // Debian's stb_image 2.27 wrote past its 257-entry size list for the first and can be
    // led into it by the second, so such a file never reaches stb.
    bool bad_huffman = false;
    int width = 0, height = 0;
};
jpeg_scan scan_jpeg(const uint8_t *b, size_t n);

// `type` is "jpeg", "png", "gif" or "bmp"; `label` its name in messages ("JPEG").
status decode_with_stb(const uint8_t *b, size_t n, const std::string &name, const std::string &type,
                       const std::string &label, uint64_t max_pixels, image_u8 &out);

#if SAM_HAVE_LIBJPEG
status decode_with_libjpeg(const uint8_t *b, size_t n, const std::string &name, uint64_t max_pixels, image_u8 &out);
#endif
#if SAM_HAVE_LIBPNG
status decode_with_libpng(const uint8_t *b, size_t n, const std::string &name, uint64_t max_pixels, image_u8 &out);
#endif

}  // namespace sam
