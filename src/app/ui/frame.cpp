// frame.cpp - one ImGui frame of the annotator: the layout (left panel, canvas,
// right panel, status bar), canvas input and keys, the prompt over the canvas, the
// panels and windows. The canvas itself is drawn by the platform with
// canvas_renderer after the frame (only when the picture changed).
#include <algorithm>

#include "app/annotator.h"
#include "imgui.h"

namespace sam {

void annotator_frame(annotator &app, int fb_w, int fb_h) {
    const float w = (float)fb_w, h = (float)fb_h;
    const float left_w = std::min(220.0f, w * 0.25f), right_w = std::min(240.0f, w * 0.25f);
    app.canvas.area = canvas_rect{left_w, 0, std::max(1.0f, w - left_w - right_w), std::max(1.0f, h - k_status_bar_h)};
    app.ui.rects.clear();
    app.ui.text_input_active = ImGui::GetIO().WantTextInput;
    if (app.canvas.fit_pending && app.data.image_ready) {
        app.canvas.view = view_fit(app.data.image.width, app.data.image.height, app.canvas.area);
        app.canvas.fit_pending = false;
    }
    keyboard_shortcuts(app);
    canvas_input(app);
    draw_prompt(app);
    panel_images(app, 0, 0, left_w, h - k_status_bar_h);
    panel_candidates(app, w - right_w, 0, right_w, h - k_status_bar_h);
    status_bar(app, w, h);
    open_files_screen(app);
    help_window(app, w, h);
    server_conflict_window(app, w);
    errors_window(app);
}

}  // namespace sam
