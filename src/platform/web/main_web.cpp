// main_web.cpp - Emscripten entry point: a GLFW window on the page's <canvas>
// (WebGL2), Dear ImGui's GLFW + OpenGL3 backends, and the browser main loop
// that sizes the canvas to the page and runs one annotator frame per
// animation frame. Everything JS can call lives in bindings.cpp.
#include <GLFW/glfw3.h>
#include <GLES3/gl3.h>
#include <emscripten.h>
#include <emscripten/html5.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "app/annotator.h"
#include "app/platform.h"
#include "imgui.h"
#include "imgui_impl_glfw.h"
#include "imgui_impl_opengl3.h"
#include "platform/web/web_platform.h"

namespace {

GLFWwindow *g_window = nullptr;
bool g_announced_ready = false;

// Idle pages draw nothing: frames run while something happens (input, a
// fetch/decoder/storage callback, a resize) and for a short while after, so
// ImGui's hover and animation states settle; a text field keeps them running
// (cursor blink). Then the last frame stays on screen at no CPU cost. "A short
// while" is at least kFramesAfterActivity frames and kMsAfterActivity: a frame
// count alone means seconds of full-speed redraw where software WebGL makes each
// frame slow, which is when the decoder needs the CPU most.
constexpr int kFramesAfterActivity = 6;
constexpr double kMsAfterActivity = 500.0;
int g_wake_frames = kFramesAfterActivity;
double g_wake_until_ms = 0.0;
double g_last_cursor_x = -1, g_last_cursor_y = -1;
int g_frames_drawn = 0;

// The canvas is styled to fill the page; its backing store follows the CSS
// size (1 canvas pixel = 1 CSS pixel) so mouse coordinates, ImGui and the
// view transform all share one frame. glfwSetWindowSize is avoided on
// purpose: Emscripten's GLFW turns a window of screen size into fullscreen.
EM_JS(int, sam_js_page_width, (), { return Math.max(1, Math.floor(window.innerWidth)); });
EM_JS(int, sam_js_page_height, (), { return Math.max(1, Math.floor(window.innerHeight)); });
EM_JS(void, sam_js_announce_ready, (), {
    if (Module.onAppReady) Module.onAppReady();
});

// Emscripten's GLFW passes the browser's wheel deltaY through unscaled and
// unflipped (+100 per notch downwards); ImGui and the zoom want GLFW's
// convention (+1 per notch upwards).
void scroll_callback(GLFWwindow *w, double dx, double dy) {
    sam::web_wake();
    ImGui_ImplGlfw_ScrollCallback(w, -dx / 100.0, -dy / 100.0);
}

// ImGui 1.86 sees a release only when it polls the button on the next frame,
// by which time the mouse may have moved on: the annotator takes the position
// of the release event itself (a click must not turn into a drag).
void mouse_button_callback(GLFWwindow *w, int button, int action, int mods) {
    sam::web_wake();
    ImGui_ImplGlfw_MouseButtonCallback(w, button, action, mods);
    double x = 0, y = 0;
    glfwGetCursorPos(w, &x, &y);
    sam::annotator_mouse_button(sam::annotator_instance(), button, action, x, y);
}

void char_callback(GLFWwindow *w, unsigned int c) {
    sam::web_wake();
    ImGui_ImplGlfw_CharCallback(w, c);
}

// ImGui 1.86 samples key state once per frame, so a key pressed and released
// between two frames (a fast tap, or automation) would never be seen down by
// its widgets (Enter in a text field). A release of a key pressed since the
// last frame is held back until that frame has run.
struct deferred_key {
    GLFWwindow *window;
    int key, scancode, mods;
};
std::vector<int> g_pressed_since_frame;
std::vector<deferred_key> g_deferred_releases;

void key_callback(GLFWwindow *w, int key, int scancode, int action, int mods) {
    sam::web_wake();
    bool fresh = std::find(g_pressed_since_frame.begin(), g_pressed_since_frame.end(), key) != g_pressed_since_frame.end();
    if (action == GLFW_RELEASE && fresh) {
        g_deferred_releases.push_back(deferred_key{w, key, scancode, mods});
        return;
    }
    ImGui_ImplGlfw_KeyCallback(w, key, scancode, action, mods);
    if (action == GLFW_PRESS) {
        g_pressed_since_frame.push_back(key);
        sam::annotator_key_pressed(sam::annotator_instance(), key, mods);
    }
}

// After a frame: its fresh presses have been seen; deliver the held releases.
void flush_deferred_keys() {
    g_pressed_since_frame.clear();
    std::vector<deferred_key> releases;
    releases.swap(g_deferred_releases);
    for (const deferred_key &k : releases) ImGui_ImplGlfw_KeyCallback(k.window, k.key, k.scancode, GLFW_RELEASE, k.mods);
}

void main_loop_frame() {
    int w = sam_js_page_width(), h = sam_js_page_height();
    int cw = 0, ch = 0;
    emscripten_get_canvas_element_size("#canvas", &cw, &ch);
    if (cw != w || ch != h) {
        emscripten_set_canvas_element_size("#canvas", w, h);
        sam::web_wake();
    }
    double mx = 0, my = 0;
    glfwGetCursorPos(g_window, &mx, &my);
    if (mx != g_last_cursor_x || my != g_last_cursor_y) {
        g_last_cursor_x = mx;
        g_last_cursor_y = my;
        sam::web_wake();
    }
    if (ImGui::GetIO().WantTextInput || !g_announced_ready) sam::web_wake();
    if (g_wake_frames <= 0 && emscripten_get_now() > g_wake_until_ms) return;
    g_wake_frames--;
    g_frames_drawn++;

    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGuiIO &io = ImGui::GetIO();
    io.DisplaySize = ImVec2((float)w, (float)h);
    io.DisplayFramebufferScale = ImVec2(1, 1);
    ImGui::NewFrame();

    sam::annotator &app = sam::annotator_instance();
    glViewport(0, 0, w, h);
    glClearColor(0.11f, 0.12f, 0.14f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    sam::annotator_frame(app, w, h);

    ImGui::Render();
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    flush_deferred_keys();

    if (app.mask_frame_pending) {
        app.mask_frame_pending = false;
        app.last_mask_frame.frame_ms = emscripten_get_now();
        sam::platform_mask_frame_drawn(app.last_mask_frame.request_id, app.last_mask_frame.input_ms,
                                       app.last_mask_frame.result_ms, app.last_mask_frame.frame_ms);
    }
    if (!g_announced_ready && app.ui_ready()) {
        g_announced_ready = true;
        sam_js_announce_ready();
    }
}

}  // namespace

void sam::web_wake() {
    g_wake_frames = kFramesAfterActivity;
    g_wake_until_ms = emscripten_get_now() + kMsAfterActivity;
}

int sam::web_frames_drawn() { return g_frames_drawn; }

int main() {
    if (!glfwInit()) {
        std::fprintf(stderr, "glfwInit failed\n");
        return 1;
    }
    glfwWindowHint(GLFW_CLIENT_API, GLFW_OPENGL_ES_API);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
    int w = sam_js_page_width(), h = sam_js_page_height();
    g_window = glfwCreateWindow(w, h, "SAM annotator", nullptr, nullptr);
    if (!g_window) {
        std::fprintf(stderr, "glfwCreateWindow failed (WebGL2 unavailable?)\n");
        return 1;
    }
    glfwMakeContextCurrent(g_window);
    emscripten_set_canvas_element_size("#canvas", w, h);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGui::GetIO().IniFilename = nullptr;  // layout is computed from the page size
    ImGui::StyleColorsDark();
    ImGui_ImplGlfw_InitForOpenGL(g_window, true);
    glfwSetScrollCallback(g_window, scroll_callback);
    glfwSetKeyCallback(g_window, key_callback);
    glfwSetCharCallback(g_window, char_callback);
    glfwSetMouseButtonCallback(g_window, mouse_button_callback);
    ImGui_ImplOpenGL3_Init("#version 300 es");

    sam::web_install_input_clock();
    sam::annotator &app = sam::annotator_instance();
    sam::annotator_init(app, sam::web_query_param("manifest"), sam::web_query_param("decoder"));
    emscripten_set_main_loop(main_loop_frame, 0, false);
    return 0;
}
