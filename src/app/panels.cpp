#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/annotator_parts.h"
#include "app/platform.h"
#include "imgui.h"

namespace sam {

// Remembers the last widget's rectangle under `name` (state().ui).
void note_rect(annotator &app, const std::string &name) {
    ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    app.ui_rects[name] = {a.x, a.y, b.x - a.x, b.y - a.y};
}

namespace {

constexpr ImGuiWindowFlags kPanelFlags = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                         ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings;


void panel_categories(annotator &app);
void panel_annotations(annotator &app);

// A distinct colour for the n-th category (golden-angle hues).
rgb8 palette_colour(size_t n) {
    float r, g, b;
    ImGui::ColorConvertHSVtoRGB(std::fmod(0.58f + 0.381966f * (float)n, 1.0f), 0.75f, 0.95f, r, g, b);
    return rgb8{(uint8_t)(r * 255), (uint8_t)(g * 255), (uint8_t)(b * 255)};
}

void panel_categories(annotator &app) {
    ImGui::TextUnformatted("Categories (Shift+1..9)");
    int n = 0;
    int64_t remove = 0;
    for (const doc_category &c : app.doc.categories()) {
        ImGui::PushID((int)c.id);
        float col[3] = {c.color.r / 255.0f, c.color.g / 255.0f, c.color.b / 255.0f};
        if (ImGui::ColorEdit3("##colour", col, ImGuiColorEditFlags_NoInputs | ImGuiColorEditFlags_NoLabel))
            app.doc.recolor_category(c.id, rgb8{(uint8_t)(col[0] * 255 + 0.5f), (uint8_t)(col[1] * 255 + 0.5f),
                                                (uint8_t)(col[2] * 255 + 0.5f)});
        ImGui::SameLine();
        char label[96];
        std::snprintf(label, sizeof label, "%d %s (%d)", ++n, c.name.c_str(),
                      (int)app.doc.count_annotations_with_category(c.id));
        if (ImGui::Selectable(label, c.id == app.current_category, 0, ImVec2(ImGui::GetContentRegionAvail().x - 24, 0)))
            app.current_category = c.id;
        note_rect(app, "category_" + std::to_string(n));
        if (ImGui::BeginPopupContextItem("category menu")) {
            static char name[64];
            if (ImGui::IsWindowAppearing()) std::snprintf(name, sizeof name, "%s", c.name.c_str());
            if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
            ImGui::InputText("name", name, sizeof name);
            bool rename = ImGui::Button("Rename");
            note_rect(app, "rename_category");
            if (rename) {
                status st = app.doc.rename_category(c.id, name);
                if (!st) app.notices.push_back(st.message);
                ImGui::CloseCurrentPopup();
            }
            ImGui::EndPopup();
        }
        ImGui::SameLine();
        if (ImGui::SmallButton("x")) remove = c.id;
        ImGui::PopID();
    }
    if (remove) {
        status st = app.doc.delete_category(remove);
        if (!st) app.notices.push_back(st.message);
        ensure_category(app);
    }
    ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - 44);
    bool enter = ImGui::InputTextWithHint("##new category", "new category", app.new_category_name,
                                          sizeof app.new_category_name, ImGuiInputTextFlags_EnterReturnsTrue);
    note_rect(app, "new_category");
    ImGui::SameLine();
    bool add = ImGui::Button("Add");
    note_rect(app, "add_category");
    if ((add || enter) && app.new_category_name[0]) {
        int64_t id = 0;
        status st = app.doc.add_category(app.new_category_name, palette_colour(app.doc.categories().size()), &id);
        if (st) {
            app.current_category = id;
            app.new_category_name[0] = 0;
        } else {
            app.notices.push_back(st.message);
        }
    }
    ImGui::TextDisabled("right-click a category to rename it");
}

void panel_annotations(annotator &app) {
    int64_t image_id = app.current >= 0 ? app.dataset.images[app.current].id : -1;
    int count = 0;
    for (const annotation &a : app.doc.annotations()) count += a.image_id == image_id;
    ImGui::Text("Annotations on this image: %d", count);
    if (ImGui::BeginTable("annotations", 4, ImGuiTableFlags_ScrollY | ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH,
                          ImVec2(0, std::max(80.0f, ImGui::GetContentRegionAvail().y - 150)))) {
        ImGui::TableSetupColumn("id", ImGuiTableColumnFlags_WidthFixed, 34);
        ImGui::TableSetupColumn("category", ImGuiTableColumnFlags_WidthStretch);
        ImGui::TableSetupColumn("hide", ImGuiTableColumnFlags_WidthFixed, 18);
        ImGui::TableSetupColumn("del", ImGuiTableColumnFlags_WidthFixed, 18);
        int64_t remove = 0;
        for (const annotation &a : app.doc.annotations()) {
            if (a.image_id != image_id) continue;
            ImGui::PushID((int)a.id);
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            char label[32];  // machine-made (proposal, detector) until confirmed: marked with *
            std::snprintf(label, sizeof label, "%lld%s", (long long)a.id,
                          a.source == annotation_source::machine ? "*" : "");
            if (ImGui::Selectable(label, a.id == app.selected_annotation, ImGuiSelectableFlags_SpanAllColumns |
                                                                              ImGuiSelectableFlags_AllowItemOverlap))
                app.selected_annotation = a.id == app.selected_annotation ? 0 : a.id;
            note_rect(app, "annotation_" + std::to_string(a.id));
            if (ImGui::IsItemHovered())
                ImGui::SetTooltip("area %.0f px, bbox %.0f %.0f %.0f %.0f, score %.3f", a.area, a.bbox.x, a.bbox.y,
                                  a.bbox.w, a.bbox.h, a.score);
            ImGui::TableNextColumn();
            const doc_category *cat = app.doc.find_category(a.category_id);
            ImGui::SetNextItemWidth(-1);
            bool open = ImGui::BeginCombo("##category", cat ? cat->name.c_str() : "?");
            note_rect(app, "annotation_category_" + std::to_string(a.id));
            if (open) {
                for (const doc_category &c : app.doc.categories()) {
                    if (ImGui::Selectable(c.name.c_str(), c.id == a.category_id) && c.id != a.category_id) {
                        // a person's choice: a machine-made annotation becomes theirs
                        app.doc.begin_group("change category");
                        app.doc.set_annotation_category(a.id, c.id);
                        app.doc.confirm_annotation(a.id);
                        app.doc.end_group();
                    }
                    note_rect(app, "category_option_" + std::to_string(c.id));
                }
                ImGui::EndCombo();
            }
            ImGui::TableNextColumn();
            bool visible = !a.hidden;
            if (ImGui::Checkbox("##visible", &visible)) app.doc.set_annotation_hidden(a.id, !visible);
            note_rect(app, "annotation_visible_" + std::to_string(a.id));
            ImGui::TableNextColumn();
            if (ImGui::SmallButton("x")) remove = a.id;
            note_rect(app, "annotation_delete_" + std::to_string(a.id));
            ImGui::PopID();
        }
        ImGui::EndTable();
        if (remove) {
            app.doc.delete_annotation(remove);
            if (remove == app.selected_annotation) app.selected_annotation = 0;
        }
    }
    ImGui::BeginDisabled(!app.has_result);
    if (ImGui::Button("Accept (Enter)")) annotator_accept(app, accept_merge::none);
    ImGui::EndDisabled();
    ImGui::BeginDisabled(!app.has_result || !app.selected_annotation);
    if (ImGui::Button("Add to selected (Shift+Enter)")) annotator_accept(app, accept_merge::add);
    if (ImGui::Button("Cut from selected (Alt+Enter)")) annotator_accept(app, accept_merge::subtract);
    ImGui::EndDisabled();
    const annotation *sel = app.doc.find_annotation(app.selected_annotation);
    if (sel && sel->source == annotation_source::machine) {
        bool confirm = ImGui::Button("Confirm machine-made (C)");
        note_rect(app, "confirm_annotation");
        if (confirm) app.doc.confirm_annotation(sel->id);
    }
    ImGui::BeginDisabled(!app.doc.can_undo());
    if (ImGui::Button("Undo")) annotator_undo(app);
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(!app.doc.can_redo());
    if (ImGui::Button("Redo")) annotator_redo(app);
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::TextDisabled("%d steps", (int)app.doc.undo_depth());
    ImGui::Checkbox("RLE", &app.export_rle);
    ImGui::SameLine();
    ImGui::Checkbox("all images", &app.export_all_images);
    bool export_clicked = ImGui::Button("Export COCO JSON");
    note_rect(app, "export");
    if (export_clicked) {
        std::string name = app.export_all_images || app.current < 0
                               ? "annotations.json"
                               : app.doc.find_image(app.dataset.images[app.current].id)->file_name + ".json";
        for (char &c : name)
            if (c == '/' || c == '\\') c = '_';
        platform_download(name, annotator_export_coco(app, app.export_rle, app.export_all_images), "application/json");
    }
}

}  // namespace

void panel_images(annotator &app, float x, float y, float w, float h) {
    ImGui::SetNextWindowPos(ImVec2(x, y));
    ImGui::SetNextWindowSize(ImVec2(w, h));
    ImGui::Begin("Images", nullptr, kPanelFlags);
    bool open = ImGui::Button("Open files...");
    note_rect(app, "open_files");
    if (open) platform_open_files();
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("an image + its .npy embedding, or a COCO .json to import (or drop them on the page)");
    if (app.manifest_url.empty()) {
        ImGui::TextWrapped("No dataset. Open index.html?manifest=<url of manifest.json>, or open (or drop) an "
                           "image and its .npy embedding.");
    } else if (!app.manifest_loaded) {
        ImGui::TextUnformatted("Loading manifest...");
    } else {
        ImGui::TextDisabled("%s", app.dataset.model_id.c_str());
        for (int i = 0; i < (int)app.dataset.images.size(); ++i) {
            const manifest_image &im = app.dataset.images[i];
            ImGui::PushID(i);
            if (ImGui::Selectable(im.file.c_str(), i == app.current)) annotator_open_image(app, i);
            ImGui::PopID();
        }
    }
    ImGui::Separator();
    ImGui::TextUnformatted("Tool");
    if (ImGui::RadioButton("Points (P)", app.tool == tool_kind::point)) app.tool = tool_kind::point;
    if (ImGui::RadioButton("Box (B)", app.tool == tool_kind::box)) app.tool = tool_kind::box;
    if (ImGui::Button("Clear prompt (Esc)")) annotator_clear_prompt(app);
    if (ImGui::Button("Fit (F)")) app.fit_pending = true;
    ImGui::SameLine();
    if (ImGui::Button("Help (F1)")) app.show_help = !app.show_help;
    if (ImGui::RadioButton("Proposals (E)", app.tool == tool_kind::proposal)) app.tool = tool_kind::proposal;
    note_rect(app, "tool_proposals");
    if (app.manifest_loaded) {
        ImGui::Separator();
        panel_categories(app);
        ImGui::Separator();
        panel_proposals(app);
        panel_detector(app);
    }
    ImGui::End();
}

void panel_candidates(annotator &app, float x, float y, float w, float h) {
    ImGui::SetNextWindowPos(ImVec2(x, y));
    ImGui::SetNextWindowSize(ImVec2(w, h));
    ImGui::Begin("Candidates", nullptr, kPanelFlags);
    if (!app.has_result) {
        ImGui::TextWrapped("Hover the image to preview, click to add points, drag for a box.");
    } else {
        const decoder_result &r = app.result;
        ImGui::Text("%s", app.result_kind == request_kind::hover ? "hover preview" : "prompt");
        int first = r.mask_count == 4 ? 1 : 0;
        for (int i = first; i < r.mask_count; ++i) {
            char label[64];
            std::snprintf(label, sizeof label, "%d  IoU %.3f", i - first + 1, r.iou_predictions[i]);
            if (ImGui::Selectable(label, app.selected_output == i)) {
                app.selected_output = i;
                show_selected_logits(app);
            }
        }
        if (r.mask_count == 4) {
            char label[64];
            std::snprintf(label, sizeof label, "single  IoU %.3f", r.iou_predictions[0]);
            if (ImGui::Selectable(label, app.selected_output == 0)) {
                app.selected_output = 0;
                show_selected_logits(app);
            }
        }
    }
    ImGui::Separator();
    ImGui::Text("points %d%s", (int)app.points.size(), app.has_box ? " + box" : "");
    if (app.manifest_loaded) {
        ImGui::Separator();
        panel_annotations(app);
    }
    ImGui::End();
}

void status_bar(annotator &app, float w, float h) {
    ImGui::SetNextWindowPos(ImVec2(0, h - kStatusBarH));
    ImGui::SetNextWindowSize(ImVec2(w, kStatusBarH));
    ImGui::Begin("##status", nullptr, kPanelFlags | ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoScrollbar);
    if (!app.errors.empty() || !app.image_errors.empty()) {
        ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%d error(s): see the list above",
                           (int)(app.errors.size() + app.image_errors.size()));
    } else if (!app.server_error.empty()) {
        ImGui::TextColored(ImVec4(1, 0.7f, 0.3f, 1), "%s", app.server_error.c_str());
    } else {
        const char *ds = "no decoder";
        if (app.dec) switch (app.dec->status()) {
                case decoder_status::idle: ds = "decoder idle"; break;
                case decoder_status::loading: ds = "loading decoder..."; break;
                case decoder_status::ready: ds = "decoder ready"; break;
                case decoder_status::failed: ds = "decoder failed"; break;
            }
        ImGui::Text("%s | %s | %s | decode %.0f ms (round trip %.0f ms), %d decodes | zoom %.0f%%%s%s", ds,
                    app.dataset.model_id.c_str(), app.dec ? app.dec->description().c_str() : "",
                    app.last_decode_ms, app.last_round_trip_ms, app.decode_count, app.view.scale * 100,
                    app.notices.empty() ? "" : " | ", app.notices.empty() ? "" : app.notices.back().c_str());
    }
    ImGui::End();
}

void help_window(annotator &app, float w, float h) {
    if (!app.show_help) return;
    ImGui::SetNextWindowPos(ImVec2(w * 0.5f, h * 0.5f), ImGuiCond_Always, ImVec2(0.5f, 0.5f));
    ImGui::SetNextWindowSize(ImVec2(std::min(640.0f, w - 40), 0));
    ImGui::Begin("Help (F1 or ?)", &app.show_help, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings);
    static const char *rows[][2] = {
        {"hover", "preview the mask under the cursor"},
        {"left click / Alt+click", "positive / negative point"},
        {"right click", "negative point (on a point: remove it)"},
        {"drag a point", "move it"},
        {"drag (B: box tool)", "box prompt"},
        {"1 2 3", "pick a candidate mask"},
        {"Enter", "accept the mask as a new annotation"},
        {"Shift+Enter / Alt+Enter", "add to / cut from the selected annotation"},
        {"Esc", "clear the prompt (again: deselect)"},
        {"Shift+1..9", "current category"},
        {"Delete, H", "delete / hide the selected annotation"},
        {"Ctrl+Z, Ctrl+Shift+Z", "undo, redo"},
        {"wheel, middle drag, Space+drag", "zoom at cursor, pan"},
        {"F", "fit the image to the window"},
        {"Left/Right, PgUp/PgDn", "previous / next image"},
        {"P, B, E", "point tool, box tool, proposals tool (click selects a proposal)"},
        {"Enter (proposals tool)", "accept the selected proposal"},
        {"C", "confirm the selected machine-made annotation"},
        {"F1, ?", "this help"},
    };
    if (ImGui::BeginTable("keys", 2, ImGuiTableFlags_RowBg)) {
        ImGui::TableSetupColumn("key", ImGuiTableColumnFlags_WidthFixed, 250);
        ImGui::TableSetupColumn("does", ImGuiTableColumnFlags_WidthStretch);
        for (auto &r : rows) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(r[0]);
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(r[1]);
        }
        ImGui::EndTable();
    }
    ImGui::TextWrapped("Edits are autosaved in this browser%s.",
                       app.server_dataset.empty() ? "" : " and on the server");
    ImGui::End();
}

// The empty canvas says how to start.
void open_files_screen(annotator &app) {
    if (!app.manifest_url.empty() || app.manifest_loaded) return;
    ImGui::SetNextWindowPos(ImVec2(app.area.x + app.area.w * 0.5f, app.area.y + app.area.h * 0.45f), ImGuiCond_Always,
                            ImVec2(0.5f, 0.5f));
    ImGui::SetNextWindowSize(ImVec2(std::min(460.0f, app.area.w - 20), 0));
    ImGui::Begin("Open", nullptr, kPanelFlags | ImGuiWindowFlags_NoTitleBar);
    ImGui::TextWrapped("Drop an image and its embedding (.npy, written by scripts/embed) on this page, or");
    bool open = ImGui::Button("Open files...");
    note_rect(app, "open_files_screen");
    if (open) platform_open_files();
    ImGui::TextWrapped("A dataset opens with index.html?manifest=<url of manifest.json>. The decoder is "
                       "?decoder=<url>, else decoder.onnx beside this page.");
    ImGui::End();
}

// Every error in full, over the top of the canvas, until dismissed.
void errors_window(annotator &app) {
    if (app.errors.empty() && app.image_errors.empty()) return;
    ImGui::SetNextWindowPos(ImVec2(app.area.x + 12, app.area.y + 12));
    ImGui::SetNextWindowSize(ImVec2(std::max(200.0f, app.area.w - 24), 0));
    ImGui::PushStyleColor(ImGuiCol_WindowBg, ImVec4(0.25f, 0.05f, 0.05f, 0.94f));
    ImGui::Begin("Problems", nullptr, kPanelFlags);
    for (const std::string &e : app.errors) ImGui::TextWrapped("%s", e.c_str());
    for (const std::string &e : app.image_errors) ImGui::TextWrapped("%s", e.c_str());
    bool dismiss = ImGui::Button("Dismiss");
    note_rect(app, "dismiss_errors");
    if (dismiss) {
        app.errors.clear();
        app.image_errors.clear();
    }
    ImGui::End();
    ImGui::PopStyleColor();
}

void server_conflict_window(annotator &app, float w) {
    if (app.server_conflict.empty()) return;
    ImGui::SetNextWindowPos(ImVec2(w * 0.5f, 60), ImGuiCond_Always, ImVec2(0.5f, 0));
    ImGui::SetNextWindowSize(ImVec2(480, 0));
    ImGui::Begin("Save conflict", nullptr, kPanelFlags);
    ImGui::TextWrapped("%s", app.server_conflict.c_str());
    bool overwrite = ImGui::Button("Overwrite the server with mine");
    note_rect(app, "conflict_overwrite");
    if (overwrite) {
        app.server_version = app.server_conflict_version;
        app.server_conflict.clear();
        app.server_due_ms = 0;
    }
    ImGui::SameLine();
    bool load_theirs = ImGui::Button("Load the server's (discard mine)");
    note_rect(app, "conflict_load_server");
    if (load_theirs) {
        app.server_conflict.clear();
        reset_document(app);
        app.restore_done = false;
        fetch_server_annotations(app, [&app](bool ok, const std::string &text, double version) {
            if (ok) {
                size_t n = import_saved(app, text, "server annotations");
                app.server_version = version;
                app.notices.push_back("Loaded " + std::to_string(n) + " annotations from the server");
            }
            finish_restore(app);
            app.autosaved_revision = ~uint64_t(0);  // overwrite the browser's copy now
        });
    }
    ImGui::End();
}

}  // namespace sam
