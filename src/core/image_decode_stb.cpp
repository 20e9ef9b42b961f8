// image_decode_stb.cpp - stb_image behind decode_image: the WebAssembly app's
// JPEG/PNG decoder, and GIF/BMP everywhere. stb_image.h is Debian's 2.27 with
// scripts/patches/stb_image-hostile-input.patch applied at configure time (the
// build fails when it no longer applies); the checks here keep files that
// would make it allocate or read without bound away from it.
#include <cstring>

#include "core/image_codecs.h"

// stb_image is compiled here and only here. Only the formats we accept are
// built in: less code facing hostile uploads.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#include <stb_image.h>

namespace sam {

namespace {

uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

// PNG chunks must lie inside the file: stb_image grows its IDAT buffer to the length a
// chunk claims before reading it, so a 300-byte file claiming a 2 GB chunk would make it
// allocate 2 GB. Returns the offset of the first chunk that does not fit, or 0.
size_t png_chunk_overrun(const uint8_t *b, size_t n) {
    size_t i = 8;  // after the signature
    while (n - i >= 12) {
        const size_t len = be32(b + i);
        if (len > n - i - 12) return i;
        if (std::memcmp(b + i + 4, "IEND", 4) == 0) return 0;
        i += 12 + len;
    }
    return i < n ? i : 0;  // a cut-off chunk header; no IEND is stb's to report
}

}  // namespace

status decode_with_stb(const uint8_t *b, size_t n, const std::string &name, const std::string &type,
                       const std::string &label, uint64_t max_pixels, image_u8 &out) {
    if (type == "png") {
        if (size_t at = png_chunk_overrun(b, n))
            return status::failure(name + ": truncated or corrupt PNG (the chunk at byte " + std::to_string(at) +
                                   " runs past the end of the file)");
    }
    if (type == "jpeg" && scan_jpeg(b, n).bad_huffman)
        return status::failure(name + ": corrupt JPEG (a Huffman table segment (DHT) is malformed)");

    int iw = 0, ih = 0, comp = 0;
    if (!stbi_info_from_memory(b, (int)n, &iw, &ih, &comp))
        return status::failure(name + ": corrupt " + label + " (" + stbi_failure_reason() + ")");
    if (iw <= 0 || ih <= 0) return status::failure(name + ": " + label + " has an empty image");
    if ((uint64_t)iw * (uint64_t)ih > max_pixels)
        return status::failure(name + ": image is " + std::to_string(iw) + "x" + std::to_string(ih) +
                               ", more than the limit of " + std::to_string(max_pixels) + " pixels");

    int dw = 0, dh = 0;
    stbi_uc *px = stbi_load_from_memory(b, (int)n, &dw, &dh, &comp, 3);
    if (!px) return status::failure(name + ": cannot decode " + label + " (" + stbi_failure_reason() + ")");
    out.width = dw;
    out.height = dh;
    out.channels = 3;
    out.pixels.assign(px, px + (size_t)dw * dh * 3);
    stbi_image_free(px);
    return status::success();
}

}  // namespace sam
