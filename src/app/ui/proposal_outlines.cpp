#include "app/ui/proposal_outlines.h"

namespace sam {

namespace {

bool same_view(const view_transform &a, const view_transform &b) {
    return a.scale == b.scale && a.offset_x == b.offset_x && a.offset_y == b.offset_y;
}

bool same_area(const canvas_rect &a, const canvas_rect &b) { return a.x == b.x && a.y == b.y && a.w == b.w && a.h == b.h; }

ImDrawList *fresh_list(proposal_outlines &o, const canvas_rect &area) {
    auto list = std::make_unique<ImDrawList>(ImGui::GetDrawListSharedData());
    list->_ResetForNewFrame();
    list->PushTextureID(ImGui::GetIO().Fonts->TexID);
    list->PushClipRect(ImVec2(area.x, area.y), ImVec2(area.x + area.w, area.y + area.h));
    o.lists.push_back(std::move(list));
    return o.lists.back().get();
}

}  // namespace

void proposal_outlines_update(proposal_outlines &o, const proposals_state &p, const view_transform &view,
                              const canvas_rect &area, bool visible) {
    const bool shown = visible && p.show && !p.outlines.empty();
    if (o.revision && shown == o.shown && p.revision == o.proposals_revision && same_view(view, o.view) &&
        same_area(area, o.area))
        return;
    o.shown = shown;
    o.proposals_revision = p.revision;
    o.view = view;
    o.area = area;
    o.revision++;
    o.lists.clear();
    if (!shown) return;
    ImDrawList *dl = fresh_list(o, area);
    std::vector<ImVec2> pts;
    auto ring = [&](const polygon &poly, ImU32 col, float thickness) {
        pts.clear();
        for (size_t k = 0; k + 1 < poly.xy.size(); k += 2)  // pixel corners: no half-pixel shift
            pts.push_back(ImVec2((float)view.to_canvas_x(poly.xy[k]), (float)view.to_canvas_y(poly.xy[k + 1])));
        if (pts.size() < 2) return;
        // a thick closed polyline takes 4 vertices per point (anti-aliased): stay below 16-bit indices
        if (dl->VtxBuffer.Size + (int)pts.size() * 8 > 60000) dl = fresh_list(o, area);
        dl->AddPolyline(pts.data(), (int)pts.size(), col, ImDrawFlags_Closed, thickness);
    };
    for (size_t i = 0; i < p.outlines.size(); ++i) {
        if (!proposal_available(p, (int)i) || (int)i == p.selected) continue;
        for (const polygon &poly : p.outlines[i].polygons) ring(poly, IM_COL32(255, 255, 255, 150), 1.0f);
    }
    if (p.selected >= 0 && p.selected < (int)p.outlines.size()) {
        const polygon_set &s = p.outlines[(size_t)p.selected];
        for (const polygon &poly : s.polygons) ring(poly, IM_COL32(255, 200, 0, 255), 3.0f);
        for (const polygon &poly : s.holes) ring(poly, IM_COL32(255, 200, 0, 255), 2.0f);
    }
    for (auto &l : o.lists) l->_PopUnusedDrawCmd();
}

}  // namespace sam
