#include "app/display_image.h"

#include <algorithm>
#include <cmath>

namespace sam {

texture_size display_texture_size(int image_w, int image_h, int max_texture_size) {
    const int limit = max_texture_size > 0 ? max_texture_size : 4096;
    if (image_w <= 0 || image_h <= 0) return {};
    if (std::max(image_w, image_h) <= limit) return {image_w, image_h};
    const double f = std::max(1.0, (double)std::max(image_w, image_h) / limit);
    return {std::max(1, std::min(limit, (int)std::floor(image_w / f))),
            std::max(1, std::min(limit, (int)std::floor(image_h / f)))};
}

image_u8 downscale_rgba_to_fit(const image_u8 &img, int max_side) {
    const texture_size t = display_texture_size(img.width, img.height, max_side);
    const int w = img.width, h = img.height;
    image_u8 out;
    out.width = t.w;
    out.height = t.h;
    out.channels = 4;
    out.pixels.assign((size_t)out.width * out.height * 4, 255);
    const double fx = (double)w / out.width, fy = (double)h / out.height;
    for (int y = 0; y < out.height; ++y) {
        const int y0 = (int)(y * fy), y1 = std::max(y0 + 1, std::min(h, (int)((y + 1) * fy)));
        for (int x = 0; x < out.width; ++x) {
            const int x0 = (int)(x * fx), x1 = std::max(x0 + 1, std::min(w, (int)((x + 1) * fx)));
            unsigned sum[3] = {0, 0, 0}, n = 0;
            for (int yy = y0; yy < y1; ++yy)
                for (int xx = x0; xx < x1; ++xx, ++n) {
                    const uint8_t *p = img.at(xx, yy);
                    for (int c = 0; c < 3; ++c) sum[c] += p[img.channels >= 3 ? c : 0];
                }
            uint8_t *q = out.at(x, y);
            for (int c = 0; c < 3; ++c) q[c] = (uint8_t)((sum[c] + n / 2) / n);
        }
    }
    return out;
}

image_u8 display_pixels(const image_u8 &img, int max_texture_size) {
    const texture_size t = display_texture_size(img.width, img.height, max_texture_size);
    if (img.channels == 4 && t.w == img.width && t.h == img.height) return img;
    return downscale_rgba_to_fit(img, std::max(t.w, t.h));
}

}  // namespace sam
