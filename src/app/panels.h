// panels.h - the ImGui windows around the canvas: images, tools, categories,
// proposals, detector (left); candidates, annotations, export (right); the status bar;
// help, errors, save conflicts and the open-files screen. ui_state is what the panels
// remember between frames, and the screen rectangles of named widgets drawn last
// frame (state().ui), so the browser tests click real UI without knowing the layout.
// Long lists (images, annotations, proposals) draw only their visible rows.
//   panel_images(app, x, y, w, h); ...  (panels.cpp, pre_annotation_panels.cpp; ImGui)
#pragma once
#include <array>
#include <map>
#include <string>

namespace sam {

struct annotator;

constexpr float k_status_bar_h = 26;  // canvas pixels

struct ui_state {
    std::map<std::string, std::array<float, 4>> rects;  // x, y, w, h of named widgets
    bool text_input_active = false;  // an ImGui text field has the keyboard
    bool show_help = false;
    bool export_rle = false;        // COCO download: RLE instead of polygons
    bool export_all_images = true;  // COCO download: whole dataset, else the current image
    char new_category_name[64] = "";
};

// Remembers the last widget's rectangle under `name`.
void note_rect(ui_state &ui, const std::string &name);

void panel_images(annotator &app, float x, float y, float w, float h);
void panel_candidates(annotator &app, float x, float y, float w, float h);
void panel_proposals(annotator &app);  // inside panel_images
void panel_detector(annotator &app);
void status_bar(annotator &app, float w, float h);
void help_window(annotator &app, float w, float h);
void open_files_screen(annotator &app);
void errors_window(annotator &app);
void server_conflict_window(annotator &app, float w);

}  // namespace sam
