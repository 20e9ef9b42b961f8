#include "app/panels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/annotator.h"
#include "imgui.h"

namespace sam {

void note_rect(ui_state &ui, const std::string &name) {
    const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    ui.rects[name] = {a.x, a.y, b.x - a.x, b.y - a.y};
}

namespace {

constexpr ImGuiWindowFlags k_panel_flags = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                           ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings;

void panel_categories(annotator &app) {
    document_state &d = app.doc;
    ImGui::TextUnformatted("Categories (Shift+1..9)");
    int n = 0;
    int64_t remove = 0;
    for (const doc_category &c : d.doc.categories()) {
        ImGui::PushID((int)c.id);
        float col[3] = {c.color.r / 255.0f, c.color.g / 255.0f, c.color.b / 255.0f};
        if (ImGui::ColorEdit3("##colour", col, ImGuiColorEditFlags_NoInputs | ImGuiColorEditFlags_NoLabel))
            document_recolor_category(d, c.id, rgb8{(uint8_t)(col[0] * 255 + 0.5f), (uint8_t)(col[1] * 255 + 0.5f),
                                                    (uint8_t)(col[2] * 255 + 0.5f)});
        ImGui::SameLine();
        char label[96];
        std::snprintf(label, sizeof label, "%d %s (%d)", ++n, c.name.c_str(),
                      (int)d.doc.count_annotations_with_category(c.id));
        if (ImGui::Selectable(label, c.id == d.current_category, 0, ImVec2(ImGui::GetContentRegionAvail().x - 24, 0)))
            d.current_category = c.id;
        note_rect(app.ui, "category_" + std::to_string(n));
        if (ImGui::BeginPopupContextItem("category menu")) {
            static char name[64];
            if (ImGui::IsWindowAppearing()) std::snprintf(name, sizeof name, "%s", c.name.c_str());
            if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
            ImGui::InputText("name", name, sizeof name);
            const bool rename = ImGui::Button("Rename");
            note_rect(app.ui, "rename_category");
            if (rename) {
                status st = document_rename_category(d, c.id, name);
                if (!st) add_notice(app.messages, st.message);
                ImGui::CloseCurrentPopup();
            }
            ImGui::EndPopup();
        }
        ImGui::SameLine();
        if (ImGui::SmallButton("x")) remove = c.id;
        ImGui::PopID();
    }
    if (remove) {
        status st = document_delete_category(d, remove);
        if (!st) add_notice(app.messages, st.message);
        document_ensure_category(d);
    }
    ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x - 44);
    const bool enter = ImGui::InputTextWithHint("##new category", "new category", app.ui.new_category_name,
                                                sizeof app.ui.new_category_name, ImGuiInputTextFlags_EnterReturnsTrue);
    note_rect(app.ui, "new_category");
    ImGui::SameLine();
    const bool add = ImGui::Button("Add");
    note_rect(app.ui, "add_category");
    if ((add || enter) && app.ui.new_category_name[0]) {
        int64_t id = 0;
        status st = document_add_category(d, app.ui.new_category_name, category_palette_colour(d.doc.categories().size()), &id);
        if (st) {
            d.current_category = id;
            app.ui.new_category_name[0] = 0;
        } else {
            add_notice(app.messages, st.message);
        }
    }
    ImGui::TextDisabled("right-click a category to rename it");
}

void annotation_row(annotator &app, const annotation &a, int64_t &remove) {
    document_state &d = app.doc;
    ImGui::PushID((int)a.id);
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    char label[32];  // machine-made (proposal, detector) until confirmed: marked with *
    std::snprintf(label, sizeof label, "%lld%s", (long long)a.id, a.source == annotation_source::machine ? "*" : "");
    if (ImGui::Selectable(label, a.id == d.selected_annotation,
                          ImGuiSelectableFlags_SpanAllColumns | ImGuiSelectableFlags_AllowItemOverlap))
        d.selected_annotation = a.id == d.selected_annotation ? 0 : a.id;
    note_rect(app.ui, "annotation_" + std::to_string(a.id));
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("area %.0f px, bbox %.0f %.0f %.0f %.0f, score %.3f", a.area, a.bbox.x, a.bbox.y, a.bbox.w,
                          a.bbox.h, a.score);
    ImGui::TableNextColumn();
    const doc_category *cat = d.doc.find_category(a.category_id);
    ImGui::SetNextItemWidth(-1);
    const bool open = ImGui::BeginCombo("##category", cat ? cat->name.c_str() : "?");
    note_rect(app.ui, "annotation_category_" + std::to_string(a.id));
    if (open) {
        for (const doc_category &c : d.doc.categories()) {
            if (ImGui::Selectable(c.name.c_str(), c.id == a.category_id) && c.id != a.category_id) {
                // a person's choice: a machine-made annotation becomes theirs
                document_begin_group(d, "change category");
                document_set_category(d, a.id, c.id);
                document_confirm(d, a.id);
                document_end_group(d);
            }
            note_rect(app.ui, "category_option_" + std::to_string(c.id));
        }
        ImGui::EndCombo();
    }
    ImGui::TableNextColumn();
    bool visible = !a.hidden;
    if (ImGui::Checkbox("##visible", &visible)) document_set_hidden(d, a.id, !visible);
    note_rect(app.ui, "annotation_visible_" + std::to_string(a.id));
    ImGui::TableNextColumn();
    if (ImGui::SmallButton("x")) remove = a.id;
    note_rect(app.ui, "annotation_delete_" + std::to_string(a.id));
    ImGui::PopID();
}

// Training data: YOLO segmentation labels and PNG masks as one ZIP each (core/dataset_export.h).
void panel_training_exports(annotator &app) {
    static const struct {
        export_format format;
        const char *label, *rect;
    } formats[] = {{export_format::yolo_seg, "Export YOLO segmentation (zip)", "export_yolo_seg"},
                   {export_format::png_masks, "Export PNG masks (zip)", "export_png_masks"}};
    for (const auto &f : formats) {
        const bool clicked = ImGui::Button(f.label);
        note_rect(app.ui, f.rect);
        if (!clicked) continue;
        std::vector<uint8_t> zip;
        std::string name;
        export_report rep;
        status st = annotator_export_zip(app, f.format, app.ui.export_all_images, zip, name, rep);
        if (!st) {
            add_error(app.messages, "export: " + st.message);
            continue;
        }
        for (const std::string &w : rep.warnings) add_notice(app.messages, w);
        platform_download_bytes(name, zip, "application/zip");
        add_notice(app.messages, "Exported " + std::to_string(rep.instances) + " instances of " +
                                     std::to_string(rep.images) + " images as " + name);
    }
}

// The in-browser encoder: its state, and the person's say for an encoder the model does not
// declare browser-capable (a ViT-B encoder takes minutes per image here).
void panel_encoder(annotator &app) {
    browser_encoding_state &e = app.encoding;
    const manifest &m = app.data.data;
    if (m.encoder.empty()) return;
    if (!m.browser_encoder) {
        bool asked = e.asked;
        if (ImGui::Checkbox("encode in the browser (slow)", &asked)) {
            e.asked = asked;
            if (asked) browser_encoding_load(e, app.data.manifest_url, m);
            if (asked && app.data.current >= 0) annotator_open_image(app, app.data.current);
        }
        note_rect(app.ui, "encode_in_browser");
    }
    if (e.status == encoder_status::off) return;
    const char *what = e.status == encoder_status::ready     ? e.description.c_str()
                       : e.status == encoder_status::loading ? "loading..."
                                                             : "failed";
    ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
    if (e.total > 0) ImGui::TextWrapped("encoder: %s; %d of %d images encoded here", what, (int)e.encoded.size(), e.total);
    else ImGui::TextWrapped("encoder: %s (drop photos to encode them here)", what);
    ImGui::PopStyleColor();
}

void panel_annotations(annotator &app) {
    document_state &d = app.doc;
    const manifest_image *entry = shown_entry(app.data);
    const int64_t image_id = entry ? entry->id : -1;
    // this image's rows; only the visible ones are laid out (ImGuiListClipper)
    std::vector<size_t> rows;
    const std::vector<annotation> &all = d.doc.annotations();
    for (size_t i = 0; i < all.size(); ++i)
        if (all[i].image_id == image_id) rows.push_back(i);
    ImGui::Text("Annotations on this image: %d", (int)rows.size());
    if (ImGui::BeginTable("annotations", 4, ImGuiTableFlags_ScrollY | ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH,
                          ImVec2(0, std::max(80.0f, ImGui::GetContentRegionAvail().y - 200)))) {
        ImGui::TableSetupColumn("id", ImGuiTableColumnFlags_WidthFixed, 34);
        ImGui::TableSetupColumn("category", ImGuiTableColumnFlags_WidthStretch);
        ImGui::TableSetupColumn("hide", ImGuiTableColumnFlags_WidthFixed, 18);
        ImGui::TableSetupColumn("del", ImGuiTableColumnFlags_WidthFixed, 18);
        int64_t remove = 0;
        ImGuiListClipper clipper;
        clipper.Begin((int)rows.size());
        while (clipper.Step())
            for (int r = clipper.DisplayStart; r < clipper.DisplayEnd; ++r) annotation_row(app, all[rows[(size_t)r]], remove);
        ImGui::EndTable();
        if (remove) {
            document_delete_annotation(d, remove);
            if (remove == d.selected_annotation) d.selected_annotation = 0;
        }
    }
    const bool has_result = app.prompt.has_result;
    ImGui::BeginDisabled(!has_result);
    if (ImGui::Button("Accept (Enter)")) annotator_accept(app, accept_merge::none);
    ImGui::EndDisabled();
    ImGui::BeginDisabled(!has_result || !d.selected_annotation);
    if (ImGui::Button("Add to selected (Shift+Enter)")) annotator_accept(app, accept_merge::add);
    if (ImGui::Button("Cut from selected (Alt+Enter)")) annotator_accept(app, accept_merge::subtract);
    ImGui::EndDisabled();
    const annotation *sel = d.doc.find_annotation(d.selected_annotation);
    if (sel && sel->source == annotation_source::machine) {
        const bool confirm = ImGui::Button("Confirm machine-made (C)");
        note_rect(app.ui, "confirm_annotation");
        if (confirm) document_confirm(d, sel->id);
    }
    ImGui::BeginDisabled(!d.doc.can_undo());
    if (ImGui::Button("Undo")) annotator_undo(app);
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::BeginDisabled(!d.doc.can_redo());
    if (ImGui::Button("Redo")) annotator_redo(app);
    ImGui::EndDisabled();
    ImGui::SameLine();
    ImGui::TextDisabled("%d steps", (int)d.doc.undo_depth());
    ImGui::Checkbox("RLE", &app.ui.export_rle);
    ImGui::SameLine();
    ImGui::Checkbox("all images", &app.ui.export_all_images);
    const bool export_clicked = ImGui::Button("Export COCO JSON");
    note_rect(app.ui, "export");
    if (export_clicked) {
        std::string name = app.ui.export_all_images || !entry ? "annotations.json" : coco_file_name(*entry) + ".json";
        for (char &c : name)
            if (c == '/' || c == '\\') c = '_';
        platform_download(name, annotator_export_coco(app, app.ui.export_rle, app.ui.export_all_images),
                          "application/json");
    }
    panel_training_exports(app);
}

}  // namespace

void panel_images(annotator &app, float x, float y, float w, float h) {
    ImGui::SetNextWindowPos(ImVec2(x, y));
    ImGui::SetNextWindowSize(ImVec2(w, h));
    ImGui::Begin("Images", nullptr, k_panel_flags);
    const bool open = ImGui::Button("Open files...");
    note_rect(app.ui, "open_files");
    if (open) platform_open_files();
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("images (+ their .npy embeddings, or encoded here when the model allows), a COCO .json, "
                          "YOLO labels (.txt + data.yaml / classes.txt, a folder or a .zip); or drop them on the page");
    const dataset_state &d = app.data;
    if (d.manifest_url.empty()) {
        ImGui::TextWrapped("No dataset. Open index.html?manifest=<url of manifest.json>, or open (or drop) an "
                           "image and its .npy embedding.");
    } else if (!d.manifest_loaded) {
        ImGui::TextUnformatted("Loading manifest...");
    } else {
        ImGui::TextDisabled("%s", d.data.model_id.c_str());
        panel_encoder(app);
        const int n = (int)d.data.images.size();
        // a long image list scrolls in a child window of its own, drawing only the visible rows
        if (n > 8) ImGui::BeginChild("image list", ImVec2(0, 8 * ImGui::GetTextLineHeightWithSpacing()));
        ImGuiListClipper clipper;
        clipper.Begin(n);
        int open_index = -1;
        while (clipper.Step())
            for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
                ImGui::PushID(i);
                if (ImGui::Selectable(d.data.images[(size_t)i].file.c_str(), i == d.current)) open_index = i;
                ImGui::PopID();
            }
        if (n > 8) ImGui::EndChild();
        if (open_index >= 0) annotator_open_image(app, open_index);
    }
    ImGui::Separator();
    ImGui::TextUnformatted("Tool");
    prompt_state &p = app.prompt;
    if (ImGui::RadioButton("Points (P)", p.tool == tool_kind::point)) p.tool = tool_kind::point;
    if (ImGui::RadioButton("Box (B)", p.tool == tool_kind::box)) p.tool = tool_kind::box;
    if (ImGui::Button("Clear prompt (Esc)")) annotator_clear_prompt(app);
    if (ImGui::Button("Fit (F)")) app.canvas.fit_pending = true;
    ImGui::SameLine();
    if (ImGui::Button("Help (F1)")) app.ui.show_help = !app.ui.show_help;
    if (ImGui::RadioButton("Proposals (E)", p.tool == tool_kind::proposal)) p.tool = tool_kind::proposal;
    note_rect(app.ui, "tool_proposals");
    if (d.manifest_loaded) {
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
    ImGui::Begin("Candidates", nullptr, k_panel_flags);
    prompt_state &p = app.prompt;
    if (!p.has_result) {
        ImGui::TextWrapped("Hover the image to preview, click to add points, drag for a box.");
    } else {
        const decoder_result &r = p.result;
        ImGui::Text("%s", p.result_kind == request_kind::hover ? "hover preview" : "prompt");
        const int first = r.mask_count == 4 ? 1 : 0;
        for (int i = first; i < r.mask_count; ++i) {
            char label[64];
            std::snprintf(label, sizeof label, "%d  IoU %.3f", i - first + 1, r.iou_predictions[(size_t)i]);
            if (ImGui::Selectable(label, p.selected_output == i)) prompt_select_output(p, i);
        }
        if (r.mask_count == 4) {
            char label[64];
            std::snprintf(label, sizeof label, "single  IoU %.3f", r.iou_predictions[0]);
            if (ImGui::Selectable(label, p.selected_output == 0)) prompt_select_output(p, 0);
        }
    }
    ImGui::Separator();
    ImGui::Text("points %d%s", (int)p.shape.points.size(), p.shape.has_box ? " + box" : "");
    if (app.data.manifest_loaded) {
        ImGui::Separator();
        panel_annotations(app);
    }
    ImGui::End();
}

void status_bar(annotator &app, float w, float h) {
    ImGui::SetNextWindowPos(ImVec2(0, h - k_status_bar_h));
    ImGui::SetNextWindowSize(ImVec2(w, k_status_bar_h));
    ImGui::Begin("##status", nullptr, k_panel_flags | ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoScrollbar);
    const app_messages &m = app.messages;
    if (has_errors(m)) {
        ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%d error(s): see the list above",
                           (int)(m.errors.size() + m.image_errors.size()));
    } else if (!app.save.server.error.empty()) {
        ImGui::TextColored(ImVec4(1, 0.7f, 0.3f, 1), "%s", app.save.server.error.c_str());
    } else {
        const char *ds = "no decoder";
        switch (app.decoder.status()) {
            case decoder_status::idle: ds = "decoder idle"; break;
            case decoder_status::loading: ds = "loading decoder..."; break;
            case decoder_status::ready: ds = "decoder ready"; break;
            case decoder_status::failed: ds = "decoder failed"; break;
        }
        // the backend and its thread count: "C++ wasm SIMD, 2 threads" / "ORT 1.30.0 wasm, 1 thread"
        // "encoding image 2 of 5 (cat.jpg)..." ahead of the newest notice while the encoder works
        const std::string progress = browser_encoding_progress(app.encoding, app.data);
        const std::string note = !progress.empty() ? progress : m.notices.empty() ? "" : m.notices.back();
        ImGui::Text("%s | %s | %s | decode %.0f ms (round trip %.0f ms), %d decodes | zoom %.0f%%%s%s", ds,
                    app.data.data.model_id.c_str(), app.decoder.description().c_str(), app.prompt.last_decode_ms,
                    app.prompt.last_round_trip_ms, app.prompt.decode_count, app.canvas.view.scale * 100,
                    note.empty() ? "" : " | ", note.c_str());
    }
    note_rect(app.ui, "status_bar");
    ImGui::End();
}

void help_window(annotator &app, float w, float h) {
    if (!app.ui.show_help) return;
    ImGui::SetNextWindowPos(ImVec2(w * 0.5f, h * 0.5f), ImGuiCond_Always, ImVec2(0.5f, 0.5f));
    ImGui::SetNextWindowSize(ImVec2(std::min(640.0f, w - 40), 0));
    ImGui::Begin("Help (F1 or ?)", &app.ui.show_help, ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings);
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
                       app.save.server.mode == server_mode::none ? "" : " and on the server");
    ImGui::End();
}

// The empty canvas says how to start.
void open_files_screen(annotator &app) {
    if (!app.data.manifest_url.empty() || app.data.manifest_loaded) return;
    const canvas_rect &a = app.canvas.area;
    ImGui::SetNextWindowPos(ImVec2(a.x + a.w * 0.5f, a.y + a.h * 0.45f), ImGuiCond_Always, ImVec2(0.5f, 0.5f));
    ImGui::SetNextWindowSize(ImVec2(std::min(460.0f, a.w - 20), 0));
    ImGui::Begin("Open", nullptr, k_panel_flags | ImGuiWindowFlags_NoTitleBar);
    ImGui::TextWrapped("Drop images on this page (with their .npy embeddings from scripts/embed, or without when "
                       "model.json beside the page names an encoder that runs in the browser), or");
    const bool open = ImGui::Button("Open files...");
    note_rect(app.ui, "open_files_screen");
    if (open) platform_open_files();
    ImGui::TextWrapped("A dataset opens with index.html?manifest=<url of manifest.json>. The decoder is "
                       "?decoder=<url>, else decoder.onnx beside this page.");
    ImGui::End();
}

// Every error in full, over the top of the canvas, until dismissed.
void errors_window(annotator &app) {
    app_messages &m = app.messages;
    if (!has_errors(m)) return;
    const canvas_rect &a = app.canvas.area;
    ImGui::SetNextWindowPos(ImVec2(a.x + 12, a.y + 12));
    ImGui::SetNextWindowSize(ImVec2(std::max(200.0f, a.w - 24), 0));
    ImGui::PushStyleColor(ImGuiCol_WindowBg, ImVec4(0.25f, 0.05f, 0.05f, 0.94f));
    ImGui::Begin("Problems", nullptr, k_panel_flags);
    for (const std::string &e : m.errors) ImGui::TextWrapped("%s", e.c_str());
    for (const std::string &e : m.image_errors) ImGui::TextWrapped("%s", e.c_str());
    const bool dismiss = ImGui::Button("Dismiss");
    note_rect(app.ui, "dismiss_errors");
    if (dismiss) {
        m.errors.clear();
        m.image_errors.clear();
    }
    ImGui::End();
    ImGui::PopStyleColor();
}

void server_conflict_window(annotator &app, float w) {
    const server_sync_state &s = app.save.server;
    if (s.conflicts.empty()) return;
    ImGui::SetNextWindowPos(ImVec2(w * 0.5f, 60), ImGuiCond_Always, ImVec2(0.5f, 0));
    ImGui::SetNextWindowSize(ImVec2(480, 0));
    ImGui::Begin("Save conflict", nullptr, k_panel_flags);
    ImGui::TextWrapped("%s", s.conflicts.front().message.c_str());
    if (s.conflicts.size() > 1) ImGui::TextDisabled("%d more after this one", (int)s.conflicts.size() - 1);
    const bool overwrite = ImGui::Button("Overwrite the server with mine");
    note_rect(app.ui, "conflict_overwrite");
    ImGui::SameLine();
    const bool theirs = ImGui::Button(s.conflicts.front().unit == categories_unit_name()
                                          ? "Add the server's categories to mine"
                                          : "Load the server's (discard mine)");
    note_rect(app.ui, "conflict_load_server");
    ImGui::End();
    if (overwrite || theirs) annotator_resolve_conflict(app, theirs);
}

}  // namespace sam
