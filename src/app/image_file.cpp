#include "app/image_file.h"

#include <cstring>

#include "core/exif.h"

// Static linkage keeps these symbols private to this file, so the core's own
// stb_image user (image_decode.cpp) cannot clash with it at link time.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#include <stb_image.h>

namespace sam {

status decode_image_file(const uint8_t *bytes, size_t size, const std::string &name, image_u8 &out) {
    out = image_u8{};
    if (size == 0 || size > 0x7fffffff) return status::failure(name + ": empty or too large file");
    int w = 0, h = 0, c = 0;
    stbi_uc *px = stbi_load_from_memory(bytes, (int)size, &w, &h, &c, 4);
    if (!px) return status::failure(name + ": cannot decode image (" + stbi_failure_reason() + ")");
    image_u8 img;
    img.width = w;
    img.height = h;
    img.channels = 4;
    img.pixels.assign(px, px + (size_t)w * h * 4);
    stbi_image_free(px);
    bool jpeg = size > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8;
    int orientation = jpeg ? exif_orientation(bytes, size) : 1;
    out = orientation == 1 ? std::move(img) : apply_orientation(img, orientation);
    return status::success();
}

}  // namespace sam
