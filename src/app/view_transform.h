// view_transform.h - the canvas view: image pixel (x, y) -> canvas pixel
// (x * scale + offset_x, y * scale + offset_y). Canvas pixels are CSS pixels
// of the page-filling <canvas>, origin top-left; image pixels are those of the
// full-resolution, EXIF-oriented image, whatever texture size is displayed.
#pragma once

namespace sam {

struct canvas_rect {
    float x = 0, y = 0, w = 0, h = 0;  // canvas pixels
    bool contains(float px, float py) const { return px >= x && py >= y && px < x + w && py < y + h; }
};

struct view_transform {
    double scale = 1, offset_x = 0, offset_y = 0;

    double to_canvas_x(double ix) const { return ix * scale + offset_x; }
    double to_canvas_y(double iy) const { return iy * scale + offset_y; }
    double to_image_x(double cx) const { return (cx - offset_x) / scale; }
    double to_image_y(double cy) const { return (cy - offset_y) / scale; }
};

// The canvas area between the panels, the view shown in it, and a fit requested for
// the next frame that knows the layout.
struct canvas_view {
    view_transform view;
    canvas_rect area;
    bool fit_pending = true;
};

// Whole image visible and centred in `area`, with a small margin.
view_transform view_fit(int image_w, int image_h, const canvas_rect &area);

// Multiplies the scale by `factor`, keeping the image point under canvas
// point (cx, cy) fixed (zoom at cursor). Scale is clamped to a sane range.
void view_zoom_at(view_transform &v, double factor, double cx, double cy);

}  // namespace sam
