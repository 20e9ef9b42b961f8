#include "app/annotation_overlay.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sam {

namespace {

const rgb8 k_no_category{200, 200, 200};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Paints the runs of `r` whose texels fall inside `clip` (texture pixels). Runs are
// column-major (index = x * h + y); columns and rows outside the clip are skipped
// arithmetically, so the cost follows the runs and the clipped area, not the image.
size_t paint_rle(const rle &r, rgb8 color, uint8_t alpha, texture_size tex, const overlay_rect &clip,
                 std::vector<uint8_t> &rgba) {
    const int64_t h = r.height, w = r.width;
    if (h <= 0 || w <= 0 || clip.empty()) return 0;
    // image columns x with floor(x * tex.w / w) in [clip.x0, clip.x1); rows likewise
    const int64_t x_lo = ceil_div((int64_t)clip.x0 * w, tex.w), x_hi = ceil_div((int64_t)clip.x1 * w, tex.w);
    const int64_t y_lo = ceil_div((int64_t)clip.y0 * h, tex.h), y_hi = ceil_div((int64_t)clip.y1 * h, tex.h);
    const bool same = tex.w == w && tex.h == h;
    size_t painted = 0;
    int64_t pos = 0;
    for (size_t k = 0; k < r.counts.size(); ++k) {
        const int64_t end = std::min<int64_t>(pos + r.counts[k], h * w);
        if (k % 2 == 1 && end > pos) {
            const int64_t cx0 = std::max(pos / h, x_lo), cx1 = std::min((end - 1) / h + 1, x_hi);
            for (int64_t x = cx0; x < cx1; ++x) {
                const int64_t ya = std::max<int64_t>(x == pos / h ? pos % h : 0, y_lo);
                const int64_t yb = std::min<int64_t>(x == (end - 1) / h ? (end - 1) % h + 1 : h, y_hi);
                if (ya >= yb) continue;
                const int64_t tx = same ? x : x * tex.w / w;
                for (int64_t y = ya; y < yb; ++y) {
                    const int64_t ty = same ? y : y * tex.h / h;
                    uint8_t *p = &rgba[((size_t)ty * (size_t)tex.w + (size_t)tx) * 4];
                    p[0] = color.r;
                    p[1] = color.g;
                    p[2] = color.b;
                    p[3] = alpha;
                }
                painted += (size_t)(yb - ya);
            }
        }
        pos = end;
        if (pos >= h * w || pos / h >= x_hi) break;
    }
    return painted;
}

uint64_t mask_key(const rle &m) {
    uint64_t k = 1469598103934665603ull ^ ((uint64_t)m.height << 32) ^ (uint64_t)m.width;
    for (uint32_t c : m.counts) k = (k ^ c) * 1099511628211ull;
    return k ^ m.counts.size();
}

// The texels an image-pixel rectangle touches (one texel of margin for rounding).
overlay_rect texels_of(double x0, double y0, double x1, double y1, int image_w, int image_h, texture_size tex) {
    overlay_rect r;
    r.x0 = std::max(0, (int)std::floor(x0 * tex.w / image_w) - 1);
    r.y0 = std::max(0, (int)std::floor(y0 * tex.h / image_h) - 1);
    r.x1 = std::min(tex.w, (int)std::ceil(x1 * tex.w / image_w) + 1);
    r.y1 = std::min(tex.h, (int)std::ceil(y1 * tex.h / image_h) + 1);
    return r;
}

bool intersects(const overlay_rect &a, const overlay_rect &b) {
    return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

// Clears `clip` and paints every visible annotation of the image into it, in order.
size_t repaint(const annotation_document &doc, int64_t image_id, int64_t selected_id, int image_w, int image_h,
               texture_size tex, const overlay_rect &clip, std::vector<uint8_t> &rgba) {
    for (int y = clip.y0; y < clip.y1; ++y)
        std::memset(&rgba[((size_t)y * tex.w + clip.x0) * 4], 0, (size_t)(clip.x1 - clip.x0) * 4);
    size_t n = 0;
    const annotation *selected = nullptr;
    for (const annotation &a : doc.annotations()) {
        if (a.image_id != image_id || a.hidden) continue;
        if (a.id == selected_id) {
            selected = &a;  // painted last, on top
            continue;
        }
        if (!intersects(clip, texels_of(a.bbox.x, a.bbox.y, a.bbox.x + a.bbox.w, a.bbox.y + a.bbox.h, image_w,
                                        image_h, tex)))
            continue;
        const doc_category *c = doc.find_category(a.category_id);
        n += paint_rle(a.mask, c ? c->color : k_no_category, 128, tex, clip, rgba);
    }
    if (selected) {
        const doc_category *c = doc.find_category(selected->category_id);
        n += paint_rle(selected->mask, c ? c->color : k_no_category, 255, tex, clip, rgba);
    }
    return n;
}

}  // namespace

void overlay_rect::add(const overlay_rect &o) {
    if (o.empty()) return;
    if (empty()) {
        *this = o;
        return;
    }
    x0 = std::min(x0, o.x0);
    y0 = std::min(y0, o.y0);
    x1 = std::max(x1, o.x1);
    y1 = std::max(y1, o.y1);
}

bool annotation_overlay::painted::operator==(const painted &o) const {
    return x0 == o.x0 && y0 == o.y0 && x1 == o.x1 && y1 == o.y1 && color == o.color && alpha == o.alpha &&
           mask_key == o.mask_key;
}

bool overlay_update(annotation_overlay &o, const annotation_document &doc, int64_t image_id, int image_w, int image_h,
                    int64_t selected_id, int max_texture_size) {
    const texture_size tex = display_texture_size(image_w, image_h, max_texture_size);
    const bool fresh = o.image_id != image_id || o.image_w != image_w || o.image_h != image_h || o.tex.w != tex.w ||
                       o.tex.h != tex.h;
    if (!fresh && o.doc_revision == doc.revision() && o.selected == selected_id) return false;
    o.doc_revision = doc.revision();
    o.selected = selected_id;
    o.pixels_painted = 0;

    std::map<int64_t, annotation_overlay::painted> now;
    for (const annotation &a : doc.annotations()) {
        if (a.image_id != image_id || a.hidden) continue;
        const doc_category *c = doc.find_category(a.category_id);
        now[a.id] = annotation_overlay::painted{a.bbox.x, a.bbox.y, a.bbox.x + a.bbox.w, a.bbox.y + a.bbox.h,
                                                c ? c->color : k_no_category, (uint8_t)(a.id == selected_id ? 255 : 128),
                                                mask_key(a.mask)};
    }
    overlay_rect region;
    if (fresh) {
        o.image_id = image_id;
        o.image_w = image_w;
        o.image_h = image_h;
        o.tex = tex;
        o.rgba.assign((size_t)tex.w * tex.h * 4, 0);
        region = overlay_rect{0, 0, tex.w, tex.h};
    } else {
        auto changed = [&](const annotation_overlay::painted &p) {
            region.add(texels_of(p.x0, p.y0, p.x1, p.y1, image_w, image_h, tex));
        };
        for (const auto &kv : o.shown) {
            auto it = now.find(kv.first);
            if (it == now.end() || !(it->second == kv.second)) changed(kv.second);
        }
        for (const auto &kv : now) {
            auto it = o.shown.find(kv.first);
            if (it == o.shown.end() || !(it->second == kv.second)) changed(kv.second);
        }
    }
    o.shown = std::move(now);
    if (region.empty() || tex.w <= 0 || tex.h <= 0) return false;
    o.pixels_painted = repaint(doc, image_id, selected_id, image_w, image_h, tex, region, o.rgba);
    o.dirty.add(region);
    o.revision++;
    return true;
}

void overlay_mark_uploaded(annotation_overlay &o) { o.dirty = overlay_rect{}; }

void overlay_paint_full(const annotation_document &doc, int64_t image_id, int64_t selected_id, int image_w,
                        int image_h, texture_size tex, std::vector<uint8_t> &rgba) {
    rgba.assign((size_t)std::max(0, tex.w) * std::max(0, tex.h) * 4, 0);
    if (tex.w <= 0 || tex.h <= 0) return;
    repaint(doc, image_id, selected_id, image_w, image_h, tex, overlay_rect{0, 0, tex.w, tex.h}, rgba);
}

}  // namespace sam
