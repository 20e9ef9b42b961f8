// annotation_document.h - the images, categories and annotations being edited, with undo/redo.
// Every edit is a method that returns sam::status (nothing changes on failure) and records
// only what it changed (old and new state of the touched entities), so undo() / redo()
// replay any edit, including a whole COCO import or a category merge grouped into one step.
// Masks are COCO RLE in original-image pixels (HxW of the image); bbox [x,y,w,h] and area
// are always recomputed from the mask. revision() increases on every change (autosave).
//
//   sam::annotation_document doc;
//   doc.add_image({1, "cat.jpg", 640, 480});
//   int64_t cat = 0; doc.add_category("cat", {255, 0, 0}, &cat);
//   sam::annotation a; a.image_id = 1; a.category_id = cat; a.mask = sam::mask_to_rle(m);
//   int64_t id = 0; doc.add_annotation(a, &id);  doc.undo();  doc.redo();
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/image.h"
#include "core/rle.h"
#include "core/status.h"

namespace sam {

struct doc_image {
    int64_t id = 0;  // positive, unique
    std::string file_name;
    int width = 0;  // of the EXIF-oriented image, as COCO says
    int height = 0;
};

struct rgb8 {
    uint8_t r = 0, g = 0, b = 0;
    bool operator==(const rgb8 &o) const { return r == o.r && g == o.g && b == o.b; }
};

struct doc_category {
    int64_t id = 0;  // positive, unique
    std::string name;
    std::string supercategory;
    rgb8 color;
};

enum class annotation_source { human, machine };

// A click that shaped the mask: original-image pixels, label 1 positive / 0 negative.
struct prompt_point {
    double x = 0, y = 0;
    int label = 1;
};

struct annotation_prompts {
    std::vector<prompt_point> points;
    bool has_box = false;
    double box_xyxy[4] = {0, 0, 0, 0};  // original-image pixels
};

struct annotation {
    int64_t id = 0;  // 0 in add_annotation() = assign the next free id
    int64_t image_id = 0;
    int64_t category_id = 0;
    rle mask;           // height x width of the image
    box_xywh bbox;      // derived from mask (rle_to_bbox)
    double area = 0;    // derived from mask (rle_area)
    double score = 0;   // predicted IoU or detector score; 0 when unknown
    annotation_source source = annotation_source::human;
    bool hidden = false;
    annotation_prompts prompts;
};

class annotation_document {
public:
    annotation_document() = default;

    // ---- reading -------------------------------------------------------------------
    const std::vector<doc_image> &images() const { return images_; }
    const std::vector<doc_category> &categories() const { return categories_; }
    const std::vector<annotation> &annotations() const { return annotations_; }
    const doc_image *find_image(int64_t id) const;
    const doc_image *find_image_by_file_name(const std::string &file_name) const;
    const doc_category *find_category(int64_t id) const;
    const annotation *find_annotation(int64_t id) const;
    size_t count_annotations_with_category(int64_t category_id) const;

    // Monotonic: +1 for every edit, undo and redo (never goes back, so "saved at
    // revision r" is unambiguous even after undo).
    uint64_t revision() const { return revision_; }

    // ---- edits (each one undoable) ---------------------------------------------------
    // id 0 = next free id; file_name must be unique and non-empty, 1..100 megapixels.
    status add_image(doc_image image, int64_t *out_id = nullptr);
    status add_category(const std::string &name, rgb8 color, int64_t *out_id = nullptr,
                        int64_t id = 0, const std::string &supercategory = "");
    status rename_category(int64_t id, const std::string &name);
    status recolor_category(int64_t id, rgb8 color);
    // A category still used by annotations is refused unless reassign_to names another
    // existing category: then its annotations move there and the category goes, as one
    // undo step. (Refusing by default means a slip never silently recategorises work.)
    status delete_category(int64_t id, int64_t reassign_to = 0);

    // bbox and area are recomputed from a.mask, whose size must match the image.
    status add_annotation(annotation a, int64_t *out_id = nullptr);
    status delete_annotation(int64_t id);
    status set_annotation_category(int64_t id, int64_t category_id);
    status set_annotation_hidden(int64_t id, bool hidden);
    // machine -> human: the user accepted an automatic mask as their own.
    status confirm_annotation(int64_t id);
    // New mask (e.g. the result of rle_merge add/subtract); bbox/area follow. The score
    // and prompts are kept unless given.
    status replace_annotation_mask(int64_t id, rle mask);
    status replace_annotation_mask(int64_t id, rle mask, double score, const annotation_prompts &prompts);

    // Several edits as one undo step (nestable); an empty group records nothing.
    void begin_group(const std::string &label);
    void end_group();
    // Closes the innermost open group, reverting the edits made since its begin_group()
    // (e.g. a failed import inside a bigger operation); an outer group keeps the rest.
    void cancel_group();

    // ---- history ---------------------------------------------------------------------
    bool can_undo() const { return !undo_.empty(); }
    bool can_redo() const { return !redo_.empty(); }
    bool undo();  // false when there is nothing to undo
    bool redo();
    size_t undo_depth() const { return undo_.size(); }
    size_t redo_depth() const { return redo_.size(); }
    const std::string &undo_label() const;  // "" when none
    const std::string &redo_label() const;
    void clear_history();
    // Oldest steps are dropped beyond max_steps or once the recorded states exceed max_bytes.
    void set_history_limits(size_t max_steps, size_t max_bytes);
    size_t history_bytes() const { return history_bytes_; }

private:
    // One entity's state before and after an edit; has_* false = absent (added/deleted).
    // For annotations, `fields` says which members matter so field edits don't copy masks.
    enum class entity_kind { image, category, annotation };
    enum : unsigned {
        f_all = 0xffu,
        f_category = 1u,
        f_hidden = 2u,
        f_source = 4u,
        f_mask = 8u,  // mask + bbox + area + score + prompts
    };
    struct change {
        entity_kind kind = entity_kind::annotation;
        int64_t id = 0;
        size_t index = 0;  // position in its vector, for re-inserting in place
        unsigned fields = f_all;
        bool has_before = false, has_after = false;
        doc_image image_before, image_after;
        doc_category category_before, category_after;
        annotation ann_before, ann_after;
        size_t bytes() const;
    };
    struct step {
        std::string label;
        std::vector<change> changes;
        size_t bytes = 0;
    };

    status commit(const std::string &label, change c);
    void apply(const change &c, bool forward);
    void trim_history();
    void rebuild_index() const;
    long annotation_index(int64_t id) const;

    std::vector<doc_image> images_;
    std::vector<doc_category> categories_;
    std::vector<annotation> annotations_;
    mutable std::unordered_map<int64_t, size_t> ann_index_;
    mutable bool ann_index_dirty_ = true;

    std::vector<step> undo_, redo_;
    step open_group_;
    std::vector<size_t> group_marks_;  // open_group_.changes.size() at each open begin_group
    int group_depth_ = 0;
    size_t history_bytes_ = 0;
    size_t max_steps_ = 256;
    size_t max_bytes_ = 64u << 20;
    uint64_t revision_ = 0;
    int64_t next_image_id_ = 1, next_category_id_ = 1, next_annotation_id_ = 1;
};

const char *annotation_source_name(annotation_source s);  // "human" / "machine"

}  // namespace sam
