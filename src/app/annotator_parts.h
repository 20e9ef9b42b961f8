// annotator_parts.h - what the annotator's source files share; internal to
// src/app (the public API is annotator.h). annotator.cpp: loading, input,
// decoding, accept/undo, the frame and state(); panels.cpp: the ImGui panels
// and windows; document_sync.cpp: the browser autosave, the server's
// annotations API and server-side embedding of dropped images;
// pre_annotation.cpp: segment-everything proposals and detector boxes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "app/annotator.h"
#include "core/status.h"

namespace sam {

constexpr float kStatusBarH = 26;  // canvas pixels

// ---- annotator.cpp ----
void add_error(annotator &app, std::string message);
void add_image_error(annotator &app, std::string message);  // about the shown image's files
void send_request(annotator &app, request_kind kind, const std::vector<click_point> &points, bool has_box,
                  const double *box);
void ensure_doc_image(annotator &app);  // the shown image is in the document (annotations need it)
void note_rect(annotator &app, const std::string &name);  // state().ui rectangle of the last widget
void show_selected_logits(annotator &app);                   // the overlay shows the selected candidate
void ensure_category(annotator &app);                        // at least one; current_category valid
// COCO file_name of a manifest image: its path inside images/ ("images/a/b.jpg" -> "a/b.jpg").
std::string coco_file_name(const manifest_image &im);

// ---- document_sync.cpp ----
// A fresh document holding the manifest's images (not undoable: they are the dataset).
status reset_document(annotator &app);
std::string absolute_url(const std::string &url);
// "<name>" when scripts/serve serves the manifest at /datasets/<name>/manifest.json, else "".
std::string served_dataset_name(const std::string &manifest_url);
// Loads the saved annotations (browser autosave, else the server's); sets restore_done.
void start_restore(annotator &app);
// Once per frame: autosave on a new revision; save to the server when due.
void tick_persistence(annotator &app);
// POST /api/embed of a dropped image; the new entry joins the dataset and opens.
void upload_for_embedding(annotator &app, const std::string &name, std::vector<uint8_t> bytes);
// GET /api/annotations/<name>: done(ok, COCO text without "version", version).
void fetch_server_annotations(annotator &app, std::function<void(bool, const std::string &, double)> done);
size_t import_saved(annotator &app, const std::string &text, const std::string &source);
void finish_restore(annotator &app);

// ---- pre_annotation.cpp: proposals and detector boxes ----
// Fetches the shown image's proposals file (a 404 means none); called by annotator_open_image.
void load_proposals(annotator &app);
void clear_proposals(annotator &app);
void update_proposal_taken(annotator &app);  // after edits: which proposals are already annotations
void select_proposal_at(annotator &app, double x, double y);  // image pixel; cycles through nested ones
void draw_proposals(const annotator &app);
// A dropped/opened detector file: COCO JSON boxes (text), YOLO labels (.txt) or a class list.
bool is_detector_json(const std::string &text);
void import_detector_coco(annotator &app, const std::string &name, const std::string &text);
void import_detector_yolo(annotator &app, const std::string &name, const std::string &text);
void set_yolo_classes(annotator &app, const std::string &name, const std::string &text);
// Once per frame: sends the next box when the previous one came back; finishes when all did.
void tick_detector(annotator &app);
// A decoder result of a detector_box request.
void detector_result(annotator &app, decoder_result &r);
// Stops the import; the masks made so far become annotations (one undo step).
void detector_finish(annotator &app);
bool detector_active(const annotator &app);
// Segment everything in the browser: start (shown image, crop 0 only), one point per frame,
// results fed to the core generator; finish turns its records into the image's proposals.
void everything_start(annotator &app);
void everything_cancel(annotator &app);
void tick_everything(annotator &app);
void everything_result(annotator &app, decoder_result &r);
bool everything_active(const annotator &app);
void panel_proposals(annotator &app);  // in the left panel (panels.cpp calls it)
void panel_detector(annotator &app);

// ---- panels.cpp (each one ImGui window; x, y, w, h in canvas pixels) ----
void panel_images(annotator &app, float x, float y, float w, float h);      // images, tools, categories
void panel_candidates(annotator &app, float x, float y, float w, float h);  // candidates, annotations, export
void status_bar(annotator &app, float w, float h);
void help_window(annotator &app, float w, float h);
void open_files_screen(annotator &app);
void errors_window(annotator &app);
void server_conflict_window(annotator &app, float w);

}  // namespace sam
