// annotator.h - the annotator app: one instance composed of one state per concern,
// each owned by its own file pair (the dataset and shown image: dataset.h; the
// document and what each edit touched: document.h; the prompt and its candidates:
// prompt.h; the canvas view: view_transform.h; the decoder seam: decoder_scheduler.h and
// decoder_choice.h; saving: persistence.h / server_sync.h; machine-made starting points:
// proposals.h, everything.h, detector_import.h; the annotation overlay:
// annotation_overlay.h; widgets and canvas input: panels.h, canvas_input.h). This file
// wires them: loading, the per-frame update, the actions that span concerns (open an
// image, accept), and the automation API. It holds no GL object and includes no GL,
// GLFW or ImGui header: it builds natively and is tested there.
//   annotator_init(app, {manifest_url, decoder_url, token});  each frame: annotator_update(app, now);
// then (ImGui) annotator_frame(app, w, h) builds the UI; the platform draws.
// Coordinates: prompts are in full-resolution image pixels and go to the decoder's 1024
// frame only when a request is built.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "app/accept.h"
#include "app/annotation_overlay.h"
#include "app/browser_encoding.h"
#include "app/canvas_input.h"
#include "app/dataset.h"
#include "app/decoder_choice.h"
#include "app/decoder_scheduler.h"
#include "app/detector_import.h"
#include "app/document.h"
#include "app/everything.h"
#include "app/local_files.h"
#include "app/messages.h"
#include "app/panels.h"
#include "app/persistence.h"
#include "app/prompt.h"
#include "app/proposals.h"
#include "app/view_transform.h"
#include "core/dataset_export.h"

namespace sam {

struct annotator {
    dataset_state data;
    app_messages messages;
    document_state doc;
    prompt_state prompt;
    canvas_view canvas;
    decoder_scheduler decoder;
    decoder_choice choice;
    persistence_state save;
    proposals_state proposals;
    everything_state everything;
    detector_state detector;
    annotation_overlay overlay;
    ui_state ui;
    canvas_input_state input;
    browser_encoding_state encoding;  // embeddings computed in the browser (browser_encoding.h)
    local_files_state local;          // opened or dropped files, by batch (local_files.h)
    // Main-thread ms of the latest accept (logits -> RLE -> document), overlay repaint and
    // save (unit texts + browser store + server request): state().timings.
    struct timings {
        double accept_ms = 0, overlay_ms = 0, save_ms = 0;
    } timings;
    int max_texture_size = 0;  // the platform's GL_MAX_TEXTURE_SIZE (0 = unknown: 4096)
    bool renderer_ok = true;   // the platform could build its shaders

    bool ui_ready() const;
};

struct annotator_options {
    std::string manifest_url;  // ?manifest= ("" = scripts/serve's first dataset, else ./manifest.json)
    std::string decoder_url;   // ?decoder= (forces ONNX Runtime Web with that file)
    std::string token;         // ?token= (sent as a bearer token on /api calls)
};

annotator &annotator_instance();
void annotator_init(annotator &app, const annotator_options &o);
// Once per frame before the UI: decoder results, pre-annotation ticks, the overlay, and
// (save = true) saves, which wait k_save_delay_ms after an edit (a timer wakes the page).
// After the UI the platform calls it with save = false.
void annotator_update(annotator &app, double now_ms, bool save = true);
// An edit waits to be saved (the native tests' clock keeps running while it does).
bool annotator_wants_frame(const annotator &app);
// Builds the UI and handles input for one ImGui frame (frame.cpp; ImGui must be in a frame).
void annotator_frame(annotator &app, int fb_w, int fb_h);

// The automation API's state() as JSON text (see tests/browser/app.test.mjs).
struct frame_counters {
    int frames = -1;           // frames the app ran (idle pages run none)
    int presented = -1;        // frames that drew (the picture changed)
    int imgui_frames = -1;     // ImGui frames, several per frame when input piles up
    double frame_ms_last = 0;  // the last frame's main-thread time
};
std::string annotator_state_json(const annotator &app, const frame_counters &f = {});
// saveState(): only what a wait for "saved" polls (revision, autosave, server sync, save_ms),
// whose cost does not grow with the dataset as state()'s annotation list does.
std::string annotator_save_state_json(const annotator &app);

// A file the user opened or dropped (`name` may carry its folder: "labels/cat.txt"); the
// batch it came in ends with annotator_local_files_done (local_files.h says what a batch
// makes). A .json is imported as COCO at once (images matched by file name), or run as
// detector boxes; a .zip's entries join the batch.
void annotator_add_local_file(annotator &app, const std::string &name, std::vector<uint8_t> bytes);
// The batch is complete: images open (with their .npy, or encoded in the browser when the
// model allows it; several make a local session of several images), YOLO label files are
// imported (segmentation labels as annotations of the images they match, detector boxes
// on the shown image).
void annotator_local_files_done(annotator &app);

// Tool actions, also reachable from keyboard shortcuts.
void annotator_open_image(annotator &app, int index);
void annotator_clear_prompt(annotator &app);
// A new prompt replaces the current one and is sent (clicks and the prompt API).
void annotator_set_prompt(annotator &app, prompt_shape shape);
void annotator_select_candidate(annotator &app, int number);  // 1, 2, 3
// Accepts the selected candidate (accept.h): a new annotation with the current
// category, or merged into the selected annotation.
void annotator_accept(annotator &app, accept_merge merge);
int annotator_accept_proposal(annotator &app, int index);
int annotator_accept_proposals_above(annotator &app, double min_iou);
void annotator_undo(annotator &app);
void annotator_redo(annotator &app);
void annotator_delete_selected(annotator &app);
void annotator_start_everything(annotator &app);
void annotator_cancel_everything(annotator &app);
void annotator_finish_detector(annotator &app);
// Keep mine (false) or take the server's (true) on the first save conflict.
void annotator_resolve_conflict(annotator &app, bool take_theirs);

// COCO JSON of the document: polygons (or RLE), all images or the current one.
std::string annotator_export_coco(const annotator &app, bool rle, bool all_images);
// One export format as a store-only ZIP (core/dataset_export.h: "yolo_seg/data.yaml",
// "yolo_seg/labels/<stem>.txt", or "png_masks/legend.json", ...), all images or the current one;
// `file_name` is what the download is called ("yolo_seg.zip").
status annotator_export_zip(const annotator &app, export_format format, bool all_images, std::vector<uint8_t> &zip,
                            std::string &file_name, export_report &report);
// The shown image's embedding when the browser computed it ([1,256,64,64] f32), else null.
const std::vector<float> *annotator_shown_embedding(const annotator &app);

// window.samAnnotator.prompt / accept. prompt: JSON {points: [[x, y, label], ...],
// box: [x0, y0, x1, y1]} in image pixels; returns the request id (> 0), or 0 with
// `error` set. accept: JSON {category: name or id} (a new name is created); returns the
// new annotation's id, or 0 with `error` set.
uint64_t annotator_prompt_api(annotator &app, const std::string &json, std::string &error);
int64_t annotator_accept_api(annotator &app, const std::string &json, std::string &error);

}  // namespace sam
