// annotation_document.cpp - edits as recorded changes; undo/redo replays them.
#include "core/annotation_document.h"

#include <algorithm>
#include <cmath>

namespace sam {

namespace {

const std::string k_empty;

bool finite(double v) { return std::isfinite(v); }

std::string quoted(const std::string &s) { return "\"" + s + "\""; }

status validate_prompts(const annotation_prompts &p) {
    for (size_t i = 0; i < p.points.size(); i++) {
        const prompt_point &q = p.points[i];
        if (!finite(q.x) || !finite(q.y))
            return status::failure("prompts.points[" + std::to_string(i) + "]: coordinates must be finite");
        if (q.label != 0 && q.label != 1)
            return status::failure("prompts.points[" + std::to_string(i) + "]: label must be 0 or 1, got " +
                                   std::to_string(q.label));
    }
    if (p.has_box)
        for (double v : p.box_xyxy)
            if (!finite(v)) return status::failure("prompts.box: coordinates must be finite");
    return status::success();
}

status validate_mask(const rle &m, const doc_image &img) {
    if (m.height != img.height || m.width != img.width)
        return status::failure("mask is " + std::to_string(m.height) + "x" + std::to_string(m.width) +
                               " but image " + std::to_string(img.id) + " (" + img.file_name + ") is " +
                               std::to_string(img.height) + "x" + std::to_string(img.width));
    uint64_t sum = 0;
    for (uint32_t c : m.counts) sum += c;
    if (sum != (uint64_t)m.height * (uint64_t)m.width)
        return status::failure("mask run lengths sum to " + std::to_string(sum) + ", expected " +
                               std::to_string((uint64_t)m.height * (uint64_t)m.width));
    return status::success();
}

void derive_geometry(annotation &a) {
    a.area = (double)rle_area(a.mask);
    a.bbox = rle_to_bbox(a.mask);
}

}  // namespace

const char *annotation_source_name(annotation_source s) {
    return s == annotation_source::machine ? "machine" : "human";
}

// ---- lookup ---------------------------------------------------------------------------

const doc_image *annotation_document::find_image(int64_t id) const {
    for (const doc_image &i : images_)
        if (i.id == id) return &i;
    return nullptr;
}

const doc_image *annotation_document::find_image_by_file_name(const std::string &file_name) const {
    for (const doc_image &i : images_)
        if (i.file_name == file_name) return &i;
    return nullptr;
}

const doc_category *annotation_document::find_category(int64_t id) const {
    for (const doc_category &c : categories_)
        if (c.id == id) return &c;
    return nullptr;
}

void annotation_document::rebuild_index() const {
    ann_index_.clear();
    for (size_t i = 0; i < annotations_.size(); i++) ann_index_[annotations_[i].id] = i;
    ann_index_dirty_ = false;
}

long annotation_document::annotation_index(int64_t id) const {
    if (ann_index_dirty_) rebuild_index();
    auto it = ann_index_.find(id);
    return it == ann_index_.end() ? -1 : (long)it->second;
}

const annotation *annotation_document::find_annotation(int64_t id) const {
    long i = annotation_index(id);
    return i < 0 ? nullptr : &annotations_[(size_t)i];
}

size_t annotation_document::count_annotations_with_category(int64_t category_id) const {
    size_t n = 0;
    for (const annotation &a : annotations_) n += a.category_id == category_id;
    return n;
}

// ---- recording and replaying changes ----------------------------------------------------

size_t annotation_document::change::bytes() const {
    size_t b = sizeof(change);
    b += image_before.file_name.size() + image_after.file_name.size();
    b += category_before.name.size() + category_after.name.size();
    b += category_before.supercategory.size() + category_after.supercategory.size();
    for (const annotation *a : {&ann_before, &ann_after})
        b += a->mask.counts.size() * sizeof(uint32_t) + a->prompts.points.size() * sizeof(prompt_point);
    return b;
}

template <class T>
static void put_entity(std::vector<T> &v, const T &value, size_t index) {
    for (T &e : v)
        if (e.id == value.id) {
            e = value;
            return;
        }
    v.insert(v.begin() + (long)std::min(index, v.size()), value);
}

template <class T>
static void erase_entity(std::vector<T> &v, int64_t id) {
    v.erase(std::remove_if(v.begin(), v.end(), [id](const T &e) { return e.id == id; }), v.end());
}

void annotation_document::apply(const change &c, bool forward) {
    bool present = forward ? c.has_after : c.has_before;
    switch (c.kind) {
    case entity_kind::image:
        if (present) put_entity(images_, forward ? c.image_after : c.image_before, c.index);
        else erase_entity(images_, c.id);
        break;
    case entity_kind::category:
        if (present) put_entity(categories_, forward ? c.category_after : c.category_before, c.index);
        else erase_entity(categories_, c.id);
        break;
    case entity_kind::annotation: {
        const annotation &s = forward ? c.ann_after : c.ann_before;
        if (c.fields == f_all) {
            // Appends and removals at the end (adds, their undo, a whole import and its
            // undo) keep the id index current; anything else rebuilds it on the next lookup.
            long i = annotation_index(c.id);
            if (present) {
                if (i >= 0) {
                    annotations_[(size_t)i] = s;
                } else if (c.index >= annotations_.size()) {
                    annotations_.push_back(s);
                    ann_index_[s.id] = annotations_.size() - 1;
                } else {
                    annotations_.insert(annotations_.begin() + (long)c.index, s);
                    ann_index_dirty_ = true;
                }
            } else if (i >= 0) {
                if ((size_t)i + 1 == annotations_.size()) {
                    annotations_.pop_back();
                    ann_index_.erase(c.id);
                } else {
                    annotations_.erase(annotations_.begin() + i);
                    ann_index_dirty_ = true;
                }
            }
            break;
        }
        long i = annotation_index(c.id);
        if (i < 0) break;  // cannot happen: history is replayed in order
        annotation &a = annotations_[(size_t)i];
        if (c.fields & f_category) a.category_id = s.category_id;
        if (c.fields & f_hidden) a.hidden = s.hidden;
        if (c.fields & f_source) a.source = s.source;
        if (c.fields & f_mask) {
            a.mask = s.mask;
            a.bbox = s.bbox;
            a.area = s.area;
            a.score = s.score;
            a.prompts = s.prompts;
        }
        break;
    }
    }
}

status annotation_document::commit(const std::string &label, change c) {
    apply(c, true);
    revision_++;
    redo_.clear();
    if (group_depth_ > 0) {
        open_group_.bytes += c.bytes();
        open_group_.changes.push_back(std::move(c));
        return status::success();
    }
    step s;
    s.label = label;
    s.bytes = c.bytes();
    s.changes.push_back(std::move(c));
    history_bytes_ += s.bytes;
    undo_.push_back(std::move(s));
    trim_history();
    return status::success();
}

void annotation_document::begin_group(const std::string &label) {
    if (group_depth_++ == 0) {
        open_group_ = step();
        open_group_.label = label;
        group_marks_.clear();
    }
    group_marks_.push_back(open_group_.changes.size());
}

void annotation_document::end_group() {
    if (group_depth_ == 0) return;
    group_marks_.pop_back();
    if (--group_depth_ > 0) return;
    if (open_group_.changes.empty()) return;
    history_bytes_ += open_group_.bytes;
    undo_.push_back(std::move(open_group_));
    open_group_ = step();
    trim_history();
}

void annotation_document::cancel_group() {
    if (group_depth_ == 0) return;
    const size_t mark = group_marks_.back();
    group_marks_.pop_back();
    std::vector<change> &cs = open_group_.changes;
    for (size_t i = cs.size(); i-- > mark;) {
        apply(cs[i], false);
        open_group_.bytes -= cs[i].bytes();
    }
    if (cs.size() > mark) revision_++;
    cs.resize(mark);
    if (--group_depth_ == 0) open_group_ = step();
}

void annotation_document::trim_history() {
    size_t drop = 0;
    size_t bytes = history_bytes_;
    // Keep at least the newest step even if it alone is over the byte budget, so the
    // edit just made can always be undone.
    while (undo_.size() - drop > 1 && (undo_.size() - drop > max_steps_ || bytes > max_bytes_)) {
        bytes -= undo_[drop].bytes;
        drop++;
    }
    if (max_steps_ == 0) {
        drop = undo_.size();
        bytes = 0;
    }
    if (drop == 0) return;
    undo_.erase(undo_.begin(), undo_.begin() + (long)drop);
    history_bytes_ = bytes;
}

void annotation_document::set_history_limits(size_t max_steps, size_t max_bytes) {
    max_steps_ = max_steps;
    max_bytes_ = max_bytes;
    trim_history();
}

void annotation_document::clear_history() {
    undo_.clear();
    redo_.clear();
    history_bytes_ = 0;
}

bool annotation_document::undo() {
    if (undo_.empty() || group_depth_ > 0) return false;
    step s = std::move(undo_.back());
    undo_.pop_back();
    history_bytes_ -= s.bytes;
    for (size_t i = s.changes.size(); i-- > 0;) apply(s.changes[i], false);
    revision_++;
    redo_.push_back(std::move(s));
    return true;
}

bool annotation_document::redo() {
    if (redo_.empty() || group_depth_ > 0) return false;
    step s = std::move(redo_.back());
    redo_.pop_back();
    for (const change &c : s.changes) apply(c, true);
    revision_++;
    history_bytes_ += s.bytes;
    undo_.push_back(std::move(s));
    trim_history();
    return true;
}

const std::string &annotation_document::undo_label() const { return undo_.empty() ? k_empty : undo_.back().label; }
const std::string &annotation_document::redo_label() const { return redo_.empty() ? k_empty : redo_.back().label; }

// ---- images and categories ---------------------------------------------------------------

status annotation_document::add_image(doc_image image, int64_t *out_id) {
    if (image.id < 0) return status::failure("image id must be positive, got " + std::to_string(image.id));
    if (image.id == 0) image.id = next_image_id_;
    if (find_image(image.id)) return status::failure("image id " + std::to_string(image.id) + " already exists");
    if (image.file_name.empty()) return status::failure("image " + std::to_string(image.id) + ": empty file_name");
    if (find_image_by_file_name(image.file_name))
        return status::failure("image file_name " + quoted(image.file_name) + " already exists");
    if (image.width <= 0 || image.height <= 0 || (int64_t)image.width * image.height > 100000000)
        return status::failure("image " + quoted(image.file_name) + ": size " + std::to_string(image.width) + "x" +
                               std::to_string(image.height) + " must be positive and at most 100 megapixels");
    next_image_id_ = std::max(next_image_id_, image.id + 1);
    change c;
    c.kind = entity_kind::image;
    c.id = image.id;
    c.index = images_.size();
    c.has_after = true;
    c.image_after = std::move(image);
    if (out_id) *out_id = c.id;
    return commit("add image", std::move(c));
}

status annotation_document::add_category(const std::string &name, rgb8 color, int64_t *out_id, int64_t id,
                                         const std::string &supercategory) {
    if (id < 0) return status::failure("category id must be positive, got " + std::to_string(id));
    if (id == 0) id = next_category_id_;
    if (find_category(id)) return status::failure("category id " + std::to_string(id) + " already exists");
    if (name.empty()) return status::failure("category name must not be empty");
    next_category_id_ = std::max(next_category_id_, id + 1);
    change c;
    c.kind = entity_kind::category;
    c.id = id;
    c.index = categories_.size();
    c.has_after = true;
    c.category_after.id = id;
    c.category_after.name = name;
    c.category_after.supercategory = supercategory;
    c.category_after.color = color;
    if (out_id) *out_id = id;
    return commit("add category " + quoted(name), std::move(c));
}

static size_t index_of_category(const std::vector<doc_category> &v, int64_t id) {
    for (size_t i = 0; i < v.size(); i++)
        if (v[i].id == id) return i;
    return v.size();
}

status annotation_document::rename_category(int64_t id, const std::string &name) {
    size_t i = index_of_category(categories_, id);
    if (i == categories_.size()) return status::failure("no category " + std::to_string(id));
    if (name.empty()) return status::failure("category name must not be empty");
    if (categories_[i].name == name) return status::success();
    change c;
    c.kind = entity_kind::category;
    c.id = id;
    c.index = i;
    c.has_before = c.has_after = true;
    c.category_before = categories_[i];
    c.category_after = categories_[i];
    c.category_after.name = name;
    return commit("rename category " + quoted(c.category_before.name) + " to " + quoted(name), std::move(c));
}

status annotation_document::recolor_category(int64_t id, rgb8 color) {
    size_t i = index_of_category(categories_, id);
    if (i == categories_.size()) return status::failure("no category " + std::to_string(id));
    if (categories_[i].color == color) return status::success();
    change c;
    c.kind = entity_kind::category;
    c.id = id;
    c.index = i;
    c.has_before = c.has_after = true;
    c.category_before = categories_[i];
    c.category_after = categories_[i];
    c.category_after.color = color;
    return commit("recolour category " + quoted(categories_[i].name), std::move(c));
}

status annotation_document::delete_category(int64_t id, int64_t reassign_to) {
    size_t i = index_of_category(categories_, id);
    if (i == categories_.size()) return status::failure("no category " + std::to_string(id));
    size_t used = count_annotations_with_category(id);
    if (used > 0) {
        if (reassign_to == 0)
            return status::failure("category " + quoted(categories_[i].name) + " is used by " + std::to_string(used) +
                                   " annotation(s); reassign them or delete them first");
        if (reassign_to == id || !find_category(reassign_to))
            return status::failure("cannot reassign annotations of category " + quoted(categories_[i].name) +
                                   " to category " + std::to_string(reassign_to));
    }
    std::string label = "delete category " + quoted(categories_[i].name);
    begin_group(label);
    if (used > 0) {
        // Collect ids first: set_annotation_category does not reorder, but keep it obvious.
        std::vector<int64_t> ids;
        for (const annotation &a : annotations_)
            if (a.category_id == id) ids.push_back(a.id);
        for (int64_t aid : ids) set_annotation_category(aid, reassign_to);
    }
    change c;
    c.kind = entity_kind::category;
    c.id = id;
    c.index = i;
    c.has_before = true;
    c.category_before = categories_[i];
    commit(label, std::move(c));
    end_group();
    return status::success();
}

// ---- annotations -------------------------------------------------------------------------

status annotation_document::add_annotation(annotation a, int64_t *out_id) {
    if (a.id < 0) return status::failure("annotation id must be positive, got " + std::to_string(a.id));
    if (a.id == 0) a.id = next_annotation_id_;
    std::string where = "annotation " + std::to_string(a.id);
    if (find_annotation(a.id)) return status::failure(where + ": id already exists");
    const doc_image *img = find_image(a.image_id);
    if (!img) return status::failure(where + ": no image " + std::to_string(a.image_id));
    if (!find_category(a.category_id)) return status::failure(where + ": no category " + std::to_string(a.category_id));
    status st = validate_mask(a.mask, *img);
    if (!st) return status::failure(where + ": " + st.message);
    st = validate_prompts(a.prompts);
    if (!st) return status::failure(where + ": " + st.message);
    if (!finite(a.score)) return status::failure(where + ": score must be finite");
    derive_geometry(a);
    next_annotation_id_ = std::max(next_annotation_id_, a.id + 1);
    change c;
    c.kind = entity_kind::annotation;
    c.id = a.id;
    c.index = annotations_.size();
    c.has_after = true;
    c.ann_after = std::move(a);
    if (out_id) *out_id = c.id;
    return commit("add annotation", std::move(c));
}

status annotation_document::delete_annotation(int64_t id) {
    long i = annotation_index(id);
    if (i < 0) return status::failure("no annotation " + std::to_string(id));
    change c;
    c.kind = entity_kind::annotation;
    c.id = id;
    c.index = (size_t)i;
    c.has_before = true;
    c.ann_before = annotations_[(size_t)i];
    return commit("delete annotation", std::move(c));
}

// Builds a field change of annotation `id`: before = current, after = current edited by fn.
template <class F>
static bool make_field_change(const annotation &cur, unsigned fields, F fn, annotation &before, annotation &after) {
    before.id = after.id = cur.id;
    before.category_id = cur.category_id;
    before.hidden = cur.hidden;
    before.source = cur.source;
    if (fields & 8u) {
        before.mask = cur.mask;
        before.bbox = cur.bbox;
        before.area = cur.area;
        before.score = cur.score;
        before.prompts = cur.prompts;
    }
    after = before;
    return fn(after);
}

status annotation_document::set_annotation_category(int64_t id, int64_t category_id) {
    long i = annotation_index(id);
    if (i < 0) return status::failure("no annotation " + std::to_string(id));
    if (!find_category(category_id)) return status::failure("no category " + std::to_string(category_id));
    const annotation &cur = annotations_[(size_t)i];
    if (cur.category_id == category_id) return status::success();
    change c;
    c.kind = entity_kind::annotation;
    c.id = id;
    c.index = (size_t)i;
    c.fields = f_category;
    c.has_before = c.has_after = true;
    make_field_change(cur, c.fields, [&](annotation &a) { a.category_id = category_id; return true; },
                      c.ann_before, c.ann_after);
    return commit("change category", std::move(c));
}

status annotation_document::set_annotation_hidden(int64_t id, bool hidden) {
    long i = annotation_index(id);
    if (i < 0) return status::failure("no annotation " + std::to_string(id));
    const annotation &cur = annotations_[(size_t)i];
    if (cur.hidden == hidden) return status::success();
    change c;
    c.kind = entity_kind::annotation;
    c.id = id;
    c.index = (size_t)i;
    c.fields = f_hidden;
    c.has_before = c.has_after = true;
    make_field_change(cur, c.fields, [&](annotation &a) { a.hidden = hidden; return true; }, c.ann_before,
                      c.ann_after);
    return commit(hidden ? "hide annotation" : "show annotation", std::move(c));
}

status annotation_document::confirm_annotation(int64_t id) {
    long i = annotation_index(id);
    if (i < 0) return status::failure("no annotation " + std::to_string(id));
    const annotation &cur = annotations_[(size_t)i];
    if (cur.source == annotation_source::human) return status::success();
    change c;
    c.kind = entity_kind::annotation;
    c.id = id;
    c.index = (size_t)i;
    c.fields = f_source;
    c.has_before = c.has_after = true;
    make_field_change(cur, c.fields, [&](annotation &a) { a.source = annotation_source::human; return true; },
                      c.ann_before, c.ann_after);
    return commit("confirm annotation", std::move(c));
}

status annotation_document::replace_annotation_mask(int64_t id, rle mask) {
    const annotation *cur = find_annotation(id);
    if (!cur) return status::failure("no annotation " + std::to_string(id));
    return replace_annotation_mask(id, std::move(mask), cur->score, cur->prompts);
}

status annotation_document::replace_annotation_mask(int64_t id, rle mask, double score,
                                                    const annotation_prompts &prompts) {
    long i = annotation_index(id);
    if (i < 0) return status::failure("no annotation " + std::to_string(id));
    const annotation &cur = annotations_[(size_t)i];
    std::string where = "annotation " + std::to_string(id);
    const doc_image *img = find_image(cur.image_id);
    if (!img) return status::failure(where + ": no image " + std::to_string(cur.image_id));
    status st = validate_mask(mask, *img);
    if (!st) return status::failure(where + ": " + st.message);
    st = validate_prompts(prompts);
    if (!st) return status::failure(where + ": " + st.message);
    if (!finite(score)) return status::failure(where + ": score must be finite");
    change c;
    c.kind = entity_kind::annotation;
    c.id = id;
    c.index = (size_t)i;
    c.fields = f_mask;
    c.has_before = c.has_after = true;
    make_field_change(cur, c.fields,
                      [&](annotation &a) {
                          a.mask = std::move(mask);
                          a.score = score;
                          a.prompts = prompts;
                          derive_geometry(a);
                          return true;
                      },
                      c.ann_before, c.ann_after);
    return commit("edit mask", std::move(c));
}

}  // namespace sam
