#include "app/view_transform.h"

#include <algorithm>

namespace sam {

view_transform view_fit(int image_w, int image_h, const canvas_rect &area) {
    view_transform v;
    if (image_w <= 0 || image_h <= 0 || area.w <= 0 || area.h <= 0) return v;
    const double margin = 8;
    double sw = std::max(1.0, area.w - 2 * margin) / image_w;
    double sh = std::max(1.0, area.h - 2 * margin) / image_h;
    v.scale = std::min(sw, sh);
    v.offset_x = area.x + (area.w - image_w * v.scale) / 2;
    v.offset_y = area.y + (area.h - image_h * v.scale) / 2;
    return v;
}

void view_zoom_at(view_transform &v, double factor, double cx, double cy) {
    double ix = v.to_image_x(cx), iy = v.to_image_y(cy);
    v.scale = std::clamp(v.scale * factor, 1e-3, 256.0);
    v.offset_x = cx - ix * v.scale;
    v.offset_y = cy - iy * v.scale;
}

}  // namespace sam
