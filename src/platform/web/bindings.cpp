// bindings.cpp - every function JavaScript may call (exported with
// EMSCRIPTEN_KEEPALIVE, C names with a sam_ prefix). index.html builds
// window.samAnnotator on sam_state_json; the EM_JS halves of fetch and the
// decoder worker call the sam_on_* callbacks. Strings returned stay valid
// until the next call of the same function.
#include <emscripten.h>

#include <string>
#include <vector>

#include "app/annotator.h"
#include "platform/web/web_platform.h"

extern "C" {

EMSCRIPTEN_KEEPALIVE const char *sam_state_json() {
    static std::string s;
    s = sam::annotator_state_json(sam::annotator_instance(), sam::web_frames_drawn());
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

// A file chosen in the dialog or dropped on the page (bytes owned by the caller).
EMSCRIPTEN_KEEPALIVE void sam_on_local_file(const char *name, const uint8_t *bytes, int size) {
    sam::web_wake();
    sam::annotator_add_local_file(sam::annotator_instance(), name,
                                  std::vector<uint8_t>(bytes, bytes + (size > 0 ? size : 0)));
}

EMSCRIPTEN_KEEPALIVE void sam_on_fetch_done(int id, const uint8_t *bytes, int size, const char *error) {
    sam::web_wake();
    sam::web_fetch_done(id, bytes, size > 0 ? (size_t)size : 0, error);
}

EMSCRIPTEN_KEEPALIVE void sam_on_http_done(int id, int http_status, const char *body, const char *error) {
    sam::web_wake();
    sam::web_http_done(id, http_status, body, error);
}

EMSCRIPTEN_KEEPALIVE void sam_on_store_got(int id, int found, const char *text, double number) {
    sam::web_wake();
    sam::web_store_got(id, found, text, number);
}

EMSCRIPTEN_KEEPALIVE void sam_on_decoder_loaded(int ok, const char *message) {
    sam::web_wake();
    sam::web_decoder_loaded(ok, message); }

EMSCRIPTEN_KEEPALIVE void sam_on_decoder_result(double request_id, int mask_count, const float *iou,
                                                const float *low_res_masks, double decode_ms, const char *error) {
    sam::web_wake();
    sam::web_decoder_result(request_id, mask_count, iou, low_res_masks, decode_ms, error);
}

}  // extern "C"
