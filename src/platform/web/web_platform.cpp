#include "platform/web/web_platform.h"

#include <emscripten.h>

#include <cstdlib>
#include <map>
#include <vector>

#include "app/platform.h"

namespace sam {

namespace {

std::map<int, fetch_callback> g_fetches;
int g_next_fetch = 1;

EM_JS(char *, sam_js_query_param, (const char *name), {
    const v = new URLSearchParams(window.location.search).get(UTF8ToString(name));
    if (v === null) return 0;
    const n = lengthBytesUTF8(v) + 1;
    const p = _malloc(n);
    stringToUTF8(v, p, n);
    return p;
});

EM_JS(void, sam_js_fetch, (int id, const char *url_ptr), {
    const url = UTF8ToString(url_ptr);
    fetch(url).then(async (r) => {
        if (!r.ok) throw new Error(url + ": HTTP " + r.status + " " + r.statusText);
        return new Uint8Array(await r.arrayBuffer());
    }).then((bytes) => {
        const p = _malloc(Math.max(1, bytes.length));
        HEAPU8.set(bytes, p);
        Module._sam_on_fetch_done(id, p, bytes.length, 0);
        _free(p);
    }).catch((e) => {
        let msg = String(e && e.message || e);
        if (msg.indexOf(url) < 0) msg = url + ": " + msg;
        const n = lengthBytesUTF8(msg) + 1;
        const m = _malloc(n);
        stringToUTF8(msg, m, n);
        Module._sam_on_fetch_done(id, 0, 0, m);
        _free(m);
    });
});

// Event timestamps share performance.now()'s origin; capture phase so the
// time is taken before Emscripten's GLFW handlers queue the event.
EM_JS(void, sam_js_install_input_clock, (), {
    Module.samLastInputMs = 0;
    const note = (e) => { Module.samLastInputMs = e.timeStamp || performance.now(); };
    for (const t of ['mousedown', 'mouseup', 'mousemove', 'wheel', 'keydown', 'keyup', 'pointerdown'])
        window.addEventListener(t, note, {capture : true, passive : true});
});

EM_JS(double, sam_js_last_input_ms, (), { return Module.samLastInputMs || 0; });

// window.samAnnotator.lastMaskFrameTime / lastMaskFrame and onFrame hooks,
// read by the latency benchmark (input event -> first frame with its mask).
EM_JS(void, sam_js_mask_frame_drawn, (double request_id, double input_ms, double result_ms, double frame_ms), {
    const api = window.samAnnotator;
    if (!api) return;
    const f = {requestId : request_id, inputTime : input_ms, resultTime : result_ms, frameTime : frame_ms};
    api.lastMaskFrame = f;
    api.lastMaskFrameTime = frame_ms;
    for (const hook of api.onFrame || []) {
        try { hook(f); } catch (e) { console.error(e); }
    }
});

}  // namespace

void web_install_input_clock() { sam_js_install_input_clock(); }

double platform_last_input_ms() { return sam_js_last_input_ms(); }

void platform_mask_frame_drawn(uint64_t request_id, double input_ms, double result_ms, double frame_ms) {
    sam_js_mask_frame_drawn((double)request_id, input_ms, result_ms, frame_ms);
}

std::string web_query_param(const std::string &name) {
    char *p = sam_js_query_param(name.c_str());
    if (!p) return {};
    std::string v(p);
    std::free(p);
    return v;
}

void platform_fetch(const std::string &url, fetch_callback done) {
    int id = g_next_fetch++;
    g_fetches[id] = std::move(done);
    sam_js_fetch(id, url.c_str());
}

void web_fetch_done(int id, const uint8_t *bytes, size_t size, const char *error) {
    auto it = g_fetches.find(id);
    if (it == g_fetches.end()) return;
    fetch_callback cb = std::move(it->second);
    g_fetches.erase(it);
    if (error) {
        cb(status::failure(error), {});
        return;
    }
    std::vector<uint8_t> data(bytes, bytes + size);
    cb(status::success(), std::move(data));
}

double platform_now_ms() { return emscripten_get_now(); }

}  // namespace sam
