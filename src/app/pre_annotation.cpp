// pre_annotation.cpp - machine-made starting points for the shown image:
// (1) segment-everything proposals from DATASET/proposals/<embedding stem>.json (written by
//     scripts/embed --everything), drawn as outlines, picked with the proposals tool or the
//     list, accepted one by one (Enter) or all above a predicted IoU (one undo step);
// (2) detector boxes (COCO JSON or YOLO txt + class list) run one by one as SAM box prompts
//     through the decoder worker, one box per decoder message, so the page stays responsive;
//     the masks become machine-made annotations with the detector's category and score.
// (3) when the dataset has no proposals for the image, segment everything in the browser:
//     the core's automatic mask generator (official parameters; the whole image, no crop
//     layers) fed one grid point per decoder message with the interactive decoder.
// A proposal counts as accepted while an annotation of its image has exactly its mask, so
// undo, redo, deleting the annotation and reloading the page all bring it back or keep it
// hidden without bookkeeping.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/annotator_parts.h"
#include "app/platform.h"
#include "core/mask_postprocess.h"
#include "core/resize_longest_side.h"
#include "core/rle.h"
#include "imgui.h"

namespace sam {

namespace {

constexpr int kLowRes = 256;
// Outlines: Douglas-Peucker tolerance in image pixels (drawing only; masks stay exact).
constexpr double kOutlineTolerance = 1.0;

std::string base_name(const std::string &path) {
    size_t slash = path.find_last_of("/\\");
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string stem_of(const std::string &path) {
    std::string b = base_name(path);
    size_t dot = b.find_last_of('.');
    return dot == std::string::npos || dot == 0 ? b : b.substr(0, dot);
}

bool same_mask(const rle &a, const rle &b) {
    return a.height == b.height && a.width == b.width && a.counts == b.counts;
}

const manifest_image *shown_entry(const annotator &app) {
    if (app.current < 0 || app.current >= (int)app.dataset.images.size()) return nullptr;
    return &app.dataset.images[app.current];
}

}  // namespace

// ---- proposals ---------------------------------------------------------------

void clear_proposals(annotator &app) {
    app.proposals = mask_proposals{};
    app.proposal_outlines.clear();
    app.proposal_taken.clear();
    app.proposal_annotations.clear();
    app.proposal_taken_revision = ~uint64_t(0);
    app.selected_proposal = -1;
    app.proposals_status = "none";
    app.proposals_url.clear();
}

// The file lives at a fixed place beside the manifest: proposals/<stem of the embedding>.json,
// as scripts/embed --everything names it (proposals_path in scripts/embedder/everything.mjs).
void load_proposals(annotator &app) {
    clear_proposals(app);
    const manifest_image *entry = shown_entry(app);
    if (!entry || entry->embedding.empty() || entry->embedding.compare(0, 6, "local:") == 0 ||
        app.manifest_url.compare(0, 6, "local:") == 0)
        return;
    const std::string relative = "proposals/" + stem_of(entry->embedding) + ".json";
    app.proposals_url = url_resolve(app.manifest_url, relative);
    app.proposals_status = "loading";
    const int generation = app.load_generation;  // an image switch bumps it: late replies are dropped
    const int w = entry->width, h = entry->height;
    http_request r;
    r.url = app.proposals_url;
    platform_http(r, [&app, generation, w, h, relative](int code, std::string body, std::string error) {
        if (generation != app.load_generation) return;
        if (code == 404) {
            app.proposals_status = "missing";  // none made for this image: not an error
            return;
        }
        if (code != 200) {
            app.proposals_status = "error";
            return add_image_error(app, relative + ": " + (code ? "HTTP " + std::to_string(code) : error));
        }
        mask_proposals p;
        status st = parse_mask_proposals(body, relative, w, h, p);
        if (!st) {
            app.proposals_status = "error";
            return add_image_error(app, st.message);
        }
        app.proposal_outlines.clear();
        for (const mask_proposal &q : p.proposals)
            app.proposal_outlines.push_back(mask_to_polygons(rle_to_mask(q.segmentation), kOutlineTolerance));
        app.proposals = std::move(p);
        app.proposal_taken.assign(app.proposals.proposals.size(), 0);
        app.proposal_taken_revision = ~uint64_t(0);
        app.proposals_status = "loaded";
    });
}

void update_proposal_taken(annotator &app) {
    const manifest_image *entry = shown_entry(app);
    if (!entry || app.proposals.proposals.empty() || app.proposal_taken_revision == app.doc.revision()) return;
    app.proposal_taken_revision = app.doc.revision();
    const size_t n = app.proposals.proposals.size();
    app.proposal_taken.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
        auto it = app.proposal_annotations.find(i);
        if (it != app.proposal_annotations.end() && app.doc.find_annotation(it->second)) app.proposal_taken[i] = 1;
    }
    for (const annotation &a : app.doc.annotations()) {
        if (a.image_id != entry->id) continue;
        for (size_t i = 0; i < n; ++i)
            if (!app.proposal_taken[i] && same_mask(a.mask, app.proposals.proposals[i].segmentation))
                app.proposal_taken[i] = 1;
    }
    if (app.selected_proposal >= 0 && app.proposal_taken[(size_t)app.selected_proposal]) app.selected_proposal = -1;
}

// The smallest untaken proposal under the pixel; clicking again inside the selected one
// moves to the next larger one there (nested objects: part, then whole).
void select_proposal_at(annotator &app, double x, double y) {
    std::vector<int> under;
    for (size_t i = 0; i < app.proposals.proposals.size(); ++i)
        if (!(i < app.proposal_taken.size() && app.proposal_taken[i]) &&
            rle_contains(app.proposals.proposals[i].segmentation, (int)x, (int)y))
            under.push_back((int)i);
    if (under.empty()) {
        app.selected_proposal = -1;
        return;
    }
    std::stable_sort(under.begin(), under.end(), [&](int a, int b) {
        return app.proposals.proposals[(size_t)a].area < app.proposals.proposals[(size_t)b].area;
    });
    auto it = std::find(under.begin(), under.end(), app.selected_proposal);
    app.selected_proposal = it == under.end() || it + 1 == under.end() ? under.front() : *(it + 1);
}

void draw_proposals(const annotator &app) {
    if (!app.show_proposals || app.proposal_outlines.empty() || !app.image_ready) return;
    ImDrawList *dl = ImGui::GetBackgroundDrawList();
    dl->PushClipRect(ImVec2(app.area.x, app.area.y), ImVec2(app.area.x + app.area.w, app.area.y + app.area.h));
    std::vector<ImVec2> pts;
    auto ring = [&](const polygon &p, ImU32 col, float thickness) {
        pts.clear();
        for (size_t k = 0; k + 1 < p.xy.size(); k += 2)  // pixel corners: no half-pixel shift
            pts.push_back(ImVec2((float)app.view.to_canvas_x(p.xy[k]), (float)app.view.to_canvas_y(p.xy[k + 1])));
        if (pts.size() >= 2) dl->AddPolyline(pts.data(), (int)pts.size(), col, ImDrawFlags_Closed, thickness);
    };
    for (size_t i = 0; i < app.proposal_outlines.size(); ++i) {
        if ((i < app.proposal_taken.size() && app.proposal_taken[i]) || (int)i == app.selected_proposal) continue;
        for (const polygon &p : app.proposal_outlines[i].polygons) ring(p, IM_COL32(255, 255, 255, 150), 1.0f);
    }
    if (app.selected_proposal >= 0 && app.selected_proposal < (int)app.proposal_outlines.size()) {
        const polygon_set &s = app.proposal_outlines[(size_t)app.selected_proposal];
        for (const polygon &p : s.polygons) ring(p, IM_COL32(255, 200, 0, 255), 3.0f);
        for (const polygon &p : s.holes) ring(p, IM_COL32(255, 200, 0, 255), 2.0f);
    }
    dl->PopClipRect();
}

namespace {

// Adds proposal `index` (machine-made, current category); no checks of taken-ness.
status add_proposal_annotation(annotator &app, size_t index, int64_t *out_id) {
    const mask_proposal &p = app.proposals.proposals[index];
    annotation a;
    a.image_id = app.dataset.images[app.current].id;
    a.category_id = app.current_category;
    a.mask = p.segmentation;
    a.score = p.predicted_iou;
    a.source = annotation_source::machine;
    if (p.has_point) a.prompts.points.push_back(prompt_point{p.point[0], p.point[1], 1});
    status st = app.doc.add_annotation(std::move(a), out_id);
    if (st) app.proposal_annotations[index] = *out_id;
    return st;
}

bool proposal_available(const annotator &app, int index) {
    return index >= 0 && index < (int)app.proposals.proposals.size() &&
           !((size_t)index < app.proposal_taken.size() && app.proposal_taken[(size_t)index]);
}

}  // namespace

int annotator_accept_proposal(annotator &app, int index) {
    if (!app.restore_done || !proposal_available(app, index) || app.current < 0) return 0;
    ensure_category(app);
    ensure_doc_image(app);
    int64_t id = 0;
    status st = add_proposal_annotation(app, (size_t)index, &id);
    if (!st) {
        add_error(app, "accept proposal: " + st.message);
        return 0;
    }
    app.selected_annotation = id;
    app.selected_proposal = -1;
    update_proposal_taken(app);
    return 1;
}

int annotator_accept_proposals_above(annotator &app, double min_iou) {
    if (!app.restore_done || app.current < 0) return 0;
    update_proposal_taken(app);
    std::vector<size_t> chosen;
    for (size_t i = 0; i < app.proposals.proposals.size(); ++i)
        if (proposal_available(app, (int)i) && app.proposals.proposals[i].predicted_iou >= min_iou) chosen.push_back(i);
    if (chosen.empty()) {
        app.notices.push_back("No proposal left with predicted IoU >= " + std::to_string(min_iou).substr(0, 4));
        return 0;
    }
    // best first, so the annotation list reads from the most confident
    std::stable_sort(chosen.begin(), chosen.end(), [&](size_t a, size_t b) {
        return app.proposals.proposals[a].predicted_iou > app.proposals.proposals[b].predicted_iou;
    });
    ensure_category(app);
    app.doc.begin_group("accept proposals");
    ensure_doc_image(app);
    for (size_t i : chosen) {
        int64_t id = 0;
        status st = add_proposal_annotation(app, i, &id);
        if (!st) {
            app.doc.cancel_group();
            add_error(app, "accept proposals: " + st.message);
            return 0;
        }
    }
    app.doc.end_group();
    app.selected_proposal = -1;
    app.notices.push_back("Accepted " + std::to_string(chosen.size()) + " proposals");
    update_proposal_taken(app);
    return (int)chosen.size();
}

namespace {

void panel_everything(annotator &app) {
    if (everything_active(app)) {
        char overlay[64];
        const size_t done = app.everything_next - (app.everything_request ? 1 : 0);
        std::snprintf(overlay, sizeof overlay, "%d / %d points", (int)done, (int)app.everything_total);
        ImGui::ProgressBar(app.everything_total ? (float)done / (float)app.everything_total : 0.0f, ImVec2(-1, 0),
                           overlay);
        note_rect(app, "everything_progress");
        bool cancel = ImGui::Button("Cancel##everything");
        note_rect(app, "everything_cancel");
        if (cancel) everything_cancel(app);
        return;
    }
    ImGui::TextDisabled("none for this image");
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("scripts/embed --everything --out DATASET makes them on the server");
    const float w = ImGui::GetContentRegionAvail().x - 70;
    ImGui::SetNextItemWidth(w);
    ImGui::SliderInt("points/side", &app.everything_points_per_side, 2, 64);
    note_rect(app, "everything_points_per_side");
    ImGui::SetNextItemWidth(w);
    ImGui::SliderFloat("IoU thr.", &app.everything_pred_iou_thresh, 0.0f, 1.0f, "%.2f");
    note_rect(app, "everything_pred_iou_thresh");
    ImGui::SetNextItemWidth(w);
    ImGui::SliderFloat("stability", &app.everything_stability_thresh, 0.0f, 1.0f, "%.2f");
    note_rect(app, "everything_stability_thresh");
    char label[64];
    std::snprintf(label, sizeof label, "Segment everything (%d points)",
                  app.everything_points_per_side * app.everything_points_per_side);
    ImGui::BeginDisabled(!app.embedding_ready || detector_active(app));
    bool start = ImGui::Button(label);
    note_rect(app, "everything_start");
    ImGui::EndDisabled();
    if (start) everything_start(app);
}

}  // namespace

void panel_proposals(annotator &app) {
    size_t left = 0;
    for (size_t i = 0; i < app.proposals.proposals.size(); ++i) left += proposal_available(app, (int)i);
    ImGui::Text("Proposals: %d of %d left", (int)left, (int)app.proposals.proposals.size());
    if (app.proposals_status == "missing" || app.proposals_status == "none" || app.proposals_status == "generating")
        return panel_everything(app);
    if (app.proposals_status != "loaded" && app.proposals_status != "generated") {
        ImGui::TextDisabled("%s", app.proposals_status.c_str());
        return;
    }
    ImGui::Checkbox("show outlines", &app.show_proposals);
    ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - 60);
    ImGui::SliderFloat("min IoU", &app.proposal_min_iou, 0.0f, 1.0f, "%.2f");
    note_rect(app, "proposal_min_iou");
    char label[96];
    size_t above = 0;
    for (size_t i = 0; i < app.proposals.proposals.size(); ++i)
        above += proposal_available(app, (int)i) && app.proposals.proposals[i].predicted_iou >= app.proposal_min_iou;
    std::snprintf(label, sizeof label, "Accept all IoU >= %.2f (%d)", app.proposal_min_iou, (int)above);
    ImGui::BeginDisabled(above == 0);
    bool all = ImGui::Button(label);
    note_rect(app, "accept_all_proposals");
    ImGui::EndDisabled();
    if (all) annotator_accept_proposals_above(app, app.proposal_min_iou);
    if (ImGui::BeginChild("proposal list", ImVec2(0, 140), true)) {
        for (size_t i = 0; i < app.proposals.proposals.size(); ++i) {
            if (!proposal_available(app, (int)i)) continue;
            const mask_proposal &p = app.proposals.proposals[i];
            ImGui::PushID((int)i);
            std::snprintf(label, sizeof label, "#%d  IoU %.3f  %llu px", (int)i, p.predicted_iou,
                          (unsigned long long)p.area);
            if (ImGui::Selectable(label, (int)i == app.selected_proposal)) {
                app.selected_proposal = (int)i;
                app.tool = tool_kind::proposal;  // Enter now accepts it
            }
            note_rect(app, "proposal_" + std::to_string(i));
            if (ImGui::IsItemHovered())
                ImGui::SetTooltip("stability %.3f, bbox %.0f %.0f %.0f %.0f", p.stability_score, p.bbox.x, p.bbox.y,
                                  p.bbox.w, p.bbox.h);
            ImGui::PopID();
        }
    }
    ImGui::EndChild();
    ImGui::BeginDisabled(!proposal_available(app, app.selected_proposal));
    if (ImGui::Button("Accept proposal (Enter)")) annotator_accept_proposal(app, app.selected_proposal);
    note_rect(app, "accept_proposal");
    ImGui::EndDisabled();
}

// ---- segment everything in the browser -------------------------------------------

bool everything_active(const annotator &app) { return app.everything != nullptr; }

void everything_start(annotator &app) {
    const manifest_image *entry = shown_entry(app);
    if (everything_active(app) || detector_active(app) || !entry || !app.image_ready || !app.embedding_ready) return;
    amg_params p;
    p.points_per_side = app.everything_points_per_side;
    p.pred_iou_thresh = app.everything_pred_iou_thresh;
    p.stability_score_thresh = app.everything_stability_thresh;
    status st = amg_params_validate(p);
    if (!st) return add_error(app, "segment everything: " + st.message);
    app.everything = std::make_unique<amg_generator>(p, app.image.height, app.image.width);
    app.everything_total = app.everything->crop_points(0).size() / 2;
    app.everything_next = 0;
    app.everything_request = 0;
    app.everything_image = entry->id;
    app.everything_start_ms = platform_now_ms();
    app.everything_previous_status = app.proposals_status;
    app.proposals_status = "generating";
    // the prompt in progress would compete for the decoder
    app.points.clear();
    app.has_box = false;
    app.has_result = false;
    app.selected_output = -1;
    show_selected_logits(app);
}

void everything_cancel(annotator &app) {
    if (!everything_active(app)) return;
    app.everything.reset();
    app.everything_request = 0;
    app.proposals_status = app.everything_previous_status;
}

namespace {

void everything_finish(annotator &app) {
    std::vector<amg_record> records = app.everything->finish();
    const amg_stats stats = app.everything->stats();
    const double secs = (platform_now_ms() - app.everything_start_ms) / 1000.0;
    const size_t points = app.everything_total;
    app.everything.reset();
    mask_proposals p;
    p.image = app.current >= 0 ? app.dataset.images[app.current].file : "";
    p.width = app.image.width;
    p.height = app.image.height;
    app.proposal_outlines.clear();
    for (amg_record &r : records) {
        mask_proposal q;
        q.segmentation = std::move(r.segmentation);
        q.area = rle_area(q.segmentation);
        q.bbox = rle_to_bbox(q.segmentation);
        q.predicted_iou = r.predicted_iou;
        q.stability_score = r.stability_score;
        q.has_point = true;
        q.point[0] = r.point_coords[0];
        q.point[1] = r.point_coords[1];
        app.proposal_outlines.push_back(mask_to_polygons(rle_to_mask(q.segmentation), kOutlineTolerance));
        p.proposals.push_back(std::move(q));
    }
    app.proposals = std::move(p);
    app.proposal_taken.assign(app.proposals.proposals.size(), 0);
    app.proposal_taken_revision = ~uint64_t(0);
    app.proposal_annotations.clear();
    app.selected_proposal = -1;
    app.proposals_status = "generated";
    char line[160];
    std::snprintf(line, sizeof line, "Segment everything: %d masks from %d points (%d passed IoU, %d stable) in %.1f s",
                  (int)app.proposals.proposals.size(), (int)points, (int)stats.passed_iou,
                  (int)stats.passed_stability, secs);
    app.notices.push_back(line);
}

}  // namespace

void tick_everything(annotator &app) {
    if (!everything_active(app) || app.everything_request) return;
    if (app.everything_next >= app.everything_total) return everything_finish(app);
    if (!app.image_ready || !app.embedding_ready || !app.dec || app.dec->status() != decoder_status::ready) return;
    const std::vector<double> pts = app.everything->crop_points(0);  // crop 0 = the whole image: image pixels
    const size_t i = app.everything_next;
    send_request(app, request_kind::everything_point, {click_point{pts[2 * i], pts[2 * i + 1], 1}}, false, nullptr);
    if (app.everything_request) app.everything_next++;
}

void everything_result(annotator &app, decoder_result &r) {
    if (!everything_active(app) || r.request_id != app.everything_request || app.everything_next == 0) return;
    app.everything_request = 0;
    std::string problem;
    if (!r.error.empty()) problem = "decoder: " + r.error;
    else if (r.mask_count != 4 && r.mask_count != 3)
        problem = "the decoder gives " + std::to_string(r.mask_count) + " masks per prompt; the multimask outputs are needed";
    else if ((int)r.low_res_masks.size() != r.mask_count * kLowRes * kLowRes)
        problem = "decoder: unexpected low_res_masks size";
    if (problem.empty()) {
        status st = app.everything->add_batch(0, app.everything_next - 1, 1, r.iou_predictions.data(),
                                              r.low_res_masks.data(), r.mask_count);
        if (!st) problem = st.message;
    }
    if (!problem.empty()) {
        everything_cancel(app);
        add_error(app, "segment everything: " + problem);
    }
}

// ---- detector boxes -------------------------------------------------------------

bool detector_active(const annotator &app) { return !app.detector_file.empty(); }

// A COCO file of boxes rather than of masks: the results list, or annotations with a bbox
// and no segmentation.
bool is_detector_json(const std::string &text) {
    using json = nlohmann::json;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return false;
    if (j.is_array()) return true;
    if (!j.is_object() || !j.contains("annotations") || !j["annotations"].is_array()) return false;
    bool any_box = false;
    for (const json &a : j["annotations"]) {
        if (!a.is_object()) continue;
        if (a.contains("segmentation")) return false;
        any_box = any_box || a.contains("bbox");
    }
    return any_box;
}

namespace {

void start_detector(annotator &app, const std::string &name, const std::vector<detector_box> &boxes) {
    if (detector_active(app)) return add_error(app, name + ": another detector file is still running");
    if (everything_active(app)) return add_error(app, name + ": segment everything is running; cancel it first");
    const manifest_image *entry = shown_entry(app);
    app.detector_jobs.clear();
    for (const detector_box &b : boxes) {
        annotator::detector_job j;
        for (int k = 0; k < 4; ++k) j.bbox[k] = b.bbox[k];
        j.category = !b.category.empty() ? b.category : "category " + std::to_string(b.category_id);
        j.score = b.score;
        app.detector_jobs.push_back(j);
    }
    if (app.detector_jobs.empty()) {
        app.notices.push_back(name + ": no boxes for " + (entry ? coco_file_name(*entry) : std::string("this image")));
        return;
    }
    app.detector_file = name;
    app.detector_image = entry->id;
    app.detector_next = 0;
    app.detector_request = 0;
    app.detector_done.clear();
    app.detector_empty.clear();
    // the prompt in progress would compete for the decoder
    app.points.clear();
    app.has_box = false;
    app.has_result = false;
    app.selected_output = -1;
    show_selected_logits(app);
}

bool can_import(annotator &app, const std::string &name) {
    if (!app.restore_done || !shown_entry(app)) {
        add_error(app, name + ": open a dataset or an image before importing detector boxes");
        return false;
    }
    return true;
}

}  // namespace

void import_detector_coco(annotator &app, const std::string &name, const std::string &text) {
    if (!can_import(app, name)) return;
    const manifest_image &entry = *shown_entry(app);
    detector_boxes d;
    std::vector<std::string> problems;
    status st = parse_coco_boxes(text, name, d, problems);
    for (const std::string &p : problems) add_error(app, p);
    if (!st) return add_error(app, st.message);
    // this image's boxes: by file name (base names compared), else by the manifest's image id
    const std::string mine = base_name(entry.file);
    std::vector<detector_box> boxes;
    for (detector_box b : d.boxes) {
        bool match = !b.image.empty() ? base_name(b.image) == mine : b.image_id == entry.id;
        if (!match) continue;
        if (!clip_box_to_image(b.bbox, entry.width, entry.height)) {
            add_error(app, name + ": a box of " + mine + " lies outside the image; skipped");
            continue;
        }
        boxes.push_back(b);
    }
    start_detector(app, name, boxes);
}

void set_yolo_classes(annotator &app, const std::string &name, const std::string &text) {
    app.yolo_classes = parse_yolo_classes(text);
    app.yolo_classes_file = name;
    app.notices.push_back(name + ": " + std::to_string(app.yolo_classes.size()) +
                          " classes for the YOLO label files opened next");
}

void import_detector_yolo(annotator &app, const std::string &name, const std::string &text) {
    if (!can_import(app, name)) return;
    const manifest_image &entry = *shown_entry(app);
    std::vector<detector_box> boxes;
    std::vector<std::string> problems;
    parse_yolo_boxes(text, name, coco_file_name(entry), entry.width, entry.height, app.yolo_classes, boxes, problems);
    for (const std::string &p : problems) add_error(app, p);
    for (detector_box &b : boxes)
        if (b.category.empty()) b.category = "class " + std::to_string(b.category_id - 1);
    start_detector(app, name, boxes);
}

void tick_detector(annotator &app) {
    if (!detector_active(app) || app.detector_request) return;
    if (app.detector_next >= app.detector_jobs.size()) return detector_finish(app);
    if (!app.image_ready || !app.embedding_ready || !app.dec || app.dec->status() != decoder_status::ready) return;
    const annotator::detector_job &j = app.detector_jobs[app.detector_next];
    // the server's convention (sam_amg box): XYWH -> XYXY with x1 = x + w
    const double xyxy[4] = {j.bbox[0], j.bbox[1], j.bbox[0] + j.bbox[2], j.bbox[1] + j.bbox[3]};
    send_request(app, request_kind::detector_box, {}, true, xyxy);
    if (app.detector_request) app.detector_next++;
}

void detector_result(annotator &app, decoder_result &r) {
    if (!detector_active(app) || r.request_id != app.detector_request || app.detector_next == 0) return;
    app.detector_request = 0;
    const annotator::detector_job &j = app.detector_jobs[app.detector_next - 1];
    const std::string what = app.detector_file + ": box [" + std::to_string((int)j.bbox[0]) + ", " +
                             std::to_string((int)j.bbox[1]) + ", " + std::to_string((int)j.bbox[2]) + ", " +
                             std::to_string((int)j.bbox[3]) + "] " + j.category;
    if (!r.error.empty()) return add_error(app, what + ": decoder: " + r.error);
    if (r.mask_count <= 0 || (int)r.low_res_masks.size() != r.mask_count * kLowRes * kLowRes)
        return add_error(app, what + ": decoder: unexpected low_res_masks size");
    const manifest_image *entry = nullptr;
    for (const manifest_image &m : app.dataset.images)
        if (m.id == app.detector_image) entry = &m;
    if (!entry || !app.image_ready) return;
    const int h = app.image.height, w = app.image.width;
    // SAM's box prompt, single-mask output (token 0), as scripts/embed --boxes
    image_shape in = get_preprocess_shape(h, w);
    rle mask = mask_to_rle(postprocess_to_mask(r.low_res_masks.data(), in.height, in.width, h, w));
    if (rle_area(mask) == 0) {
        app.detector_empty.push_back(what);
        return;
    }
    annotator::detector_mask d;
    d.ann.image_id = app.detector_image;
    d.ann.mask = std::move(mask);
    d.ann.score = j.score;
    d.ann.source = annotation_source::machine;
    d.ann.prompts.has_box = true;
    d.ann.prompts.box_xyxy[0] = j.bbox[0];
    d.ann.prompts.box_xyxy[1] = j.bbox[1];
    d.ann.prompts.box_xyxy[2] = j.bbox[0] + j.bbox[2];
    d.ann.prompts.box_xyxy[3] = j.bbox[1] + j.bbox[3];
    d.category = j.category;
    app.detector_done.push_back(std::move(d));
}

void detector_finish(annotator &app) {
    if (!detector_active(app)) return;
    const std::string file = app.detector_file;
    const size_t total = app.detector_jobs.size(), made = app.detector_done.size();
    const bool cancelled = app.detector_next < total || app.detector_request;
    app.detector_file.clear();
    app.detector_request = 0;
    if (!app.detector_done.empty()) {
        app.doc.begin_group("detector boxes");
        const int current = app.current;
        for (int i = 0; i < (int)app.dataset.images.size(); ++i)
            if (app.dataset.images[i].id == app.detector_image) app.current = i;
        ensure_doc_image(app);
        app.current = current;
        status st;
        for (annotator::detector_mask &d : app.detector_done) {
            int64_t cat = 0;
            for (const doc_category &c : app.doc.categories())
                if (c.name == d.category) cat = c.id;
            if (!cat) {
                float r, g, b;  // golden-angle hues, as new categories in the panel
                ImGui::ColorConvertHSVtoRGB(std::fmod(0.58f + 0.381966f * (float)app.doc.categories().size(), 1.0f),
                                            0.75f, 0.95f, r, g, b);
                st = app.doc.add_category(d.category, rgb8{(uint8_t)(r * 255), (uint8_t)(g * 255), (uint8_t)(b * 255)},
                                          &cat);
                if (!st) break;
            }
            d.ann.category_id = cat;
            st = app.doc.add_annotation(std::move(d.ann));
            if (!st) break;
        }
        if (st) {
            app.doc.end_group();
        } else {
            app.doc.cancel_group();
            add_error(app, file + ": " + st.message);
        }
    }
    app.detector_done.clear();
    for (const std::string &e : app.detector_empty) add_error(app, e + ": empty mask");
    app.notices.push_back(file + ": " + std::to_string(made) + " masks from " + std::to_string(total) + " boxes" +
                          (cancelled ? " (cancelled)" : "") +
                          (app.detector_empty.empty() ? "" : ", " + std::to_string(app.detector_empty.size()) + " empty"));
    app.detector_jobs.clear();
    app.detector_next = 0;
    ensure_category(app);
}

void panel_detector(annotator &app) {
    ImGui::Separator();
    ImGui::TextUnformatted("Detector boxes");
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("open or drop a COCO .json of boxes, or a YOLO .txt (+ classes.txt) for this image");
    if (!detector_active(app)) {
        ImGui::TextDisabled("open/drop boxes (.json, .txt)");
        if (!app.yolo_classes_file.empty())
            ImGui::TextDisabled("classes: %s (%d)", app.yolo_classes_file.c_str(), (int)app.yolo_classes.size());
        return;
    }
    const size_t total = app.detector_jobs.size();
    const size_t finished = app.detector_next - (app.detector_request ? 1 : 0);
    char overlay[64];
    std::snprintf(overlay, sizeof overlay, "%d / %d boxes", (int)finished, (int)total);
    ImGui::ProgressBar(total ? (float)finished / (float)total : 0.0f, ImVec2(-1, 0), overlay);
    note_rect(app, "detector_progress");
    bool cancel = ImGui::Button("Cancel");
    note_rect(app, "detector_cancel");
    if (cancel) detector_finish(app);
}

}  // namespace sam
