// proposal_outlines.h - the shown image's proposals as outlines over the canvas,
// tessellated ONCE per change (proposals, taken, selection, view, canvas area) into
// ImDrawLists of their own, which each frame's draw data then carries as they are
// (no per-frame geometry work). Lists hold < 64k vertices each (16-bit indices).
//   proposal_outlines_update(o, app);  after ImGui::Render(): proposal_outlines_lists(o)
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "app/proposals.h"
#include "app/view_transform.h"
#include "imgui.h"

namespace sam {

struct proposal_outlines {
    std::vector<std::unique_ptr<ImDrawList>> lists;
    uint64_t proposals_revision = 0;
    view_transform view;
    canvas_rect area;
    bool shown = false;
    uint64_t revision = 0;  // bumps on every rebuild (part of the frame's signature)
};

void proposal_outlines_update(proposal_outlines &o, const proposals_state &p, const view_transform &view,
                              const canvas_rect &area, bool visible);

}  // namespace sam
