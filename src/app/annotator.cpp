#include "app/annotator.h"

#include <GLFW/glfw3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/platform.h"
#include "core/embedding.h"
#include "core/image_decode.h"
#include "core/resize_longest_side.h"
#include "imgui.h"

namespace sam {

namespace {

constexpr int kLowRes = 256;
constexpr float kStatusBarH = 26;

void add_error(annotator &app, std::string message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    app.errors.push_back(std::move(message));
}

// SAM's ONNX select_masks rule: with N prompt points (padding and box corners
// included) N >= 3 takes the single-mask token 0, otherwise the best of the
// multimask outputs 1..3 by predicted IoU.
int default_output(const decoder_result &r, int n_points) {
    if (r.mask_count <= 1) return 0;
    int first = r.mask_count == 4 ? 1 : 0;
    if (r.mask_count == 4 && n_points >= 3) return 0;
    int best = first;
    for (int i = first; i < r.mask_count; ++i)
        if (r.iou_predictions[i] > r.iou_predictions[best]) best = i;
    return best;
}

int request_point_count(const annotator &app) {
    return (int)app.points.size() + (app.has_box ? 2 : 1);
}

void show_selected_logits(annotator &app) {
    if (!app.has_result || app.selected_output < 0 || app.selected_output >= app.result.mask_count) {
        canvas_renderer_set_logits(app.renderer, nullptr);
        return;
    }
    canvas_renderer_set_logits(app.renderer,
                               app.result.low_res_masks.data() + (size_t)app.selected_output * kLowRes * kLowRes);
}

bool prompt_empty(const annotator &app) { return app.points.empty() && !app.has_box; }

void send_request(annotator &app, request_kind kind, const std::vector<click_point> &points, bool has_box,
                  const double *box) {
    if (!app.dec || !app.image_ready || !app.embedding_ready || app.dec->status() != decoder_status::ready) return;
    // Prompt frame: original pixels -> the resized 1024 frame, exactly as the
    // official predictor's ResizeLongestSide.apply_coords / apply_boxes.
    const image_shape original{app.image.height, app.image.width};
    decoder_request r;
    for (const click_point &p : points) {
        double xy[2] = {p.x, p.y};
        apply_coords(xy, 1, original);
        r.point_coords.push_back((float)xy[0]);
        r.point_coords.push_back((float)xy[1]);
        r.point_labels.push_back((float)p.label);
    }
    if (has_box) {
        double b[4] = {box[0], box[1], box[2], box[3]};
        apply_boxes(b, 1, original);
        r.point_coords.insert(r.point_coords.end(), {(float)b[0], (float)b[1], (float)b[2], (float)b[3]});
        r.point_labels.insert(r.point_labels.end(), {2.0f, 3.0f});
    } else {
        r.point_coords.insert(r.point_coords.end(), {0.0f, 0.0f});
        r.point_labels.push_back(-1.0f);
    }
    // Iterative refinement as in SAM: the previous prompt's chosen low-res
    // logits go back in as mask_input.
    if (kind == request_kind::prompt && app.has_result && app.result_kind == request_kind::prompt &&
        app.selected_output >= 0) {
        const float *m = app.result.low_res_masks.data() + (size_t)app.selected_output * kLowRes * kLowRes;
        r.mask_input.assign(m, m + kLowRes * kLowRes);
    }
    r.orig_h = app.image.height;
    r.orig_w = app.image.width;
    uint64_t id = app.dec->request(std::move(r));
    app.request_kinds[id] = annotator::request_info{kind, platform_last_input_ms(), platform_now_ms()};
}

void request_prompt(annotator &app) {
    if (prompt_empty(app)) {
        app.has_result = false;
        app.selected_output = -1;
        show_selected_logits(app);
        app.hover_x = app.hover_y = -1;  // re-arm the hover preview
        return;
    }
    send_request(app, request_kind::prompt, app.points, app.has_box, app.box);
}

void poll_decoder(annotator &app) {
    if (!app.dec) return;
    decoder_result r;
    if (!app.dec->poll(r)) return;
    annotator::request_info info;
    auto it = app.request_kinds.find(r.request_id);
    if (it != app.request_kinds.end()) info = it->second;
    request_kind kind = info.kind;
    app.request_kinds.erase(app.request_kinds.begin(), app.request_kinds.upper_bound(r.request_id));
    if (!r.error.empty()) {
        add_error(app, "decoder: " + r.error);
        return;
    }
    if (kind == request_kind::hover && !prompt_empty(app)) return;  // a click superseded the preview
    if (r.mask_count <= 0 || (int)r.low_res_masks.size() != r.mask_count * kLowRes * kLowRes) {
        add_error(app, "decoder: unexpected low_res_masks size");
        return;
    }
    double now = platform_now_ms();
    app.last_round_trip_ms = now - info.sent_ms;
    app.last_mask_frame = annotator::mask_frame{r.request_id, info.input_ms, now, 0};
    app.mask_frame_pending = true;
    app.result = std::move(r);
    app.has_result = true;
    app.result_kind = kind;
    app.decode_count++;
    app.last_decode_ms = app.result.decode_ms;
    app.selected_output = default_output(app.result, kind == request_kind::hover ? 2 : request_point_count(app));
    show_selected_logits(app);
}

// ---- loading ---------------------------------------------------------------

void start_decoder_load(annotator &app) {
    std::string url = !app.decoder_url.empty() ? app.decoder_url : url_resolve(app.manifest_url, app.dataset.decoder);
    if (url == app.decoder_loaded_url) return;
    app.decoder_loaded_url = url;
    app.dec->load(url);
}

}  // namespace

annotator &annotator_instance() {
    static annotator app;
    return app;
}

bool annotator::ui_ready() const {
    if (!renderer_ok) return false;
    if (manifest_url.empty() || !errors.empty()) return true;
    if (dec && dec->status() == decoder_status::failed) return true;
    return image_ready && embedding_ready && dec && dec->status() == decoder_status::ready;
}

void annotator_init(annotator &app, const std::string &manifest_url, const std::string &decoder_url) {
    app.renderer_ok = canvas_renderer_init(app.renderer);
    if (!app.renderer_ok) add_error(app, "WebGL2 shaders failed to build (see console)");
    app.dec = platform_make_decoder();
    app.manifest_url = manifest_url;
    app.decoder_url = decoder_url;
    // No ?manifest: the offline demo bundle keeps its manifest beside index.html.
    bool optional = manifest_url.empty();
    if (optional) app.manifest_url = "manifest.json";
    platform_fetch(app.manifest_url, [&app, optional](const status &st, std::vector<uint8_t> &&bytes) {
        if (!st && optional) {
            app.manifest_url.clear();  // none: show the open-files screen
            return;
        }
        if (!st) return add_error(app, st.message);
        status ps = manifest_parse(std::string(bytes.begin(), bytes.end()), app.manifest_url, app.dataset);
        if (!ps) return add_error(app, ps.message);
        app.manifest_loaded = true;
        if (app.dataset.images.empty()) return add_error(app, app.manifest_url + ": no images");
        start_decoder_load(app);
        annotator_open_image(app, 0);
    });
}

void annotator_open_image(annotator &app, int index) {
    if (index < 0 || index >= (int)app.dataset.images.size()) return;
    app.current = index;
    int generation = ++app.load_generation;
    app.image_ready = app.embedding_ready = false;
    app.points.clear();
    app.has_box = false;
    app.has_result = false;
    app.selected_output = -1;
    app.hover_x = app.hover_y = -1;
    canvas_renderer_set_logits(app.renderer, nullptr);
    const manifest_image entry = app.dataset.images[index];
    platform_fetch(url_resolve(app.manifest_url, entry.file),
                   [&app, generation, entry](const status &st, std::vector<uint8_t> &&bytes) {
                       if (generation != app.load_generation) return;
                       if (!st) return add_error(app, st.message);
                       image_u8 img;
                       status ds = decode_image(bytes.data(), bytes.size(), entry.file, img);
                       if (!ds) return add_error(app, ds.message);
                       if (img.width != entry.width || img.height != entry.height)
                           return add_error(app, entry.file + ": image is " + std::to_string(img.width) + "x" +
                                                     std::to_string(img.height) + " but the manifest says " +
                                                     std::to_string(entry.width) + "x" +
                                                     std::to_string(entry.height));
                       app.image = std::move(img);
                       canvas_renderer_set_image(app.renderer, app.image);
                       app.image_ready = true;
                       app.fit_pending = true;
                   });
    platform_fetch(url_resolve(app.manifest_url, entry.embedding),
                   [&app, generation, entry](const status &st, std::vector<uint8_t> &&bytes) {
                       if (generation != app.load_generation) return;
                       if (!st) return add_error(app, st.message);
                       std::vector<float> emb;
                       status es = embedding_from_npy(bytes.data(), bytes.size(), entry.embedding, emb);
                       if (!es) return add_error(app, es.message);
                       app.dec->set_embedding(std::move(emb));
                       app.request_kinds.clear();
                       app.embedding_ready = true;
                   });
}

void annotator_key_pressed(annotator &app, int glfw_key, int mods) {
    app.pressed_keys.push_back(glfw_key);
    app.pressed_mods = mods;
}

void annotator_clear_prompt(annotator &app) {
    app.points.clear();
    app.has_box = false;
    app.dragging_box = false;
    request_prompt(app);
}

void annotator_select_candidate(annotator &app, int number) {
    if (!app.has_result) return;
    int index = app.result.mask_count == 4 ? number : number - 1;
    if (index < 0 || index >= app.result.mask_count) return;
    app.selected_output = index;
    show_selected_logits(app);
}

// ---- UI ----------------------------------------------------------------------

namespace {

constexpr ImGuiWindowFlags kPanelFlags = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                         ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings;

void panel_images(annotator &app, float x, float y, float w, float h) {
    ImGui::SetNextWindowPos(ImVec2(x, y));
    ImGui::SetNextWindowSize(ImVec2(w, h));
    ImGui::Begin("Images", nullptr, kPanelFlags);
    if (app.manifest_url.empty()) {
        ImGui::TextWrapped("No dataset. Open index.html?manifest=<url of manifest.json>.");
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
    ImGui::End();
}

void status_bar(annotator &app, float w, float h) {
    ImGui::SetNextWindowPos(ImVec2(0, h - kStatusBarH));
    ImGui::SetNextWindowSize(ImVec2(w, kStatusBarH));
    ImGui::Begin("##status", nullptr, kPanelFlags | ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoScrollbar);
    if (!app.errors.empty()) {
        ImGui::TextColored(ImVec4(1, 0.4f, 0.4f, 1), "%s", app.errors.back().c_str());
    } else {
        const char *ds = "no decoder";
        if (app.dec) switch (app.dec->status()) {
                case decoder_status::idle: ds = "decoder idle"; break;
                case decoder_status::loading: ds = "loading decoder..."; break;
                case decoder_status::ready: ds = "decoder ready"; break;
                case decoder_status::failed: ds = "decoder failed"; break;
            }
        ImGui::Text("%s | %s | decode %.0f ms (round trip %.0f ms), %d decodes | zoom %.0f%%", ds,
                    app.dec ? app.dec->description().c_str() : "", app.last_decode_ms, app.last_round_trip_ms,
                    app.decode_count, app.view.scale * 100);
    }
    ImGui::End();
}

click_point image_pixel_at(const annotator &app, double cx, double cy) {
    click_point p;
    p.x = std::floor(app.view.to_image_x(cx));
    p.y = std::floor(app.view.to_image_y(cy));
    return p;
}

bool inside_image(const annotator &app, const click_point &p) {
    return p.x >= 0 && p.y >= 0 && p.x < app.image.width && p.y < app.image.height;
}

double clampd(double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); }

void handle_canvas_input(annotator &app) {
    ImGuiIO &io = ImGui::GetIO();
    ImVec2 m = io.MousePos;
    bool over_canvas = app.area.contains(m.x, m.y) && !io.WantCaptureMouse;
    bool space = ImGui::IsKeyDown(GLFW_KEY_SPACE);

    // pan: middle drag, or space + left drag
    if (over_canvas && (ImGui::IsMouseClicked(ImGuiMouseButton_Middle) ||
                        (space && ImGui::IsMouseClicked(ImGuiMouseButton_Left)))) {
        app.panning = true;
        app.pan_last_x = m.x;
        app.pan_last_y = m.y;
    }
    if (app.panning) {
        app.view.offset_x += m.x - app.pan_last_x;
        app.view.offset_y += m.y - app.pan_last_y;
        app.pan_last_x = m.x;
        app.pan_last_y = m.y;
        if (!ImGui::IsMouseDown(ImGuiMouseButton_Middle) && !ImGui::IsMouseDown(ImGuiMouseButton_Left))
            app.panning = false;
        return;
    }
    if (over_canvas && io.MouseWheel != 0)
        view_zoom_at(app.view, std::pow(1.15, (double)io.MouseWheel), m.x, m.y);
    if (!app.image_ready) return;

    click_point here = image_pixel_at(app, m.x, m.y);
    bool prompt_ready = app.embedding_ready;

    // left button: click = point (Alt: negative), drag = box
    if (over_canvas && ImGui::IsMouseClicked(ImGuiMouseButton_Left) && inside_image(app, here)) {
        app.dragging_box = true;
        app.drag_x0 = here.x;
        app.drag_y0 = here.y;
    }
    if (app.dragging_box && ImGui::IsMouseReleased(ImGuiMouseButton_Left)) {
        app.dragging_box = false;
        double x1 = clampd(here.x, 0, app.image.width - 1), y1 = clampd(here.y, 0, app.image.height - 1);
        bool dragged = std::fabs(x1 - app.drag_x0) * app.view.scale > 4 ||
                       std::fabs(y1 - app.drag_y0) * app.view.scale > 4;
        if (dragged) {
            app.has_box = true;
            app.box[0] = std::min(app.drag_x0, x1);
            app.box[1] = std::min(app.drag_y0, y1);
            app.box[2] = std::max(app.drag_x0, x1);
            app.box[3] = std::max(app.drag_y0, y1);
            if (prompt_ready) request_prompt(app);
        } else if (app.tool == tool_kind::point) {
            click_point p{app.drag_x0, app.drag_y0, io.KeyAlt ? 0 : 1};
            app.points.push_back(p);
            if (prompt_ready) request_prompt(app);
        }
    }
    if (over_canvas && ImGui::IsMouseClicked(ImGuiMouseButton_Right) && inside_image(app, here)) {
        here.label = 0;
        app.points.push_back(here);
        if (prompt_ready) request_prompt(app);
    }

    // hover preview: only before any prompt, only when the pixel changes
    if (prompt_empty(app) && app.tool == tool_kind::point && !app.dragging_box && over_canvas &&
        inside_image(app, here) && (here.x != app.hover_x || here.y != app.hover_y)) {
        if (prompt_ready && app.dec && app.dec->status() == decoder_status::ready) {
            app.hover_x = here.x;
            app.hover_y = here.y;
            send_request(app, request_kind::hover, {here}, false, nullptr);
        }
    }
}

void handle_keys(annotator &app) {
    std::vector<int> keys;
    keys.swap(app.pressed_keys);
    if (ImGui::GetIO().WantTextInput) return;
    for (int key : keys) {
        switch (key) {
            case GLFW_KEY_F: app.fit_pending = true; break;
            case GLFW_KEY_B: app.tool = tool_kind::box; break;
            case GLFW_KEY_P: app.tool = tool_kind::point; break;
            case GLFW_KEY_ESCAPE: annotator_clear_prompt(app); break;
            case GLFW_KEY_1:
            case GLFW_KEY_2:
            case GLFW_KEY_3: annotator_select_candidate(app, key - GLFW_KEY_0); break;
            case GLFW_KEY_RIGHT:
            case GLFW_KEY_PAGE_DOWN: annotator_open_image(app, app.current + 1); break;
            case GLFW_KEY_LEFT:
            case GLFW_KEY_PAGE_UP: annotator_open_image(app, app.current - 1); break;
            default: break;
        }
    }
}

void draw_prompt(const annotator &app) {
    ImDrawList *dl = ImGui::GetBackgroundDrawList();
    dl->PushClipRect(ImVec2(app.area.x, app.area.y), ImVec2(app.area.x + app.area.w, app.area.y + app.area.h));
    auto to_canvas = [&](double x, double y) {
        // a point sits at its pixel's centre
        return ImVec2((float)app.view.to_canvas_x(x + 0.5), (float)app.view.to_canvas_y(y + 0.5));
    };
    if (app.has_box || app.dragging_box) {
        ImVec2 a, b;
        if (app.dragging_box) {
            ImVec2 m = ImGui::GetIO().MousePos;
            a = to_canvas(app.drag_x0, app.drag_y0);
            b = m;
        } else {
            a = to_canvas(app.box[0], app.box[1]);
            b = to_canvas(app.box[2], app.box[3]);
        }
        dl->AddRect(a, b, IM_COL32(255, 210, 0, 255), 0, 0, 2.0f);
    }
    for (const click_point &p : app.points) {
        ImVec2 c = to_canvas(p.x, p.y);
        ImU32 col = p.label == 1 ? IM_COL32(40, 220, 90, 255) : IM_COL32(235, 60, 60, 255);
        dl->AddCircleFilled(c, 6, col);
        dl->AddCircle(c, 6, IM_COL32(255, 255, 255, 255), 0, 1.5f);
    }
    dl->PopClipRect();
}

}  // namespace

void annotator_frame(annotator &app, int fb_w, int fb_h) {
    float w = (float)fb_w, h = (float)fb_h;
    float left_w = std::min(220.0f, w * 0.25f), right_w = std::min(240.0f, w * 0.25f);
    app.area = canvas_rect{left_w, 0, std::max(1.0f, w - left_w - right_w), std::max(1.0f, h - kStatusBarH)};

    poll_decoder(app);
    if (app.fit_pending && app.image_ready) {
        app.view = view_fit(app.image.width, app.image.height, app.area);
        app.fit_pending = false;
    }
    handle_keys(app);
    handle_canvas_input(app);

    canvas_renderer_render(app.renderer, app.view, app.area, fb_w, fb_h);
    draw_prompt(app);
    panel_images(app, 0, 0, left_w, h - kStatusBarH);
    panel_candidates(app, w - right_w, 0, right_w, h - kStatusBarH);
    status_bar(app, w, h);
}

std::string annotator_state_json(const annotator &app) {
    using json = nlohmann::json;
    json s;
    s["ready"] = app.ui_ready();
    if (app.current >= 0 && app.current < (int)app.dataset.images.size()) {
        const manifest_image &im = app.dataset.images[app.current];
        s["image"] = {{"id", im.id}, {"index", app.current}, {"file", im.file}, {"width", app.image.width},
                      {"height", app.image.height}, {"loaded", app.image_ready},
                      {"embedding_loaded", app.embedding_ready},
                      {"texture_width", app.renderer.texture_w}, {"texture_height", app.renderer.texture_h}};
    } else {
        s["image"] = nullptr;
    }
    s["image_count"] = app.dataset.images.size();
    s["view"] = {{"scale", app.view.scale}, {"offset_x", app.view.offset_x}, {"offset_y", app.view.offset_y}};
    s["canvas"] = {{"x", app.area.x}, {"y", app.area.y}, {"w", app.area.w}, {"h", app.area.h}};
    s["tool"] = app.tool == tool_kind::point ? "point" : "box";
    json pts = json::array();
    for (const click_point &p : app.points) pts.push_back({{"x", p.x}, {"y", p.y}, {"label", p.label}});
    s["points"] = pts;
    s["box"] = app.has_box ? json::array({app.box[0], app.box[1], app.box[2], app.box[3]}) : json(nullptr);
    json cands = json::array();
    int selected_candidate = 0;
    if (app.has_result) {
        const decoder_result &r = app.result;
        int first = r.mask_count == 4 ? 1 : 0;
        for (int i = first; i < r.mask_count; ++i)
            cands.push_back({{"number", i - first + 1}, {"output", i}, {"iou", r.iou_predictions[i]}});
        if (app.selected_output >= first) selected_candidate = app.selected_output - first + 1;
        s["single_iou"] = r.mask_count == 4 ? json(r.iou_predictions[0]) : json(nullptr);
    }
    s["candidates"] = cands;
    s["selected_candidate"] = selected_candidate;  // 1..3, 0 = single-mask output or none
    s["selected_output"] = app.selected_output;
    s["result_kind"] = !app.has_result ? "none" : app.result_kind == request_kind::hover ? "hover" : "prompt";
    s["annotations"] = json::array();
    s["last_decode_ms"] = app.last_decode_ms;
    s["last_round_trip_ms"] = app.last_round_trip_ms;
    s["decode_count"] = app.decode_count;
    s["last_mask_frame"] = {{"request_id", app.last_mask_frame.request_id},
                            {"input_ms", app.last_mask_frame.input_ms},
                            {"result_ms", app.last_mask_frame.result_ms},
                            {"frame_ms", app.last_mask_frame.frame_ms}};
    s["undo_depth"] = 0;
    const char *ds = "none";
    if (app.dec) switch (app.dec->status()) {
            case decoder_status::idle: ds = "idle"; break;
            case decoder_status::loading: ds = "loading"; break;
            case decoder_status::ready: ds = "ready"; break;
            case decoder_status::failed: ds = "failed"; break;
        }
    s["decoder"] = {{"status", ds}, {"description", app.dec ? app.dec->description() : ""},
                    {"error", app.dec ? app.dec->error() : ""}};
    s["errors"] = app.errors;
    s["max_texture_size"] = app.renderer.max_texture_size;
    return s.dump();
}

}  // namespace sam
