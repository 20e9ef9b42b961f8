// canvas_input.h - mouse and keys on the canvas, read from ImGui one event at a time
// (the platform feeds ImGui several frames per animation frame when events pile up:
// one button or key transition per frame), so two clicks are two clicks and a drag a
// drag however slow a frame is. Left click: point (Alt: negative), drag: box; right
// click: negative point, on a point: remove it; drag a point: move it; middle drag or
// Space+drag: pan; wheel: zoom at the cursor; keyboard shortcuts (keyboard.cpp).
//   canvas_input(app); keyboard_shortcuts(app);   (ImGui, inside a frame)
#pragma once

namespace sam {

struct annotator;

struct canvas_input_state {
    bool dragging_box = false;
    double drag_x0 = 0, drag_y0 = 0;  // image pixels where the drag started
    int dragging_point = -1;          // index into the prompt's points
    bool panning = false;
    double pan_last_x = 0, pan_last_y = 0;
};

void canvas_input(annotator &app);
void keyboard_shortcuts(annotator &app);
// Draws the prompt (points, box, the box being dragged) over the canvas.
void draw_prompt(const annotator &app);

}  // namespace sam
