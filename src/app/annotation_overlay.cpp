#include "app/annotation_overlay.h"

#include <algorithm>

namespace sam {

namespace {

void paint_rle(const rle &r, rgb8 color, uint8_t alpha, int tex_w, int tex_h, std::vector<uint8_t> &rgba) {
    const int64_t h = r.height, w = r.width;
    if (h <= 0 || w <= 0) return;
    const bool same = tex_w == w && tex_h == h;
    int64_t pos = 0;
    for (size_t k = 0; k < r.counts.size(); ++k) {
        int64_t end = std::min<int64_t>(pos + r.counts[k], h * w);
        if (k % 2 == 1) {
            // runs are column-major: index = x * h + y
            for (int64_t i = pos; i < end; ++i) {
                int64_t x = i / h, y = i % h;
                int64_t tx = same ? x : x * tex_w / w, ty = same ? y : y * tex_h / h;
                uint8_t *p = &rgba[((size_t)ty * tex_w + (size_t)tx) * 4];
                p[0] = color.r;
                p[1] = color.g;
                p[2] = color.b;
                p[3] = alpha;
            }
        }
        pos = end;
    }
}

}  // namespace

void paint_annotation_overlay(const annotation_document &doc, int64_t image_id, int64_t selected_id, int tex_w,
                              int tex_h, std::vector<uint8_t> &rgba) {
    rgba.assign((size_t)std::max(0, tex_w) * std::max(0, tex_h) * 4, 0);
    if (tex_w <= 0 || tex_h <= 0) return;
    const annotation *selected = nullptr;
    for (const annotation &a : doc.annotations()) {
        if (a.image_id != image_id || a.hidden) continue;
        if (a.id == selected_id) {
            selected = &a;  // painted last, on top
            continue;
        }
        const doc_category *c = doc.find_category(a.category_id);
        paint_rle(a.mask, c ? c->color : rgb8{200, 200, 200}, 128, tex_w, tex_h, rgba);
    }
    if (selected) {
        const doc_category *c = doc.find_category(selected->category_id);
        paint_rle(selected->mask, c ? c->color : rgb8{200, 200, 200}, 255, tex_w, tex_h, rgba);
    }
}

}  // namespace sam
