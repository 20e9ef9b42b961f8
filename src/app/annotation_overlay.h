// annotation_overlay.h - the shown image's accepted annotations as the two textures the
// canvas draws over the photo (shaders/annotations_frag.glsl), kept up to date in
// proportion to the edit, straight from the RLE runs (no full-size mask is decoded):
// - rgba, the label map: each texel the category colour of the last annotation covering
//   it (document order), alpha 128, 0 where none. An annotation added on top (an accept)
//   paints just its own runs; other changes (delete, hide, recolour, new mask, undo)
//   repaint the region of the annotations that changed, with everything under it.
// - selected, R8: 255 where the selected annotation is (drawn highlighted on top); a new
//   selection clears the old one's region and paints the new one's runs.
// Only the changed rectangle of each is uploaded. Both have the displayed image
// texture's size (smaller than the image when downscaled for display) and are stored
// column-major like RLE runs (texel (x, y) at x * tex.h + y): a run is one contiguous
// fill, and the GPU textures are the transposes (tex.h wide, tex.w high).
//   overlay_update(o, doc, image_id, w, h, selected, max_tex);  // once per frame: cheap when nothing changed
//   if (!o.dirty.empty()) { upload o.rgba in o.dirty ... } overlay_mark_uploaded(o);
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "app/display_image.h"
#include "core/annotation_document.h"

namespace sam {

// Texture pixels [x0, x1) x [y0, y1).
struct overlay_rect {
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    bool empty() const { return x1 <= x0 || y1 <= y0; }
    void add(const overlay_rect &o);
};

struct annotation_overlay {
    int64_t image_id = -1;
    int image_w = 0, image_h = 0;
    texture_size tex;
    std::vector<uint8_t> rgba;      // tex.w x tex.h x 4, column-major: the label map
    std::vector<uint8_t> selected;  // tex.w x tex.h, column-major: the selected annotation
    struct painted {
        double x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // bbox, image pixels
        rgb8 color;
        uint64_t mask_key = 0;  // the mask's size and runs, hashed
        bool operator==(const painted &o) const;
    };
    std::vector<std::pair<int64_t, painted>> shown;  // visible annotations, document order, as painted
    int64_t selected_id = 0;
    painted selected_paint;
    rgb8 selected_color;
    overlay_rect dirty, selected_dirty;  // changed since the last upload
    uint64_t revision = 0;               // bumps on every repaint of either
    uint64_t doc_revision = ~uint64_t(0);
    int64_t selected_arg = -1;
    size_t pixels_painted = 0;  // statistics: texels written by the last update
};

// Brings `o` up to date with the annotations of `image_id` (returns whether anything was
// repainted). A new image or texture size repaints everything.
bool overlay_update(annotation_overlay &o, const annotation_document &doc, int64_t image_id, int image_w, int image_h,
                    int64_t selected_id, int max_texture_size);
void overlay_mark_uploaded(annotation_overlay &o);

// Both textures painted from scratch (what overlay_update must always equal).
void overlay_paint_full(const annotation_document &doc, int64_t image_id, int64_t selected_id, int image_w,
                        int image_h, texture_size tex, std::vector<uint8_t> &rgba, std::vector<uint8_t> &selected);

}  // namespace sam
