#include "app/canvas_input.h"

#include <algorithm>
#include <cmath>

#include "app/annotator.h"
#include "app/keys.h"
#include "imgui.h"

namespace sam {

namespace {

click_point image_pixel_at(const view_transform &v, double cx, double cy) {
    click_point p;
    p.x = std::floor(v.to_image_x(cx));
    p.y = std::floor(v.to_image_y(cy));
    return p;
}

bool inside_image(const image_u8 &img, const click_point &p) {
    return p.x >= 0 && p.y >= 0 && p.x < img.width && p.y < img.height;
}

double clampd(double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); }

// An existing point under the cursor (within 8 canvas pixels), or -1.
int point_near(const annotator &app, ImVec2 m) {
    int near_point = -1;
    double near_d2 = 64;
    const view_transform &v = app.canvas.view;
    const std::vector<click_point> &pts = app.prompt.shape.points;
    for (size_t i = 0; i < pts.size(); ++i) {
        const double dx = v.to_canvas_x(pts[i].x + 0.5) - m.x, dy = v.to_canvas_y(pts[i].y + 0.5) - m.y;
        if (dx * dx + dy * dy <= near_d2) {
            near_d2 = dx * dx + dy * dy;
            near_point = (int)i;
        }
    }
    return near_point;
}

}  // namespace

void canvas_input(annotator &app) {
    ImGuiIO &io = ImGui::GetIO();
    const ImVec2 m = io.MousePos;
    canvas_input_state &in = app.input;
    view_transform &view = app.canvas.view;
    const bool over_canvas = app.canvas.area.contains(m.x, m.y) && !io.WantCaptureMouse;
    const bool space = ImGui::IsKeyDown(keys::space);

    // pan: middle drag, or space + left drag
    if (over_canvas && (ImGui::IsMouseClicked(ImGuiMouseButton_Middle) || (space && ImGui::IsMouseClicked(ImGuiMouseButton_Left)))) {
        in.panning = true;
        in.pan_last_x = m.x;
        in.pan_last_y = m.y;
    }
    if (in.panning) {
        view.offset_x += m.x - in.pan_last_x;
        view.offset_y += m.y - in.pan_last_y;
        in.pan_last_x = m.x;
        in.pan_last_y = m.y;
        if (!ImGui::IsMouseDown(ImGuiMouseButton_Middle) && !ImGui::IsMouseDown(ImGuiMouseButton_Left)) in.panning = false;
        return;
    }
    if (over_canvas && io.MouseWheel != 0) view_zoom_at(view, std::pow(1.15, (double)io.MouseWheel), m.x, m.y);
    const dataset_state &d = app.data;
    if (!d.image_ready) return;

    click_point here = image_pixel_at(view, m.x, m.y);
    prompt_state &p = app.prompt;
    const int near_point = point_near(app, m);
    // Input arrives one event per ImGui frame, so the press position is where the mouse
    // is in the frame that sees the press, and the release position likewise.
    if (in.dragging_point >= 0 && in.dragging_point < (int)p.shape.points.size()) {
        if (inside_image(d.image, here)) {
            p.shape.points[(size_t)in.dragging_point].x = here.x;
            p.shape.points[(size_t)in.dragging_point].y = here.y;
        }
        if (ImGui::IsMouseReleased(ImGuiMouseButton_Left)) {
            in.dragging_point = -1;
            annotator_set_prompt(app, p.shape);
        }
        return;
    }
    if (over_canvas && near_point >= 0 && ImGui::IsMouseClicked(ImGuiMouseButton_Left) && !io.KeyAlt) {
        in.dragging_point = near_point;
        return;
    }
    if (over_canvas && near_point >= 0 && ImGui::IsMouseClicked(ImGuiMouseButton_Right)) {
        prompt_shape s = p.shape;
        s.points.erase(s.points.begin() + near_point);
        annotator_set_prompt(app, s);
        return;
    }

    // left button: click = point (Alt: negative), drag = box
    if (over_canvas && ImGui::IsMouseClicked(ImGuiMouseButton_Left) && inside_image(d.image, here)) {
        in.dragging_box = true;
        in.drag_x0 = here.x;
        in.drag_y0 = here.y;
    }
    if (in.dragging_box && ImGui::IsMouseReleased(ImGuiMouseButton_Left)) {
        in.dragging_box = false;
        const double x1 = clampd(here.x, 0, d.image.width - 1), y1 = clampd(here.y, 0, d.image.height - 1);
        const bool dragged = std::fabs(x1 - in.drag_x0) * view.scale > 4 || std::fabs(y1 - in.drag_y0) * view.scale > 4;
        prompt_shape s = p.shape;
        if (dragged) {
            s.has_box = true;
            s.box[0] = std::min(in.drag_x0, x1);
            s.box[1] = std::min(in.drag_y0, y1);
            s.box[2] = std::max(in.drag_x0, x1);
            s.box[3] = std::max(in.drag_y0, y1);
            annotator_set_prompt(app, s);
        } else if (p.tool == tool_kind::proposal) {
            proposals_select_at(app.proposals, in.drag_x0, in.drag_y0);
        } else if (p.tool == tool_kind::point) {
            s.points.push_back(click_point{in.drag_x0, in.drag_y0, io.KeyAlt ? 0 : 1});
            annotator_set_prompt(app, s);
        }
    }
    if (over_canvas && ImGui::IsMouseClicked(ImGuiMouseButton_Right) && inside_image(d.image, here)) {
        prompt_shape s = p.shape;
        s.points.push_back(click_point{here.x, here.y, 0});
        annotator_set_prompt(app, s);
    }

    // hover preview: only before any prompt, only when the pixel changes
    if (p.shape.empty() && p.tool == tool_kind::point && !in.dragging_box && over_canvas && inside_image(d.image, here) &&
        (here.x != p.hover_x || here.y != p.hover_y) && d.embedding_ready &&
        app.decoder.status() == decoder_status::ready && !detector_active(app.detector) &&
        !everything_active(app.everything)) {
        p.hover_x = here.x;
        p.hover_y = here.y;
        prompt_send(p, app.decoder, d.data.spec, request_kind::hover, prompt_shape{{here}}, d.image.height,
                    d.image.width, platform_last_input_ms(), platform_now_ms());
    }
}

void draw_prompt(const annotator &app) {
    ImDrawList *dl = ImGui::GetBackgroundDrawList();
    const canvas_rect &area = app.canvas.area;
    const view_transform &v = app.canvas.view;
    dl->PushClipRect(ImVec2(area.x, area.y), ImVec2(area.x + area.w, area.y + area.h));
    auto to_canvas = [&](double x, double y) {
        // a point sits at its pixel's centre
        return ImVec2((float)v.to_canvas_x(x + 0.5), (float)v.to_canvas_y(y + 0.5));
    };
    const prompt_shape &s = app.prompt.shape;
    if (s.has_box || app.input.dragging_box) {
        ImVec2 a, b;
        if (app.input.dragging_box) {
            a = to_canvas(app.input.drag_x0, app.input.drag_y0);
            b = ImGui::GetIO().MousePos;
        } else {
            a = to_canvas(s.box[0], s.box[1]);
            b = to_canvas(s.box[2], s.box[3]);
        }
        dl->AddRect(a, b, IM_COL32(255, 210, 0, 255), 0, 0, 2.0f);
    }
    for (const click_point &p : s.points) {
        const ImVec2 c = to_canvas(p.x, p.y);
        const ImU32 col = p.label == 1 ? IM_COL32(40, 220, 90, 255) : IM_COL32(235, 60, 60, 255);
        dl->AddCircleFilled(c, 6, col);
        dl->AddCircle(c, 6, IM_COL32(255, 255, 255, 255), 0, 1.5f);
    }
    dl->PopClipRect();
}

}  // namespace sam
