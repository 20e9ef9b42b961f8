// annotator.h - the annotator app: dataset loading, the canvas (pan/zoom),
// the point and box tools, decoder requests (latest wins, mask feedback), the
// candidates, the annotation document (accept, merge, categories, undo, COCO
// export/import) and its persistence (IndexedDB autosave, scripts/serve's
// annotations API), and machine-made starting points (segment-everything
// proposals, detector boxes as box prompts). One instance, driven once per
// frame by the platform main loop inside an ImGui frame:
//   annotator_init(app, manifest_url, decoder_url);  ... annotator_frame(app, w, h);
// Coordinates: prompts are stored in full-resolution image pixels (integer
// pixel indices, as SAM's predictor takes them) and mapped to the decoder's
// 1024 frame only when a request is built.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/canvas_renderer.h"
#include "app/decoder.h"
#include "app/manifest.h"
#include "app/view_transform.h"
#include "core/annotation_document.h"
#include "core/automatic_mask_generator.h"
#include "core/box_prompts.h"
#include "core/image.h"
#include "core/mask_proposals.h"
#include "core/polygon.h"

namespace sam {

enum class tool_kind { point, box, proposal };  // proposal: clicks select segment-everything proposals
enum class request_kind { hover, prompt, detector_box, everything_point };

struct click_point {
    double x = 0, y = 0;  // image pixel indices
    int label = 1;        // 1 positive, 0 negative
};

struct annotator {
    // ---- dataset ----
    std::string manifest_url, decoder_url;
    manifest dataset;
    bool manifest_loaded = false;
    int current = -1;  // index into dataset.images
    int load_generation = 0;  // bumps on image switch; stale fetch callbacks compare it
    image_u8 image;           // full resolution, oriented, as decoded
    bool image_ready = false, embedding_ready = false;
    std::vector<std::string> errors;        // shown on screen and in state()
    std::vector<std::string> image_errors;  // the same, about the shown image (cleared on switching)

    // ---- decoder ----
    std::unique_ptr<decoder> dec;
    std::string decoder_loaded_url;
    bool decoder_error_reported = false;
    struct request_info {
        request_kind kind = request_kind::prompt;
        double input_ms = 0;  // performance.now() of the input event that caused it
        double sent_ms = 0;
        int n_points = 0;  // point_labels length, padding and box corners included
    };
    std::map<uint64_t, request_info> request_kinds;  // in-flight ids -> what they were for
    uint64_t last_request_id = 0, result_request_id = 0;
    int requests_sent = 0;
    bool last_request_has_mask_input = false;
    decoder_result result;                            // the shown result
    bool has_result = false;
    request_kind result_kind = request_kind::hover;
    int selected_output = -1;  // index into result (0..K-1)
    std::vector<float> feedback_mask;  // 256x256 logits fed back as mask_input (empty = none)
    int decode_count = 0;
    double last_decode_ms = 0;
    double last_round_trip_ms = 0;
    // Latency probe for benchmarks: the newest result's input event, arrival
    // and the first frame drawn with it (all performance.now() ms).
    struct mask_frame {
        uint64_t request_id = 0;
        double input_ms = 0, result_ms = 0, frame_ms = 0;
    };
    mask_frame last_mask_frame;
    bool mask_frame_pending = false;

    // ---- canvas ----
    canvas_renderer renderer;
    bool renderer_ok = false;
    view_transform view;
    canvas_rect area;
    bool fit_pending = true;
    bool panning = false;
    double pan_last_x = 0, pan_last_y = 0;

    // ---- prompt ----
    tool_kind tool = tool_kind::point;
    std::vector<click_point> points;
    bool has_box = false;
    double box[4] = {0, 0, 0, 0};  // x0, y0, x1, y1 image pixels
    bool dragging_box = false;
    double drag_x0 = 0, drag_y0 = 0;
    struct key_press {
        int key = 0, mods = 0;  // GLFW key code and modifier bits
    };
    std::vector<key_press> pressed_keys;  // since the last frame
    double hover_x = -1, hover_y = -1;  // last hovered image pixel sent

    int dragging_point = -1;  // index into points while a point is dragged
    double release_x[3] = {0, 0, 0}, release_y[3] = {0, 0, 0};  // last release per button

    // ---- annotations (the document: images from the manifest, categories, masks) ----
    annotation_document doc;
    int64_t current_category = 0;
    int64_t selected_annotation = 0;  // 0 = none
    bool overlay_dirty = true;        // the annotation texture needs repainting
    uint64_t overlay_revision = 0;
    int64_t overlay_selected = -1, overlay_image = -1;
    std::vector<uint8_t> overlay_rgba;
    std::vector<std::string> notices;  // informational lines (restored session, saved, ...)
    bool show_help = false;
    // Screen rectangles (x, y, w, h) of named widgets, drawn last frame: lets the
    // browser tests click real UI (state().ui) without knowing the layout.
    std::map<std::string, std::array<float, 4>> ui_rects;
    bool text_input_active = false;  // an ImGui text field has the keyboard
    bool export_rle = false;        // COCO download: RLE instead of polygons
    bool export_all_images = true;  // COCO download: whole dataset, else the current image
    char new_category_name[64] = "";

    // ---- segment-everything proposals of the shown image (DATASET/proposals/<stem>.json) ----
    std::string proposals_url;              // tried for the shown image ("" for local files)
    std::string proposals_status = "none";  // none, loading, loaded, missing (404), error
    mask_proposals proposals;
    std::vector<polygon_set> proposal_outlines;  // per proposal: rings in image pixel corners
    std::vector<char> proposal_taken;  // per proposal: accepted (an annotation of this image has its mask)
    uint64_t proposal_taken_revision = ~uint64_t(0);
    std::map<size_t, int64_t> proposal_annotations;  // proposal -> the annotation it was accepted as
    int selected_proposal = -1;
    bool show_proposals = true;
    float proposal_min_iou = 0.88f;  // "Accept all with predicted IoU >= X"

    // ---- detector boxes -> box prompts -> machine-made annotations (one decode per box) ----
    struct detector_job {
        double bbox[4] = {0, 0, 0, 0};  // x, y, w, h original pixels
        std::string category;          // created when missing
        double score = 1.0;
    };
    struct detector_mask {
        annotation ann;  // category_id not yet set
        std::string category;
    };
    std::string detector_file;  // the file being imported ("" = none running)
    int64_t detector_image = 0;
    std::vector<detector_job> detector_jobs;
    size_t detector_next = 0;       // jobs sent so far
    uint64_t detector_request = 0;  // in flight (0 = none)
    std::vector<detector_mask> detector_done;
    std::vector<std::string> detector_empty;  // boxes that gave an empty mask
    std::vector<std::string> yolo_classes;    // the newest classes.txt / *.names opened
    std::string yolo_classes_file;

    // ---- segment everything in the browser (when the dataset has no proposals for the image):
    // SAM's automatic mask generator in the core, fed one grid point per decoder message ----
    std::unique_ptr<amg_generator> everything;  // non-null while a pass runs
    size_t everything_next = 0, everything_total = 0;  // grid points sent, in all
    uint64_t everything_request = 0;                   // in flight (0 = none)
    int64_t everything_image = 0;
    double everything_start_ms = 0;
    std::string everything_previous_status;  // proposals_status to restore on cancel
    int everything_points_per_side = 16;     // the official default is 32 (1024 decodes)
    float everything_pred_iou_thresh = 0.88f, everything_stability_thresh = 0.95f;

    // ---- persistence: IndexedDB autosave (always) and the server (when served) ----
    std::string storage_key;  // IndexedDB key: the manifest URL
    bool restore_done = false;  // autosave/server state loaded (edits before that are refused)
    uint64_t autosaved_revision = 0;
    int autosave_count = 0;
    std::string server_dataset;  // "<name>" when the manifest is /datasets/<name>/manifest.json
    bool server_embed = false;   // scripts/serve --encoder: POST /api/embed embeds dropped images
    double server_version = -1;  // the server version our document is based on (-1: unknown)
    uint64_t server_saved_revision = 0;
    bool server_saving = false;
    double server_due_ms = 0;      // earliest time of the next save (debounce)
    std::string server_conflict;  // non-empty after a 409: shown with its choices
    double server_conflict_version = -1;
    std::string server_error;

    // ---- local files (opened with the file dialog or dropped on the page) ----
    std::map<std::string, std::vector<uint8_t>> local_files;  // "local:<name>" -> bytes
    std::string local_image, local_embedding;                 // names of the newest pair

    bool ui_ready() const;
};

annotator &annotator_instance();
void annotator_init(annotator &app, const std::string &manifest_url, const std::string &decoder_url);
// Builds the UI and handles input for one frame; draws the canvas with GL.
void annotator_frame(annotator &app, int fb_w, int fb_h);
// The automation API's state() as JSON text (see tests/browser/app.test.mjs).
// frames_drawn (>= 0) is reported as such: the platform may skip frames while idle.
std::string annotator_state_json(const annotator &app, int frames_drawn = -1);

// Queues a key press (GLFW key code and mods) for the next frame. Presses are
// queued because a press and release between two frames would otherwise
// never be seen by ImGui 1.86, which only samples key state per frame.
void annotator_key_pressed(annotator &app, int glfw_key, int mods);

// Records a mouse button event's position (GLFW button, GLFW_PRESS/RELEASE,
// canvas pixels); releases are handled at that position.
void annotator_mouse_button(annotator &app, int button, int action, double x, double y);

// A file the user opened or dropped: an image and a .npy embedding (in any
// order) open as a one-image session; a .json is imported as COCO (images
// matched by file name).
void annotator_add_local_file(annotator &app, const std::string &name, std::vector<uint8_t> bytes);

// Tool actions, also reachable from keyboard shortcuts.
void annotator_open_image(annotator &app, int index);
void annotator_clear_prompt(annotator &app);
void annotator_select_candidate(annotator &app, int number);  // 1, 2, 3

// Accepts the selected candidate: upsampled to the image (postprocess_to_mask),
// stored as RLE. merge: none = a new annotation with the current category;
// add / subtract = into the selected annotation (rle_merge).
enum class accept_merge { none, add, subtract };
void annotator_accept(annotator &app, accept_merge merge);
// Accepts proposal `index` of the shown image as a machine-made annotation with the
// current category (its score the predicted IoU); accept_all: every proposal not yet
// accepted with predicted IoU >= min_iou, as one undo step. Return how many were added.
int annotator_accept_proposal(annotator &app, int index);
int annotator_accept_proposals_above(annotator &app, double min_iou);
void annotator_undo(annotator &app);
void annotator_redo(annotator &app);
void annotator_delete_selected(annotator &app);

// COCO JSON of the document: polygons (or RLE), all images or the current one.
std::string annotator_export_coco(const annotator &app, bool rle, bool all_images);

}  // namespace sam
