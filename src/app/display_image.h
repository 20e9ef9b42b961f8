// display_image.h - the photo as the canvas shows it: one RGBA8 texture, downscaled
// (box filter) when a side exceeds the GPU's GL_MAX_TEXTURE_SIZE. Coordinates stay
// those of the full-resolution image; only the displayed texels are fewer.
//   texture_size t = display_texture_size(w, h, max_tex);  image_u8 shown = display_pixels(img, max_tex);
#pragma once
#include "core/image.h"

namespace sam {

struct texture_size {
    int w = 0, h = 0;
};
// max_texture_size <= 0: 4096 (WebGL2's guaranteed minimum is 2048; every browser gives >= 4096).
texture_size display_texture_size(int image_w, int image_h, int max_texture_size);
// RGBA8 pixels of display_texture_size (a copy converted to RGBA when it fits).
image_u8 display_pixels(const image_u8 &img, int max_texture_size);
// Box-filter downscale so that neither side exceeds max_side (RGBA8 output).
image_u8 downscale_rgba_to_fit(const image_u8 &img, int max_side);

}  // namespace sam
