// annotation_overlay.h - the shown image's accepted annotations as the RGBA8 label map
// the canvas draws over the photo (shaders/annotations_frag.glsl), kept up to date
// in proportion to the edit: only the texture region of annotations whose paint
// changed (added, removed, new mask, category colour, selection, hidden) is repainted,
// straight from the RLE runs (no full-size mask is decoded), and only that region is
// uploaded. The texture has the displayed image texture's size (smaller than the
// image when downscaled for display, display_texture_size); each pixel takes the
// category colour of the last annotation covering it (document order, the selected
// one last), alpha 255 for the selected annotation, 128 for the others, 0 where none.
//   overlay_update(o, doc, image_id, w, h, selected, max_tex);  // once per frame: cheap when nothing changed
//   if (!o.dirty.empty()) { upload o.rgba in o.dirty; overlay_mark_uploaded(o); }
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
    std::vector<uint8_t> rgba;  // tex.w x tex.h x 4, row-major
    struct painted {
        double x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // bbox, image pixels
        rgb8 color;
        uint8_t alpha = 0;
        uint64_t mask_key = 0;  // the mask's size and runs, hashed
        bool operator==(const painted &o) const;
    };
    std::map<int64_t, painted> shown;  // annotation id -> how it is painted now
    overlay_rect dirty;                // changed since the last upload
    uint64_t revision = 0;             // bumps on every repaint
    uint64_t doc_revision = ~uint64_t(0);
    int64_t selected = -1;
    size_t pixels_painted = 0;  // statistics: texels written by the last update
};

// Brings `o` up to date with the annotations of `image_id` (returns whether anything was
// repainted). A new image or texture size repaints everything.
bool overlay_update(annotation_overlay &o, const annotation_document &doc, int64_t image_id, int image_w, int image_h,
                    int64_t selected_id, int max_texture_size);
void overlay_mark_uploaded(annotation_overlay &o);

// The whole label map painted from scratch (what overlay_update must always equal).
void overlay_paint_full(const annotation_document &doc, int64_t image_id, int64_t selected_id, int image_w,
                        int image_h, texture_size tex, std::vector<uint8_t> &rgba);

}  // namespace sam
