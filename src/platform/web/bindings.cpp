// bindings.cpp - every function JavaScript may call (exported with EMSCRIPTEN_KEEPALIVE,
// C names with a sam_ prefix). index.html builds window.samAnnotator on them; the EM_JS
// halves of fetch, HTTP, the store and the decoder workers call the sam_on_* callbacks.
// Strings returned stay valid until the next call of the same function. Every callback
// wakes the frame loop (idle pages draw nothing until something happens).
#include <emscripten.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/annotator.h"
#include "platform/web/web_platform.h"

namespace {

std::string g_api_error;
size_t g_export_size = 0;
std::string g_export_name;

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE const char *sam_state_json() {
    static std::string s;
    s = sam::annotator_state_json(sam::annotator_instance(), sam::web_frame_counters());
    return s.c_str();
}

EMSCRIPTEN_KEEPALIVE const char *sam_save_state_json() {
    static std::string s;
    s = sam::annotator_save_state_json(sam::annotator_instance());
    return s.c_str();
}

EMSCRIPTEN_KEEPALIVE const char *sam_export_coco() {
    // What the download button gives by default: every image, polygons.
    static std::string s;
    s = sam::annotator_export_coco(sam::annotator_instance(), false, true);
    return s.c_str();
}

// exportCoco({rle: true, allImages: false}) variants.
EMSCRIPTEN_KEEPALIVE const char *sam_export_coco_with(int rle, int all_images) {
    static std::string s;
    s = sam::annotator_export_coco(sam::annotator_instance(), rle != 0, all_images != 0);
    return s.c_str();
}

// window.samAnnotator.prompt(): the request id, or 0 (sam_api_error() says why).
EMSCRIPTEN_KEEPALIVE double sam_prompt(const char *json) {
    sam::web_wake();
    return (double)sam::annotator_prompt_api(sam::annotator_instance(), json ? json : "", g_api_error);
}

// window.samAnnotator.accept(): the new annotation's id, or 0 (sam_api_error() says why).
EMSCRIPTEN_KEEPALIVE double sam_accept(const char *json) {
    sam::web_wake();
    return (double)sam::annotator_accept_api(sam::annotator_instance(), json ? json : "", g_api_error);
}

EMSCRIPTEN_KEEPALIVE const char *sam_api_error() { return g_api_error.c_str(); }

// The frame loop stopped (1) or running (0): the bench's decoder-alone figures.
EMSCRIPTEN_KEEPALIVE void sam_set_paused(int paused) { sam::web_set_paused(paused != 0); }

// Main-thread ms of the frames since the last call, as a JSON array.
EMSCRIPTEN_KEEPALIVE const char *sam_frame_times() {
    static std::string s;
    s = nlohmann::json(sam::web_take_frame_times()).dump();
    return s.c_str();
}

// A file chosen in the dialog or dropped on the page (bytes owned by the caller).
EMSCRIPTEN_KEEPALIVE void sam_on_local_file(const char *name, const uint8_t *bytes, int size) {
    sam::web_wake();
    sam::annotator_add_local_file(sam::annotator_instance(), name,
                                  std::vector<uint8_t>(bytes, bytes + (size > 0 ? size : 0)));
}

// The files of one drop or dialog choice have all arrived.
EMSCRIPTEN_KEEPALIVE void sam_on_local_files_done() {
    sam::web_wake();
    sam::annotator_local_files_done(sam::annotator_instance());
}

// exportZip(format, {allImages}): the export menu's ZIP ("yolo_seg", "png_masks", "coco");
// sam_export_zip_size() its length (0 with sam_api_error() set on failure), then
// sam_export_zip_name() the download's name.
EMSCRIPTEN_KEEPALIVE const uint8_t *sam_export_zip(const char *format, int all_images) {
    static std::vector<uint8_t> zip;
    static std::string name;
    zip.clear();
    sam::export_format f;
    if (!sam::export_format_from_name(format ? format : "", f)) {
        g_api_error = std::string("exportZip: unknown format \"") + (format ? format : "") + "\" (yolo_seg, png_masks, coco)";
        return nullptr;
    }
    sam::export_report rep;
    sam::status st = sam::annotator_export_zip(sam::annotator_instance(), f, all_images != 0, zip, name, rep);
    if (!st) {
        g_api_error = "exportZip: " + st.message;
        zip.clear();
        return nullptr;
    }
    g_export_size = zip.size();
    g_export_name = name;
    return zip.data();
}
EMSCRIPTEN_KEEPALIVE double sam_export_zip_size() { return (double)g_export_size; }
EMSCRIPTEN_KEEPALIVE const char *sam_export_zip_name() { return g_export_name.c_str(); }

// The shown image's embedding when computed in the browser (f32 [1,256,64,64]), else 0;
// sam_shown_embedding_size() its length in floats.
EMSCRIPTEN_KEEPALIVE const float *sam_shown_embedding() {
    const std::vector<float> *e = sam::annotator_shown_embedding(sam::annotator_instance());
    return e ? e->data() : nullptr;
}
EMSCRIPTEN_KEEPALIVE int sam_shown_embedding_size() {
    const std::vector<float> *e = sam::annotator_shown_embedding(sam::annotator_instance());
    return e ? (int)e->size() : 0;
}

EMSCRIPTEN_KEEPALIVE float *sam_encoder_buffer(int handle, int n) { return sam::web_encoder_buffer(handle, n); }

EMSCRIPTEN_KEEPALIVE void sam_on_encoder_loaded(int handle, int ok, const char *message) {
    sam::web_wake();
    sam::web_encoder_loaded(handle, ok, message);
}

EMSCRIPTEN_KEEPALIVE void sam_on_encoded(int handle, double id, int ok, const char *error, int width, int height,
                                         const char *sha256, int cached, double prep_ms, double encode_ms,
                                         const char *cache_error) {
    sam::web_wake();
    sam::web_encoded(handle, id, ok, error, width, height, sha256, cached, prep_ms, encode_ms, cache_error);
}

EMSCRIPTEN_KEEPALIVE void sam_on_fetch_done(int id, const uint8_t *bytes, int size, const char *error) {
    sam::web_wake();
    sam::web_fetch_done(id, bytes, size > 0 ? (size_t)size : 0, error);
}

EMSCRIPTEN_KEEPALIVE void sam_on_http_done(int id, int http_status, const char *body, const char *error) {
    sam::web_wake();
    sam::web_http_done(id, http_status, body, error);
}

EMSCRIPTEN_KEEPALIVE void sam_on_store_unit(int id, const char *key, const char *text, double number, int flags) {
    sam::web_store_unit(id, key, text, number, flags);
}

EMSCRIPTEN_KEEPALIVE void sam_on_store_listed(int id) {
    sam::web_wake();
    sam::web_store_listed(id);
}

EMSCRIPTEN_KEEPALIVE void sam_on_store_written(int id, int ok) {
    sam::web_wake();
    sam::web_store_written(id, ok);
}

EMSCRIPTEN_KEEPALIVE void sam_on_store_single(int id, int found, const char *text, double number) {
    sam::web_wake();
    sam::web_store_single(id, found, text, number);
}

EMSCRIPTEN_KEEPALIVE float *sam_worker_buffer(int handle, int which, int n) {
    return sam::web_worker_buffer(handle, which, n);
}

EMSCRIPTEN_KEEPALIVE void sam_on_worker_loaded(int handle, int ok, const char *message) {
    sam::web_wake();
    sam::web_worker_loaded(handle, ok, message);
}

EMSCRIPTEN_KEEPALIVE void sam_on_worker_embedding(int handle, double id, int ok, const char *message) {
    sam::web_wake();
    sam::web_worker_embedding(handle, id, ok, message);
}

EMSCRIPTEN_KEEPALIVE void sam_on_worker_result(int handle, int batch, double id, int offset, int count, int k,
                                               double ms, int done, const char *error) {
    sam::web_wake();
    sam::web_worker_result(handle, batch, id, offset, count, k, ms, done, error);
}

}  // extern "C"
