#include "app/document.h"

#include "core/rle.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <unordered_set>
#include <utility>

namespace sam {

namespace {

using ojson = nlohmann::ordered_json;

unit_changes image_unit(int64_t image_id) {
    unit_changes u;
    u.images.insert(image_id);
    return u;
}

unit_changes categories_unit() {
    unit_changes u;
    u.categories = true;
    return u;
}

// An undo step was recorded (or, inside a group, will be): note its units.
void record_step(document_state &d, const unit_changes &u) {
    d.undo_units.push_back(u);
    d.redo_units.clear();
    // the document drops its oldest steps beyond its limits: so do we
    while (d.undo_units.size() > d.doc.undo_depth()) d.undo_units.erase(d.undo_units.begin());
}

std::unordered_set<int64_t> annotation_ids(const document_state &d) {
    std::unordered_set<int64_t> ids;
    ids.reserve(d.doc.annotations().size());
    for (const annotation &a : d.doc.annotations()) ids.insert(a.id);
    return ids;
}

// The image units of the annotations an import added (those not in `before`).
unit_changes units_of_new_annotations(const document_state &d, const std::unordered_set<int64_t> &before) {
    unit_changes u;
    for (const annotation &a : d.doc.annotations())
        if (!before.count(a.id)) u.images.insert(a.image_id);
    return u;
}

status touched(document_state &d, uint64_t revision_before, status st, const unit_changes &u) {
    if (!st || d.doc.revision() == revision_before) return st;
    d.changed.merge(u);
    if (d.group_depth > 0) d.open_group.merge(u);
    else record_step(d, u);
    return st;
}

int64_t image_of(const document_state &d, int64_t annotation_id) {
    const annotation *a = d.doc.find_annotation(annotation_id);
    return a ? a->image_id : 0;
}

}  // namespace

status document_reset(document_state &d, const std::vector<doc_image> &images) {
    document_state fresh;
    for (const doc_image &im : images) {
        status st = fresh.doc.add_image(im);
        if (!st) return st;
    }
    fresh.doc.clear_history();
    d = std::move(fresh);
    return status::success();
}

void document_ensure_category(document_state &d) {
    if (d.doc.categories().empty()) {
        int64_t id = 0;
        const uint64_t rev = d.doc.revision();
        status st = d.doc.add_category("object", rgb8{30, 144, 255}, &id);
        touched(d, rev, st, categories_unit());
    }
    if (!d.doc.find_category(d.current_category)) d.current_category = d.doc.categories().front().id;
}

void document_ensure_image(document_state &d, const doc_image &image) {
    if (d.doc.find_image(image.id)) return;
    // The dataset's images are not edits: this must not become an undo step of its own.
    const uint64_t rev = d.doc.revision();
    status st = d.doc.add_image(image);
    if (st && d.doc.revision() != rev && d.group_depth == 0) {
        d.undo_units.push_back(unit_changes{});
        while (d.undo_units.size() > d.doc.undo_depth()) d.undo_units.erase(d.undo_units.begin());
    }
}

status document_add_annotation(document_state &d, annotation a, int64_t *out_id) {
    const uint64_t rev = d.doc.revision();
    const int64_t image = a.image_id;
    return touched(d, rev, d.doc.add_annotation(std::move(a), out_id), image_unit(image));
}

status document_delete_annotation(document_state &d, int64_t id) {
    const uint64_t rev = d.doc.revision();
    const int64_t image = image_of(d, id);
    return touched(d, rev, d.doc.delete_annotation(id), image_unit(image));
}

status document_set_category(document_state &d, int64_t id, int64_t category_id) {
    const uint64_t rev = d.doc.revision();
    return touched(d, rev, d.doc.set_annotation_category(id, category_id), image_unit(image_of(d, id)));
}

status document_set_hidden(document_state &d, int64_t id, bool hidden) {
    const uint64_t rev = d.doc.revision();
    return touched(d, rev, d.doc.set_annotation_hidden(id, hidden), image_unit(image_of(d, id)));
}

status document_confirm(document_state &d, int64_t id) {
    const uint64_t rev = d.doc.revision();
    return touched(d, rev, d.doc.confirm_annotation(id), image_unit(image_of(d, id)));
}

status document_replace_mask(document_state &d, int64_t id, rle mask) {
    const uint64_t rev = d.doc.revision();
    return touched(d, rev, d.doc.replace_annotation_mask(id, std::move(mask)), image_unit(image_of(d, id)));
}

status document_add_category(document_state &d, const std::string &name, rgb8 color, int64_t *out_id) {
    const uint64_t rev = d.doc.revision();
    return touched(d, rev, d.doc.add_category(name, color, out_id), categories_unit());
}

status document_rename_category(document_state &d, int64_t id, const std::string &name) {
    const uint64_t rev = d.doc.revision();
    return touched(d, rev, d.doc.rename_category(id, name), categories_unit());
}

status document_recolor_category(document_state &d, int64_t id, rgb8 color) {
    const uint64_t rev = d.doc.revision();
    return touched(d, rev, d.doc.recolor_category(id, color), categories_unit());
}

status document_delete_category(document_state &d, int64_t id) {
    const uint64_t rev = d.doc.revision();
    return touched(d, rev, d.doc.delete_category(id), categories_unit());
}

void document_begin_group(document_state &d, const std::string &label) {
    if (d.group_depth++ == 0) {
        d.open_group = unit_changes{};
        d.group_revision = d.doc.revision();
    }
    d.doc.begin_group(label);
}

void document_end_group(document_state &d) {
    d.doc.end_group();
    if (d.group_depth <= 0 || --d.group_depth > 0) return;
    if (d.doc.revision() != d.group_revision) record_step(d, d.open_group);
    d.open_group = unit_changes{};
}

void document_cancel_group(document_state &d) {
    d.doc.cancel_group();
    // the reverted units were marked changed: saving them again is harmless
    if (d.group_depth <= 0 || --d.group_depth > 0) return;
    d.open_group = unit_changes{};
}

namespace {

// Undo (forward = false) or redo: the step's units move to the other stack, marked changed.
bool replay(document_state &d, bool forward) {
    if (!(forward ? d.doc.redo() : d.doc.undo())) return false;
    std::vector<unit_changes> &from = forward ? d.redo_units : d.undo_units, &to = forward ? d.undo_units : d.redo_units;
    unit_changes u = document_all_units(d);  // lost track: everything
    if (!from.empty()) {
        u = std::move(from.back());
        from.pop_back();
    }
    d.changed.merge(u);
    to.push_back(std::move(u));
    return true;
}

}  // namespace

bool document_undo(document_state &d) { return replay(d, false); }
bool document_redo(document_state &d) { return replay(d, true); }

void document_clear_history(document_state &d) {
    d.doc.clear_history();
    d.undo_units.clear();
    d.redo_units.clear();
}

status document_import(document_state &d, const std::string &text, const std::string &name,
                       const coco_import_options &options, coco_import_report &report) {
    const std::unordered_set<int64_t> before = annotation_ids(d);
    const size_t categories_before = d.doc.categories().size();
    const uint64_t rev = d.doc.revision();
    status st = coco_import(text, name, d.doc, report, options);
    if (!st || d.doc.revision() == rev) return st;
    unit_changes u = units_of_new_annotations(d, before);
    u.categories = d.doc.categories().size() != categories_before || report.categories_added > 0;
    return touched(d, rev, st, u);
}

status document_import_yolo_seg(document_state &d, const std::vector<yolo_label_file> &files,
                                const std::vector<std::string> &class_names, yolo_seg_import_report &report) {
    const std::unordered_set<int64_t> before = annotation_ids(d);
    const uint64_t rev = d.doc.revision();
    status st = yolo_seg_import(d.doc, files, class_names, report);
    if (!st || d.doc.revision() == rev) return st;
    unit_changes u = units_of_new_annotations(d, before);
    u.categories = report.categories_added > 0;
    return touched(d, rev, st, u);
}

rgb8 category_palette_colour(size_t n) {
    // HSV -> RGB as ImGui::ColorConvertHSVtoRGB, so colours match what the panel made before
    float h = std::fmod(0.58f + 0.381966f * (float)n, 1.0f) / (60.0f / 360.0f);
    const float s = 0.75f, v = 0.95f;
    const int i = (int)h;
    const float f = h - (float)i, p = v * (1.0f - s), q = v * (1.0f - s * f), t = v * (1.0f - s * (1.0f - f));
    float r, g, b;
    switch (i) {
        case 0: r = v; g = t; b = p; break;
        case 1: r = q; g = v; b = p; break;
        case 2: r = p; g = v; b = t; break;
        case 3: r = p; g = q; b = v; break;
        case 4: r = t; g = p; b = v; break;
        default: r = v; g = p; b = q; break;
    }
    return rgb8{(uint8_t)(r * 255), (uint8_t)(g * 255), (uint8_t)(b * 255)};
}

unit_changes document_take_changes(document_state &d) {
    unit_changes out = std::move(d.changed);
    d.changed = unit_changes{};
    return out;
}

unit_changes document_all_units(const document_state &d) {
    unit_changes u;
    for (const doc_image &im : d.doc.images()) u.images.insert(im.id);
    u.categories = true;
    return u;
}

namespace {

uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 1099511628211ull; }

uint64_t bits(double v) {
    uint64_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

// Everything the annotation's text depends on, hashed.
uint64_t content_key(const annotation &a) {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t v : {(uint64_t)a.image_id, (uint64_t)a.category_id, (uint64_t)a.hidden, (uint64_t)a.source,
                       bits(a.score), (uint64_t)a.mask.height, (uint64_t)a.mask.width, (uint64_t)a.mask.counts.size(),
                       (uint64_t)a.prompts.has_box, (uint64_t)a.prompts.points.size()})
        h = mix(h, v);
    for (uint32_t c : a.mask.counts) h = mix(h, c);
    for (const prompt_point &p : a.prompts.points) h = mix(mix(mix(h, bits(p.x)), bits(p.y)), (uint64_t)p.label);
    for (double v : a.prompts.box_xyxy) h = mix(h, bits(v));
    return h;
}

// The "annotations" array cut out of a compact coco_export: it sits right before
// "categories", and no string inside an annotation can hold `],"categories":` (RLE
// strings have no quote), so it is taken as it is, without parsing and printing again.
std::string annotations_array(const std::string &coco) {
    const std::string open = "\"annotations\":[", close = "],\"categories\":";
    const size_t a = coco.find(open);
    const size_t b = a == std::string::npos ? a : coco.find(close, a);
    if (b == std::string::npos) return "[]";
    return coco.substr(a + open.size() - 1, b + 1 - (a + open.size() - 1));
}

// One annotation exactly as coco_export writes it with coco_lossless_options: exported
// from a document holding just it (its image and category).
std::string annotation_json(const annotation_document &doc, const annotation &a) {
    const doc_image *im = doc.find_image(a.image_id);
    const doc_category *c = doc.find_category(a.category_id);
    annotation_document one;
    if (!im || !c || !one.add_image(*im) || !one.add_category(c->name, c->color, nullptr, c->id) || !one.add_annotation(a))
        return "";
    const std::string array = annotations_array(coco_export(one, coco_lossless_options()));
    return array.size() > 2 ? array.substr(1, array.size() - 2) : "";
}

}  // namespace

std::string document_image_unit(const document_state &d, int64_t image_id) {
    std::string out = "[";
    std::unordered_map<int64_t, document_state::unit_text> kept;
    for (const annotation &a : d.doc.annotations()) {
        if (a.image_id != image_id) continue;
        const uint64_t key = content_key(a);
        auto it = d.unit_texts.find(a.id);
        if (it == d.unit_texts.end() || it->second.key != key)
            it = d.unit_texts.insert_or_assign(a.id, document_state::unit_text{key, annotation_json(d.doc, a)}).first;
        if (it->second.json.empty()) continue;
        if (out.size() > 1) out += ',';
        out += it->second.json;
    }
    return out + "]";
}

std::string document_categories_unit(const document_state &d) {
    ojson cats = ojson::array();
    for (const doc_category &c : d.doc.categories()) {
        ojson o;
        o["id"] = c.id;
        o["name"] = c.name;
        o["supercategory"] = c.supercategory;
        o["sam"] = {{"color", {c.color.r, c.color.g, c.color.b}}};
        cats.push_back(std::move(o));
    }
    return cats.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

std::string document_assemble_units(const document_state &d, const std::string &categories,
                                    const std::vector<std::pair<std::string, std::string>> &files) {
    ojson root;
    ojson images = ojson::array();
    for (const doc_image &im : d.doc.images())
        images.push_back({{"id", im.id}, {"file_name", im.file_name}, {"width", im.width}, {"height", im.height}});
    root["images"] = std::move(images);
    ojson cats = ojson::parse(categories, nullptr, false);
    root["categories"] = cats.is_array() ? cats : ojson::array();
    ojson anns = ojson::array();
    for (const auto &f : files) {
        const doc_image *im = d.doc.find_image_by_file_name(f.first);
        ojson unit = ojson::parse(f.second, nullptr, false);
        if (!im || !unit.is_array()) continue;
        for (ojson &a : unit) {
            if (!a.is_object()) continue;
            a["image_id"] = im->id;  // a unit's annotations belong to its image, whatever they say
            anns.push_back(std::move(a));
        }
    }
    root["annotations"] = std::move(anns);
    return root.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

}  // namespace sam
