// document.h - the annotations being edited (the core's annotation_document: images of
// the dataset, categories, masks as COCO RLE in original-image pixels, undo/redo) with
// the current category and selection, and a record of which save units every edit
// touched: one unit per image (its annotations) and one for the categories. Saves
// (persistence.h, server_sync.h) write only the units that changed, so their cost
// follows the edit, not the dataset. Every edit goes through the functions below
// (never doc.* directly), undo and redo included, so the record stays true.
//   document_state d; document_reset(d, images);  document_add_annotation(d, a, &id);
//   unit_changes c = document_take_changes(d);   // what to save now
#pragma once
#include <cstdint>
#include <set>
#include <unordered_map>
#include <string>
#include <vector>

#include "core/annotation_document.h"
#include "core/coco_json.h"
#include "core/status.h"
#include "core/yolo_seg.h"

namespace sam {

struct unit_changes {
    std::set<int64_t> images;  // image ids whose annotations changed
    bool categories = false;
    bool empty() const { return images.empty() && !categories; }
    void merge(const unit_changes &o) {
        images.insert(o.images.begin(), o.images.end());
        categories = categories || o.categories;
    }
};

struct document_state {
    annotation_document doc;
    int64_t current_category = 0;
    int64_t selected_annotation = 0;  // 0 = none

    unit_changes changed;  // since the last document_take_changes
    // Per undo / redo step: the units it touched (mirrors doc's history; undo marks them again).
    std::vector<unit_changes> undo_units, redo_units;
    unit_changes open_group;  // units touched inside the open group
    int group_depth = 0;
    uint64_t group_revision = 0;  // doc.revision() at the outermost begin_group

    // Each annotation's unit text, kept while its content key (mask runs, fields) holds:
    // a unit is rewritten from these, so an edit encodes only the annotations it changed.
    struct unit_text {
        uint64_t key = 0;
        std::string json;
    };
    mutable std::unordered_map<int64_t, unit_text> unit_texts;
};

// A fresh document holding `images` (not undoable: they are the dataset). Nothing changed.
status document_reset(document_state &d, const std::vector<doc_image> &images);
// At least one category; current_category valid.
void document_ensure_category(document_state &d);
// The image is in the document (annotations need it); added if missing (not undoable).
void document_ensure_image(document_state &d, const doc_image &image);

status document_add_annotation(document_state &d, annotation a, int64_t *out_id = nullptr);
status document_delete_annotation(document_state &d, int64_t id);
status document_set_category(document_state &d, int64_t id, int64_t category_id);
status document_set_hidden(document_state &d, int64_t id, bool hidden);
status document_confirm(document_state &d, int64_t id);
status document_replace_mask(document_state &d, int64_t id, rle mask);

status document_add_category(document_state &d, const std::string &name, rgb8 color, int64_t *out_id = nullptr);
status document_rename_category(document_state &d, int64_t id, const std::string &name);
status document_recolor_category(document_state &d, int64_t id, rgb8 color);
status document_delete_category(document_state &d, int64_t id);

// Several edits as one undo step (nestable), as annotation_document's groups.
void document_begin_group(document_state &d, const std::string &label);
void document_end_group(document_state &d);
void document_cancel_group(document_state &d);

bool document_undo(document_state &d);
bool document_redo(document_state &d);
void document_clear_history(document_state &d);

// COCO text added as ONE undo step (coco_import); the units of the images that got
// annotations are marked. (A restore clears the history afterwards.)
status document_import(document_state &d, const std::string &text, const std::string &name,
                       const coco_import_options &options, coco_import_report &report);

// YOLO segmentation label files added as ONE undo step (yolo_seg_import: files matched to
// images by path or file stem, classes named by `class_names`); the units of the images
// that got annotations are marked.
status document_import_yolo_seg(document_state &d, const std::vector<yolo_label_file> &files,
                                const std::vector<std::string> &class_names, yolo_seg_import_report &report);

// A distinct colour for the n-th category (golden-angle hues, saturation 0.75, value 0.95).
rgb8 category_palette_colour(size_t n);

// What changed since the last call (and forgets it).
unit_changes document_take_changes(document_state &d);
// Every unit: after a migration from the old single-file save, or when the record is lost.
unit_changes document_all_units(const document_state &d);

// ---- save units as text (lossless: RLE, hidden, score, source, prompts, colours) ----
// The image's annotations as a JSON array of COCO annotation objects, as coco_export
// with coco_lossless_options writes them (each annotation encoded once while unchanged).
std::string document_image_unit(const document_state &d, int64_t image_id);
// The categories as a JSON array of COCO category objects.
std::string document_categories_unit(const document_state &d);
// A COCO document holding the document's images, `categories` (JSON array text) and
// `annotations` (a list of JSON array texts, each a unit; the image of each annotation
// given by its file_name in `files`): what document_import takes to restore units.
std::string document_assemble_units(const document_state &d, const std::string &categories,
                                    const std::vector<std::pair<std::string, std::string>> &files);

}  // namespace sam
