// pre_annotation_panels.cpp - the left panel's machine-made starting points: the shown
// image's proposals (list, threshold, accept all), segment everything in the browser
// when there are none, and detector box imports (progress, cancel).
#include <cstdio>

#include "app/annotator.h"
#include "imgui.h"

namespace sam {

namespace {

void panel_everything(annotator &app) {
    everything_state &e = app.everything;
    if (everything_active(e)) {
        char overlay[64];
        std::snprintf(overlay, sizeof overlay, "%d / %d points", (int)e.done, (int)e.total);
        ImGui::ProgressBar(e.total ? (float)e.done / (float)e.total : 0.0f, ImVec2(-1, 0), overlay);
        note_rect(app.ui, "everything_progress");
        const bool cancel = ImGui::Button("Cancel##everything");
        note_rect(app.ui, "everything_cancel");
        if (cancel) annotator_cancel_everything(app);
        return;
    }
    ImGui::TextDisabled("none for this image");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("scripts/embed --everything --out DATASET makes them on the server");
    const float w = ImGui::GetContentRegionAvail().x - 70;
    ImGui::SetNextItemWidth(w);
    ImGui::SliderInt("points/side", &e.points_per_side, 2, 64);
    note_rect(app.ui, "everything_points_per_side");
    ImGui::SetNextItemWidth(w);
    ImGui::SliderFloat("IoU thr.", &e.pred_iou_thresh, 0.0f, 1.0f, "%.2f");
    note_rect(app.ui, "everything_pred_iou_thresh");
    ImGui::SetNextItemWidth(w);
    ImGui::SliderFloat("stability", &e.stability_thresh, 0.0f, 1.0f, "%.2f");
    note_rect(app.ui, "everything_stability_thresh");
    char label[64];
    std::snprintf(label, sizeof label, "Segment everything (%d points)", e.points_per_side * e.points_per_side);
    ImGui::BeginDisabled(!app.data.embedding_ready || detector_active(app.detector));
    const bool start = ImGui::Button(label);
    note_rect(app.ui, "everything_start");
    ImGui::EndDisabled();
    if (start) annotator_start_everything(app);
}

}  // namespace

void panel_proposals(annotator &app) {
    proposals_state &p = app.proposals;
    const size_t n = p.proposals.proposals.size();
    size_t left = 0;
    for (size_t i = 0; i < n; ++i) left += proposal_available(p, (int)i);
    ImGui::Text("Proposals: %d of %d left", (int)left, (int)n);
    if (p.status == "missing" || p.status == "none" || p.status == "generating") return panel_everything(app);
    if (p.status != "loaded" && p.status != "generated") {
        ImGui::TextDisabled("%s", p.status.c_str());
        return;
    }
    if (ImGui::Checkbox("show outlines", &p.show)) p.revision++;
    ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - 60);
    ImGui::SliderFloat("min IoU", &p.min_iou, 0.0f, 1.0f, "%.2f");
    note_rect(app.ui, "proposal_min_iou");
    char label[96];
    size_t above = 0;
    std::vector<int> rows;  // the untaken ones, listed; only the visible rows are laid out
    for (size_t i = 0; i < n; ++i) {
        if (!proposal_available(p, (int)i)) continue;
        rows.push_back((int)i);
        above += p.proposals.proposals[i].predicted_iou >= p.min_iou;
    }
    std::snprintf(label, sizeof label, "Accept all IoU >= %.2f (%d)", p.min_iou, (int)above);
    ImGui::BeginDisabled(above == 0);
    const bool all = ImGui::Button(label);
    note_rect(app.ui, "accept_all_proposals");
    ImGui::EndDisabled();
    if (all) annotator_accept_proposals_above(app, p.min_iou);
    int pick = -1;
    if (ImGui::BeginChild("proposal list", ImVec2(0, 140), true)) {
        ImGuiListClipper clipper;
        clipper.Begin((int)rows.size());
        while (clipper.Step())
            for (int r = clipper.DisplayStart; r < clipper.DisplayEnd; ++r) {
                const int i = rows[(size_t)r];
                const mask_proposal &q = p.proposals.proposals[(size_t)i];
                ImGui::PushID(i);
                std::snprintf(label, sizeof label, "#%d  IoU %.3f  %llu px", i, q.predicted_iou, (unsigned long long)q.area);
                if (ImGui::Selectable(label, i == p.selected)) pick = i;
                note_rect(app.ui, "proposal_" + std::to_string(i));
                if (ImGui::IsItemHovered())
                    ImGui::SetTooltip("stability %.3f, bbox %.0f %.0f %.0f %.0f", q.stability_score, q.bbox.x, q.bbox.y,
                                      q.bbox.w, q.bbox.h);
                ImGui::PopID();
            }
    }
    ImGui::EndChild();
    if (pick >= 0) {
        proposals_select(p, pick);
        app.prompt.tool = tool_kind::proposal;  // Enter now accepts it
    }
    ImGui::BeginDisabled(!proposal_available(p, p.selected));
    if (ImGui::Button("Accept proposal (Enter)")) annotator_accept_proposal(app, p.selected);
    note_rect(app.ui, "accept_proposal");
    ImGui::EndDisabled();
}

void panel_detector(annotator &app) {
    const detector_state &s = app.detector;
    ImGui::Separator();
    ImGui::TextUnformatted("Detector boxes");
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("open or drop a COCO .json of boxes, or a YOLO .txt (+ classes.txt) for this image");
    if (!detector_active(s)) {
        ImGui::TextDisabled("open/drop boxes (.json, .txt)");
        if (!s.yolo_classes_file.empty())
            ImGui::TextDisabled("classes: %s (%d)", s.yolo_classes_file.c_str(), (int)s.yolo_classes.size());
        return;
    }
    const size_t total = s.jobs.size();
    char overlay[64];
    std::snprintf(overlay, sizeof overlay, "%d / %d boxes", (int)s.finished, (int)total);
    ImGui::ProgressBar(total ? (float)s.finished / (float)total : 0.0f, ImVec2(-1, 0), overlay);
    note_rect(app.ui, "detector_progress");
    const bool cancel = ImGui::Button("Cancel");
    note_rect(app.ui, "detector_cancel");
    if (cancel) annotator_finish_detector(app);
}

}  // namespace sam
