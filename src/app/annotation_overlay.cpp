#include "app/annotation_overlay.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sam {

namespace {

const rgb8 k_no_category{200, 200, 200};

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Calls fill(first, last) for the texel ranges [first, last) that the runs of `r` cover
// inside `clip` (texture pixels). Buffers are column-major (texel (tx, ty) at
// tx * tex.h + ty), as RLE runs are, so a run is a contiguous range of texels; columns
// and rows outside the clip are skipped arithmetically: the cost follows the runs and
// the clipped area, not the image. Returns the image pixels covered.
template <class Fill>
size_t for_each_range(const rle &r, texture_size tex, const overlay_rect &clip, Fill fill) {
    const int64_t h = r.height, w = r.width;
    if (h <= 0 || w <= 0 || clip.empty()) return 0;
    // image columns x with floor(x * tex.w / w) in [clip.x0, clip.x1); rows likewise
    const int64_t x_lo = ceil_div((int64_t)clip.x0 * w, tex.w), x_hi = ceil_div((int64_t)clip.x1 * w, tex.w);
    const int64_t y_lo = ceil_div((int64_t)clip.y0 * h, tex.h), y_hi = ceil_div((int64_t)clip.y1 * h, tex.h);
    size_t covered = 0;
    int64_t pos = 0;
    for (size_t k = 0; k < r.counts.size(); ++k) {
        const int64_t end = std::min<int64_t>(pos + r.counts[k], h * w);
        if (k % 2 == 1 && end > pos) {
            const int64_t cx0 = std::max(pos / h, x_lo), cx1 = std::min((end - 1) / h + 1, x_hi);
            for (int64_t x = cx0; x < cx1; ++x) {
                const int64_t ya = std::max<int64_t>(x == pos / h ? pos % h : 0, y_lo);
                const int64_t yb = std::min<int64_t>(x == (end - 1) / h ? (end - 1) % h + 1 : h, y_hi);
                if (ya >= yb) continue;
                const size_t column = (size_t)(x * tex.w / w) * (size_t)tex.h;
                // rows ya .. yb-1 land on texels floor(y * tex.h / h): a contiguous range
                fill(column + (size_t)(ya * tex.h / h), column + (size_t)((yb - 1) * tex.h / h) + 1);
                covered += (size_t)(yb - ya);
            }
        }
        pos = end;
        if (pos >= h * w || pos / h >= x_hi) break;
    }
    return covered;
}

size_t paint_rle(const rle &r, rgb8 color, texture_size tex, const overlay_rect &clip, std::vector<uint8_t> &rgba) {
    uint32_t texel;
    const uint8_t bytes[4] = {color.r, color.g, color.b, 128};
    std::memcpy(&texel, bytes, 4);
    uint32_t *px = reinterpret_cast<uint32_t *>(rgba.data());
    return for_each_range(r, tex, clip, [&](size_t a, size_t b) { std::fill(px + a, px + b, texel); });
}

size_t paint_mask(const rle &r, texture_size tex, const overlay_rect &clip, std::vector<uint8_t> &mask) {
    return for_each_range(r, tex, clip, [&](size_t a, size_t b) { std::memset(&mask[a], 255, b - a); });
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
size_t repaint(const annotation_document &doc, int64_t image_id, int image_w, int image_h, texture_size tex,
               const overlay_rect &clip, std::vector<uint8_t> &rgba) {
    for (int x = clip.x0; x < clip.x1; ++x)
        std::memset(&rgba[((size_t)x * tex.h + clip.y0) * 4], 0, (size_t)(clip.y1 - clip.y0) * 4);
    size_t n = 0;
    for (const annotation &a : doc.annotations()) {
        if (a.image_id != image_id || a.hidden) continue;
        if (!intersects(clip, texels_of(a.bbox.x, a.bbox.y, a.bbox.x + a.bbox.w, a.bbox.y + a.bbox.h, image_w,
                                        image_h, tex)))
            continue;
        const doc_category *c = doc.find_category(a.category_id);
        n += paint_rle(a.mask, c ? c->color : k_no_category, tex, clip, rgba);
    }
    return n;
}

void clear_mask(texture_size tex, const overlay_rect &r, std::vector<uint8_t> &mask) {
    for (int x = r.x0; x < r.x1; ++x) std::memset(&mask[(size_t)x * tex.h + r.y0], 0, (size_t)(r.y1 - r.y0));
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
    return x0 == o.x0 && y0 == o.y0 && x1 == o.x1 && y1 == o.y1 && color == o.color && mask_key == o.mask_key;
}

bool overlay_update(annotation_overlay &o, const annotation_document &doc, int64_t image_id, int image_w, int image_h,
                    int64_t selected_id, int max_texture_size) {
    const texture_size tex = display_texture_size(image_w, image_h, max_texture_size);
    const bool fresh = o.image_id != image_id || o.image_w != image_w || o.image_h != image_h || o.tex.w != tex.w ||
                       o.tex.h != tex.h;
    if (!fresh && o.doc_revision == doc.revision() && o.selected_arg == selected_id) return false;
    o.doc_revision = doc.revision();
    o.selected_arg = selected_id;
    o.pixels_painted = 0;
    if (tex.w <= 0 || tex.h <= 0) return false;

    std::vector<std::pair<int64_t, annotation_overlay::painted>> now;
    const annotation *sel = nullptr;
    for (const annotation &a : doc.annotations()) {
        if (a.image_id != image_id || a.hidden) continue;
        const doc_category *c = doc.find_category(a.category_id);
        now.emplace_back(a.id, annotation_overlay::painted{a.bbox.x, a.bbox.y, a.bbox.x + a.bbox.w, a.bbox.y + a.bbox.h,
                                                           c ? c->color : k_no_category, mask_key(a.mask)});
        if (a.id == selected_id) sel = &a;
    }
    const overlay_rect all{0, 0, tex.w, tex.h};
    auto texels = [&](const annotation_overlay::painted &p) { return texels_of(p.x0, p.y0, p.x1, p.y1, image_w, image_h, tex); };
    bool changed = false;

    // the label map
    if (fresh) {
        o.image_id = image_id;
        o.image_w = image_w;
        o.image_h = image_h;
        o.tex = tex;
        o.rgba.assign((size_t)tex.w * tex.h * 4, 0);
        o.selected.assign((size_t)tex.w * tex.h, 0);
        o.shown.clear();
        o.selected_id = 0;
        o.pixels_painted += repaint(doc, image_id, image_w, image_h, tex, all, o.rgba);
        o.dirty.add(all);
        o.selected_dirty.add(all);
        changed = true;
    } else {
        size_t k = 0;  // the unchanged prefix
        while (k < o.shown.size() && k < now.size() && o.shown[k].first == now[k].first && o.shown[k].second == now[k].second) ++k;
        if (k == o.shown.size()) {
            // only annotations added on top: paint their runs, nothing under them changes
            for (size_t i = k; i < now.size(); ++i) {
                const annotation *a = doc.find_annotation(now[i].first);
                o.pixels_painted += paint_rle(a->mask, now[i].second.color, tex, all, o.rgba);
                o.dirty.add(texels(now[i].second));
                changed = true;
            }
        } else {
            std::map<int64_t, const annotation_overlay::painted *> before, after;
            for (const auto &e : o.shown) before[e.first] = &e.second;
            for (const auto &e : now) after[e.first] = &e.second;
            overlay_rect region;
            for (const auto &e : o.shown) {
                auto it = after.find(e.first);
                if (it == after.end() || !(*it->second == e.second)) region.add(texels(e.second));
            }
            for (const auto &e : now) {
                auto it = before.find(e.first);
                if (it == before.end() || !(*it->second == e.second)) region.add(texels(e.second));
            }
            if (region.empty())  // the same annotations in another order: what follows the prefix
                for (size_t i = k; i < o.shown.size(); ++i) region.add(texels(o.shown[i].second));
            if (!region.empty()) {
                o.pixels_painted += repaint(doc, image_id, image_w, image_h, tex, region, o.rgba);
                o.dirty.add(region);
                changed = true;
            }
        }
    }
    o.shown = std::move(now);

    // the selected annotation's mask
    const annotation_overlay::painted *sp = nullptr;
    for (const auto &e : o.shown)
        if (e.first == selected_id) sp = &e.second;
    const int64_t new_id = sp ? selected_id : 0;
    if (fresh || new_id != o.selected_id || (sp && !(*sp == o.selected_paint))) {
        if (!fresh && o.selected_id) {
            const overlay_rect r = texels(o.selected_paint);
            clear_mask(tex, r, o.selected);
            o.selected_dirty.add(r);
        }
        if (sp) {
            o.pixels_painted += paint_mask(sel->mask, tex, all, o.selected);
            o.selected_dirty.add(texels(*sp));
            o.selected_paint = *sp;
            o.selected_color = sp->color;
        }
        o.selected_id = new_id;
        changed = true;
    }
    if (changed) o.revision++;
    return changed;
}

void overlay_mark_uploaded(annotation_overlay &o) {
    o.dirty = overlay_rect{};
    o.selected_dirty = overlay_rect{};
}

void overlay_paint_full(const annotation_document &doc, int64_t image_id, int64_t selected_id, int image_w,
                        int image_h, texture_size tex, std::vector<uint8_t> &rgba, std::vector<uint8_t> &selected) {
    rgba.assign((size_t)std::max(0, tex.w) * std::max(0, tex.h) * 4, 0);
    selected.assign((size_t)std::max(0, tex.w) * std::max(0, tex.h), 0);
    if (tex.w <= 0 || tex.h <= 0) return;
    const overlay_rect all{0, 0, tex.w, tex.h};
    repaint(doc, image_id, image_w, image_h, tex, all, rgba);
    const annotation *a = doc.find_annotation(selected_id);
    if (a && a->image_id == image_id && !a->hidden) paint_mask(a->mask, tex, all, selected);
}

}  // namespace sam
