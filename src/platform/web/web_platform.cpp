#include "platform/web/web_platform.h"

#include <emscripten.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <vector>

#include "app/platform.h"

namespace sam {

namespace {

std::map<int, fetch_callback> g_fetches;
int g_next_fetch = 1;
std::map<int, http_callback> g_https;
int g_next_http = 1;

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

// A hidden <input type=file id=sam-file-input> for the dialog, and drops on the page
// (files, and folders walked with webkitGetAsEntry); each file's bytes go to
// sam_on_local_file under its path ("labels/cat.txt" for a folder's), then the batch
// ends with sam_on_local_files_done. Batches run one after the other.
EM_JS(void, sam_js_install_files, (), {
    const send = async (files) => {
        for (const f of files) {  // (no destructuring: Emscripten 3.1.6's JS optimiser breaks it)
            const name = f.name;
            const bytes = new Uint8Array(await f.file.arrayBuffer());
            const p = _malloc(Math.max(1, bytes.length));
            HEAPU8.set(bytes, p);
            const n = lengthBytesUTF8(name) + 1;
            const namePtr = _malloc(n);
            stringToUTF8(name, namePtr, n);
            Module._sam_on_local_file(namePtr, p, bytes.length);
            _free(namePtr);
            _free(p);
        }
        Module._sam_on_local_files_done();
    };
    let queue = Promise.resolve();
    const later = (collect) => {
        queue = queue.then(async () => send(await collect())).catch((e) => console.error('opening files failed:', e));
    };
    const walk = async (entry, out) => {
        if (entry.isFile) {
            const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
            out.push({file, name : entry.fullPath.substring(entry.fullPath.startsWith('/') ? 1 : 0)});
        } else if (entry.isDirectory) {
            const reader = entry.createReader();
            for (;;) {
                const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
                if (!batch.length) break;
                for (const e of batch) await walk(e, out);
            }
        }
    };
    const input = document.createElement('input');
    input.type = 'file';
    input.id = 'sam-file-input';
    input.multiple = true;
    input.accept = 'image/*,.npy,.json,.txt,.names,.yaml,.yml,.zip';
    input.style.display = 'none';
    input.addEventListener('change', () => {
        const files = Array.from(input.files).map((file) => ({file, name : file.webkitRelativePath || file.name}));
        input.value = "";
        later(async () => files);
    });
    document.body.appendChild(input);
    window.addEventListener('dragover', (e) => { e.preventDefault(); });
    window.addEventListener('drop', (e) => {
        e.preventDefault();
        const dt = e.dataTransfer;
        if (!dt) return;
        // entries and files are only readable during the event
        const dropped = [];
        for (const it of Array.from(dt.items || [])) {
            if (it.kind !== 'file') continue;
            dropped.push({entry : it.webkitGetAsEntry ? it.webkitGetAsEntry() : null, file : it.getAsFile()});
        }
        if (!dropped.length) for (const file of Array.from(dt.files || [])) dropped.push({entry : null, file});
        later(async () => {
            const out = [];
            for (const d of dropped) {
                if (d.entry && d.entry.isDirectory) await walk(d.entry, out);
                else if (d.file) out.push({file : d.file, name : d.file.name});
            }
            return out;
        });
    });
});

EM_JS(void, sam_js_open_files, (), { document.getElementById('sam-file-input').click(); });

EM_JS(void, sam_js_http, (int id, const char *method, const char *url, const char *body, const char *if_match,
                          const char *content_type, const char *authorization, const uint8_t *bytes, int n_bytes), {
    const m = UTF8ToString(method), u = UTF8ToString(url);
    const b = n_bytes > 0 ? HEAPU8.slice(bytes, bytes + n_bytes) : UTF8ToString(body);
    const headers = {};
    const im = UTF8ToString(if_match);
    if (im) headers['If-Match'] = im;
    const auth = UTF8ToString(authorization);
    if (auth) headers['Authorization'] = auth;
    if (m !== 'GET' && m !== 'HEAD') headers['Content-Type'] = UTF8ToString(content_type);
    const toHeap = (s) => {
        const n = lengthBytesUTF8(s) + 1;
        const p = _malloc(n);
        stringToUTF8(s, p, n);
        return p;
    };
    fetch(u, {method : m, headers, body : (m === 'GET' || m === 'HEAD') ? undefined : b, cache : 'no-store'})
        .then(async (r) => {
            const p = toHeap(await r.text());
            Module._sam_on_http_done(id, r.status, p, 0);
            _free(p);
        })
        .catch((e) => {
            const p = toHeap(u + ': ' + String(e && e.message || e));
            Module._sam_on_http_done(id, 0, 0, p);
            _free(p);
        });
});

EM_JS(char *, sam_js_absolute_url, (const char *url), {
    let v;
    try { v = new URL(UTF8ToString(url), document.baseURI).href; } catch (e) { v = UTF8ToString(url); }
    const n = lengthBytesUTF8(v) + 1;
    const p = _malloc(n);
    stringToUTF8(v, p, n);
    return p;
});

EM_JS(void, sam_js_download, (const char *name, const char *text, const uint8_t *bytes, int n_bytes, const char *mime), {
    const blob = new Blob([bytes ? HEAPU8.slice(bytes, bytes + n_bytes) : UTF8ToString(text)], {type : UTF8ToString(mime)});
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = UTF8ToString(name);
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
});

}  // namespace

void platform_http(const http_request &r, http_callback done) {
    int id = g_next_http++;
    g_https[id] = std::move(done);
    sam_js_http(id, r.method.c_str(), r.url.c_str(), r.body.c_str(), r.if_match.c_str(), r.content_type.c_str(),
                r.authorization.c_str(), r.body_bytes.data(), (int)r.body_bytes.size());
}

void web_http_done(int id, int http_status, const char *body, const char *error) {
    auto it = g_https.find(id);
    if (it == g_https.end()) return;
    http_callback cb = std::move(it->second);
    g_https.erase(it);
    cb(http_status, body ? body : "", error ? error : "");
}

std::string platform_absolute_url(const std::string &url) {
    char *p = sam_js_absolute_url(url.c_str());
    std::string v(p);
    std::free(p);
    return v;
}

void platform_download(const std::string &file_name, const std::string &text, const std::string &mime) {
    sam_js_download(file_name.c_str(), text.c_str(), nullptr, 0, mime.c_str());
}

void platform_download_bytes(const std::string &file_name, const std::vector<uint8_t> &bytes, const std::string &mime) {
    static const uint8_t none = 0;
    sam_js_download(file_name.c_str(), "", bytes.empty() ? &none : bytes.data(), (int)bytes.size(), mime.c_str());
}

void web_install_page_hooks() {
    sam_js_install_input_clock();
    sam_js_install_files();
}

void platform_open_files() { sam_js_open_files(); }

double platform_last_input_ms() { return sam_js_last_input_ms(); }

void web_mask_frame_drawn(uint64_t request_id, double input_ms, double result_ms, double frame_ms) {
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

void platform_wake_after(double ms) {
    emscripten_async_call([](void *) { web_wake(); }, nullptr, (int)std::max(0.0, ms));
}

}  // namespace sam
