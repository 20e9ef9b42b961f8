// main_web.cpp - Emscripten entry point: a GLFW window on the page's <canvas> (WebGL2),
// Dear ImGui with its OpenGL3 renderer, and a frame loop that costs nothing while
// nothing happens:
// - frames are requested (requestAnimationFrame) by input, by JS callbacks (fetch,
//   decoder, storage) and by timers, never by the clock;
// - input events queue in order (input_queue) and each animation frame runs as many
//   ImGui frames as the queue needs (one button or key transition each);
// - a frame whose draw data and canvas textures equal the last presented frame's
//   (draw_signature) does no GL work at all, and the loop stops until the next event.
// Everything JS can call lives in bindings.cpp.
#include <GLES3/gl3.h>
#include <GLFW/glfw3.h>
#include <emscripten.h>
#include <emscripten/html5.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "app/annotator.h"
#include "app/input_queue.h"
#include "app/keys.h"
#include "app/model_transforms.h"
#include "app/ui/canvas_renderer.h"
#include "app/ui/draw_signature.h"
#include "app/ui/proposal_outlines.h"
#include "imgui.h"
#include "imgui_impl_glfw.h"
#include "imgui_impl_opengl3.h"
#include "platform/web/web_platform.h"

namespace {

constexpr int k_max_imgui_frames = 16;  // per animation frame; the rest of the queue waits one frame
// ImGui settles some things a frame or two after the input that caused them, drawing
// nothing new meanwhile (a popup is laid out hidden on its first frame, a focus
// request lands on the next): frames run until the picture has stayed the same this
// many frames in a row. They are cheap: an unchanged frame does no GL work.
constexpr int k_settle_frames = 3;

GLFWwindow *g_window = nullptr;
sam::canvas_renderer g_renderer;
sam::proposal_outlines g_outlines;
sam::input_queue g_input;
double g_last_x = -1, g_last_y = -1;  // the last position queued
bool g_frame_scheduled = false, g_paused = false, g_announced_ready = false;
int g_settle = k_settle_frames;  // frames still to run after the last change
uint64_t g_last_signature = 0;
double g_last_frame_time = 0;
sam::frame_counters g_counters{0, 0, 0, 0};
std::vector<float> g_frame_times;  // main-thread ms of recent frames (the bench reads them)

EM_JS(int, sam_js_page_width, (), { return Math.max(1, Math.floor(window.innerWidth)); });
EM_JS(int, sam_js_page_height, (), { return Math.max(1, Math.floor(window.innerHeight)); });
EM_JS(void, sam_js_announce_ready, (), {
    if (Module.onAppReady) Module.onAppReady();
});

EM_BOOL animation_frame(double, void *);

void schedule_frame() {
    if (g_frame_scheduled || g_paused) return;
    g_frame_scheduled = true;
    emscripten_request_animation_frame(animation_frame, nullptr);
}

// Something happened: frames until the picture settles.
void request_frame() {
    g_settle = k_settle_frames;
    schedule_frame();
}

void queue_event(const sam::input_event &e) {
    g_input.push(e);
    request_frame();
}

// Emscripten's GLFW reports the cursor in canvas (CSS) pixels: ImGui, the view and
// the canvas share that frame.
void cursor_callback(GLFWwindow *, double x, double y) {
    g_last_x = x;
    g_last_y = y;
    queue_event(sam::input_event{sam::input_kind::mouse_move, x, y});
}

// A press or release happens where its own event says, even when no move reached
// that position first (synthetic events, a click right after the page opened).
void mouse_button_callback(GLFWwindow *w, int button, int action, int) {
    if (button < 0 || button > 2) return;
    double x = 0, y = 0;
    glfwGetCursorPos(w, &x, &y);
    if (x != g_last_x || y != g_last_y) cursor_callback(w, x, y);
    sam::input_event e{sam::input_kind::mouse_button};
    e.button = button;
    e.down = action == GLFW_PRESS;
    queue_event(e);
}

// Emscripten's GLFW passes the browser's wheel deltaY through unscaled and unflipped
// (+100 per notch downwards); ImGui and the zoom want +1 per notch upwards.
void scroll_callback(GLFWwindow *, double dx, double dy) {
    queue_event(sam::input_event{sam::input_kind::wheel, -dx / 100.0, -dy / 100.0});
}

void key_callback(GLFWwindow *, int key, int, int action, int) {
    if (key < 0 || key > sam::keys::last || action == GLFW_REPEAT) return;  // ImGui repeats held keys itself
    sam::input_event e{sam::input_kind::key};
    e.key = key;
    e.down = action == GLFW_PRESS;
    queue_event(e);
}

void char_callback(GLFWwindow *, unsigned int c) {
    sam::input_event e{sam::input_kind::text};
    e.codepoint = c;
    queue_event(e);
}

void apply(ImGuiIO &io, const sam::input_event &e) {
    switch (e.kind) {
        case sam::input_kind::mouse_move: io.MousePos = ImVec2((float)e.x, (float)e.y); break;
        case sam::input_kind::mouse_button: io.MouseDown[e.button] = e.down; break;
        case sam::input_kind::wheel:
            io.MouseWheelH += (float)e.x;
            io.MouseWheel += (float)e.y;
            break;
        case sam::input_kind::key: {
            using namespace sam::keys;
            io.KeysDown[e.key] = e.down;
            io.KeyCtrl = io.KeysDown[left_control] || io.KeysDown[right_control];
            io.KeyShift = io.KeysDown[left_shift] || io.KeysDown[right_shift];
            io.KeyAlt = io.KeysDown[left_alt] || io.KeysDown[right_alt];
            io.KeySuper = io.KeysDown[left_super] || io.KeysDown[right_super];
            break;
        }
        case sam::input_kind::text: io.AddInputCharacter(e.codepoint); break;
    }
}

// The numbers that say what the canvas shows, beside ImGui's draw data.
void scene_of(const sam::annotator &app, sam::canvas_scene &s, int w, int h) {
    const sam::dataset_state &d = app.data;
    s.image = d.image_ready ? &d.image : nullptr;
    s.image_revision = d.image_revision;
    s.overlay = const_cast<sam::annotation_overlay *>(&app.overlay);
    s.mask_logits = sam::prompt_selected_logits(app.prompt);
    s.mask_revision = app.prompt.mask_revision;
    sam::model_frame_scale(d.data.spec.preprocess, d.image.width, d.image.height, s.mask_frame_scale);
    if (const sam::doc_category *c = app.doc.doc.find_category(app.doc.current_category)) {
        s.fill[0] = c->color.r / 255.0f;  // the prompt takes the current category's colour
        s.fill[1] = c->color.g / 255.0f;
        s.fill[2] = c->color.b / 255.0f;
    }
    s.view = app.canvas.view;
    s.area = app.canvas.area;
    s.fb_w = w;
    s.fb_h = h;
}

uint64_t signature_of(const sam::canvas_scene &s, const ImDrawData *dd) {
    uint64_t f[3];
    for (int k = 0; k < 3; ++k) f[k] = (uint64_t)(s.fill[k] * 255.0f + 0.5f);
    uint64_t view[7];
    const double v[7] = {s.view.scale, s.view.offset_x, s.view.offset_y, s.area.x, s.area.y, s.area.w, s.area.h};
    std::memcpy(view, v, sizeof view);
    const uint64_t extra[] = {(uint64_t)(uintptr_t)s.image, s.image_revision, s.overlay ? s.overlay->revision : 0,
                              s.mask_logits ? s.mask_revision : 0, f[0], f[1], f[2], view[0], view[1], view[2],
                              view[3], view[4], view[5], view[6], (uint64_t)s.fb_w, (uint64_t)s.fb_h,
                              g_outlines.revision};
    return sam::draw_signature(dd, extra, sizeof extra / sizeof extra[0]);
}

// ImGui's lists with the cached proposal outlines after the background list.
void render_imgui(ImDrawData *dd) {
    if (g_outlines.lists.empty() || dd->CmdListsCount == 0) return ImGui_ImplOpenGL3_RenderDrawData(dd);
    std::vector<ImDrawList *> lists;
    lists.push_back(dd->CmdLists[0]);
    ImDrawData merged = *dd;
    for (auto &l : g_outlines.lists) {
        lists.push_back(l.get());
        merged.TotalVtxCount += l->VtxBuffer.Size;
        merged.TotalIdxCount += l->IdxBuffer.Size;
    }
    for (int i = 1; i < dd->CmdListsCount; ++i) lists.push_back(dd->CmdLists[i]);
    merged.CmdLists = lists.data();
    merged.CmdListsCount = (int)lists.size();
    ImGui_ImplOpenGL3_RenderDrawData(&merged);
}

void run_frame() {
    const double t0 = emscripten_get_now();
    int w = sam_js_page_width(), h = sam_js_page_height();
    int cw = 0, ch = 0;
    emscripten_get_canvas_element_size("#canvas", &cw, &ch);
    if (cw != w || ch != h) emscripten_set_canvas_element_size("#canvas", w, h);
    sam::annotator &app = sam::annotator_instance();
    ImGuiIO &io = ImGui::GetIO();
    ImGui_ImplOpenGL3_NewFrame();
    sam::annotator_update(app, t0);
    int frames = 0;
    do {
        for (const sam::input_event &e : g_input.take_frame()) apply(io, e);
        io.DisplaySize = ImVec2((float)w, (float)h);
        io.DisplayFramebufferScale = ImVec2(1, 1);
        io.DeltaTime = frames == 0 ? (float)std::max(1e-3, std::min(0.5, (t0 - g_last_frame_time) / 1000.0)) : 1e-4f;
        ImGui::NewFrame();
        sam::annotator_frame(app, w, h);
        ImGui::Render();
        frames++;
    } while (!g_input.empty() && frames < k_max_imgui_frames);
    g_last_frame_time = t0;
    sam::annotator_update(app, emscripten_get_now(), false);  // what the UI changed: the overlay

    sam::canvas_scene scene;
    scene_of(app, scene, w, h);
    sam::proposal_outlines_update(g_outlines, app.proposals, app.canvas.view, app.canvas.area, app.data.image_ready);
    ImDrawData *dd = ImGui::GetDrawData();
    const uint64_t signature = signature_of(scene, dd);
    const bool present = signature != g_last_signature;
    if (present) {
        glViewport(0, 0, w, h);
        glClearColor(0.11f, 0.12f, 0.14f, 1.0f);
        glClear(GL_COLOR_BUFFER_BIT);
        sam::canvas_renderer_render(g_renderer, scene);
        render_imgui(dd);
        g_last_signature = signature;
        g_counters.presented++;
    }
    g_counters.frames++;
    g_counters.imgui_frames += frames;
    sam::prompt_state &p = app.prompt;
    if (p.mask_frame_pending) {
        p.mask_frame_pending = false;
        p.last_mask_frame.frame_ms = emscripten_get_now();
        sam::web_mask_frame_drawn(p.last_mask_frame.request_id, p.last_mask_frame.input_ms,
                                  p.last_mask_frame.result_ms, p.last_mask_frame.frame_ms);
    }
    if (!g_announced_ready && app.ui_ready()) {
        g_announced_ready = true;
        sam_js_announce_ready();
    }
    const double ms = emscripten_get_now() - t0;
    g_counters.frame_ms_last = ms;
    if (g_frame_times.size() >= 4096) g_frame_times.erase(g_frame_times.begin(), g_frame_times.begin() + 2048);
    g_frame_times.push_back((float)ms);
    // Another frame while events wait, a text field blinks its cursor, or the picture
    // changed within the last k_settle_frames frames; else sleep until the next event.
    if (present) g_settle = k_settle_frames;
    else g_settle--;
    if (!g_input.empty() || io.WantTextInput || g_settle > 0 || !g_announced_ready) schedule_frame();
}

EM_BOOL animation_frame(double, void *) {
    g_frame_scheduled = false;
    if (!g_paused) run_frame();
    return EM_FALSE;
}

EM_BOOL on_resize(int, const EmscriptenUiEvent *, void *) {
    request_frame();
    return EM_FALSE;
}

}  // namespace

void sam::web_wake() { request_frame(); }

void sam::web_set_paused(bool paused) {
    g_paused = paused;
    if (!paused) request_frame();
}

sam::frame_counters sam::web_frame_counters() { return g_counters; }

std::vector<float> sam::web_take_frame_times() {
    std::vector<float> out;
    out.swap(g_frame_times);
    return out;
}

int main() {
    if (!glfwInit()) {
        std::fprintf(stderr, "glfwInit failed\n");
        return 1;
    }
    glfwWindowHint(GLFW_CLIENT_API, GLFW_OPENGL_ES_API);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    const int w = sam_js_page_width(), h = sam_js_page_height();
    g_window = glfwCreateWindow(w, h, "SAM annotator", nullptr, nullptr);
    if (!g_window) {
        std::fprintf(stderr, "glfwCreateWindow failed (WebGL2 unavailable?)\n");
        return 1;
    }
    glfwMakeContextCurrent(g_window);
    // 1 canvas pixel = 1 CSS pixel; glfwSetWindowSize is avoided on purpose: Emscripten's
    // GLFW turns a window of screen size into fullscreen.
    emscripten_set_canvas_element_size("#canvas", w, h);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGui::GetIO().IniFilename = nullptr;  // layout is computed from the page size
    ImGui::StyleColorsDark();
    // The GLFW backend only sets up the key map and clipboard: input goes through our queue.
    ImGui_ImplGlfw_InitForOpenGL(g_window, false);
    glfwSetCursorPosCallback(g_window, cursor_callback);
    glfwSetMouseButtonCallback(g_window, mouse_button_callback);
    glfwSetScrollCallback(g_window, scroll_callback);
    glfwSetKeyCallback(g_window, key_callback);
    glfwSetCharCallback(g_window, char_callback);
    emscripten_set_resize_callback(EMSCRIPTEN_EVENT_TARGET_WINDOW, nullptr, false, on_resize);
    ImGui_ImplOpenGL3_Init("#version 300 es");

    sam::annotator &app = sam::annotator_instance();
    app.renderer_ok = sam::canvas_renderer_init(g_renderer);
    app.max_texture_size = g_renderer.max_texture_size;
    if (!app.renderer_ok) sam::add_error(app.messages, "WebGL2 shaders failed to build (see console)");
    sam::web_install_page_hooks();
    sam::annotator_options o;
    o.manifest_url = sam::web_query_param("manifest");
    o.decoder_url = sam::web_query_param("decoder");
    o.token = sam::web_query_param("token");
    sam::annotator_init(app, o);
    request_frame();
    return 0;
}
