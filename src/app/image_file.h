// image_file.h - decodes an image file held in memory (JPEG, PNG, BMP, GIF's
// first frame) to RGBA8 pixels with the EXIF orientation applied, so the
// result is the upright image whose size the manifest and COCO state.
// Stand-in until src/core/image_decode.h lands; same contract.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/image.h"
#include "core/status.h"

namespace sam {

status decode_image_file(const uint8_t *bytes, size_t size, const std::string &name, image_u8 &out);

}  // namespace sam
