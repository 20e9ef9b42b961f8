// exif.h - EXIF orientation of JPEG files, and applying it to decoded pixels.
// exif_orientation() reads tag 0x0112 of IFD0 from the first APP1 "Exif" segment
// (TIFF II or MM byte order); it returns 1..8, and 1 when there is no tag or the
// file is unreadable. It reads only inside [jpeg, jpeg + n): safe on hostile input.
// apply_orientation() turns HxWxC pixels as stored into the upright image, exactly
// as PIL's ImageOps.exif_transpose (5-8 swap width and height).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/image.h"

namespace sam {

// 1 top-left (as stored), 2 flip left-right, 3 rotate 180, 4 flip top-bottom,
// 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
int exif_orientation(const uint8_t *jpeg, size_t n);

// Orientations outside 2..8 return the image unchanged.
image_u8 apply_orientation(const image_u8 &img, int orientation);

}  // namespace sam
