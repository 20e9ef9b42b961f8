// coco_json.cpp - COCO JSON <-> annotation_document.
// The core is built with JSON_NOEXCEPTION: nlohmann aborts on a type error or on dumping
// invalid UTF-8, so every value is type-checked before get<>() and dump() replaces bad bytes.
#include "core/coco_json.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/polygon.h"
#include "core/rle.h"

namespace sam {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

namespace {

// ---- export ----------------------------------------------------------------------------

double round2(double v) { return std::round(v * 100.0) / 100.0; }

ojson number_or_int(double v) {
    if (v == std::floor(v) && std::fabs(v) < 9e15) return ojson((int64_t)v);
    return ojson(v);
}

ojson rle_json(const rle &m) {
    ojson o;
    o["size"] = {m.height, m.width};
    o["counts"] = rle_to_string(m);
    return o;
}

// Polygons for `m`, or an empty list when they would not be faithful (see the header).
// Works in the mask's bbox plus a one-pixel frame: polygon vertices lie on the traced
// border, so they stay inside the bbox and the window rasterises them as the image would.
ojson polygon_json(const rle &m, const box_xywh &bbox, const coco_export_options &opt) {
    ojson out = ojson::array();
    if (bbox.w <= 0 || bbox.h <= 0) return out;
    const int x0 = std::max(0, (int)bbox.x - 1), y0 = std::max(0, (int)bbox.y - 1);
    const int x1 = std::min(m.width, (int)(bbox.x + bbox.w) + 1), y1 = std::min(m.height, (int)(bbox.y + bbox.h) + 1);
    const int w = x1 - x0, h = y1 - y0;
    binary_mask mask = rle_crop(m, x0, y0, w, h);
    polygon_set ps = mask_to_polygons(mask, opt.polygon_tolerance);
    if (ps.has_holes || ps.polygons.empty()) return out;
    binary_mask back = polygons_to_mask(ps.polygons, h, w);
    uint64_t inter = 0, uni = 0;
    for (size_t i = 0; i < mask.data.size(); i++) {
        inter += mask.data[i] & back.data[i];
        uni += mask.data[i] | back.data[i];
    }
    if (uni == 0 || (double)inter / (double)uni < opt.polygon_min_iou) return out;
    for (const polygon &p : ps.polygons) {
        ojson xy = ojson::array();
        for (size_t k = 0; k < p.xy.size(); k++)
            xy.push_back(number_or_int(round2((double)p.xy[k] + (k % 2 == 0 ? x0 : y0))));
        out.push_back(std::move(xy));
    }
    return out;
}

ojson color_json(rgb8 c) { return ojson::array({c.r, c.g, c.b}); }

}  // namespace

coco_export_options coco_lossless_options() {
    coco_export_options o;
    o.segmentation = coco_segmentation::rle;
    o.include_hidden = true;
    o.include_sam_fields = true;
    return o;
}

std::string coco_export(const annotation_document &doc, const coco_export_options &opt) {
    ojson root;
    ojson info;
    info["description"] = "SAM annotator export";
    info["version"] = "1.0";
    if (!opt.date_created.empty()) info["date_created"] = opt.date_created;
    root["info"] = std::move(info);
    root["licenses"] = ojson::array();

    ojson images = ojson::array();
    for (const doc_image &im : doc.images()) {
        if (opt.image_id != 0 && im.id != opt.image_id) continue;
        ojson o;
        o["id"] = im.id;
        o["file_name"] = im.file_name;
        o["width"] = im.width;
        o["height"] = im.height;
        images.push_back(std::move(o));
    }
    root["images"] = std::move(images);

    ojson anns = ojson::array();
    for (const annotation &a : doc.annotations()) {
        if (opt.image_id != 0 && a.image_id != opt.image_id) continue;
        if (a.hidden && !opt.include_hidden) continue;
        ojson o;
        o["id"] = a.id;
        o["image_id"] = a.image_id;
        o["category_id"] = a.category_id;
        ojson seg;
        if (opt.segmentation == coco_segmentation::polygons) seg = polygon_json(a.mask, a.bbox, opt);
        if (seg.empty()) seg = rle_json(a.mask);
        o["segmentation"] = std::move(seg);
        o["area"] = number_or_int(a.area);
        o["bbox"] = {number_or_int(a.bbox.x), number_or_int(a.bbox.y), number_or_int(a.bbox.w),
                     number_or_int(a.bbox.h)};
        o["iscrowd"] = 0;
        if (opt.include_sam_fields) {
            ojson s;
            s["score"] = a.score;
            s["source"] = annotation_source_name(a.source);
            s["hidden"] = a.hidden;
            ojson pts = ojson::array();
            for (const prompt_point &p : a.prompts.points) pts.push_back({p.x, p.y, p.label});
            ojson pr;
            pr["points"] = std::move(pts);
            if (a.prompts.has_box)
                pr["box"] = {a.prompts.box_xyxy[0], a.prompts.box_xyxy[1], a.prompts.box_xyxy[2], a.prompts.box_xyxy[3]};
            s["prompts"] = std::move(pr);
            o["sam"] = std::move(s);
        }
        anns.push_back(std::move(o));
    }
    root["annotations"] = std::move(anns);

    ojson cats = ojson::array();
    for (const doc_category &c : doc.categories()) {
        ojson o;
        o["id"] = c.id;
        o["name"] = c.name;
        o["supercategory"] = c.supercategory;
        if (opt.include_sam_fields) o["sam"] = {{"color", color_json(c.color)}};
        cats.push_back(std::move(o));
    }
    root["categories"] = std::move(cats);
    return root.dump(opt.indent, ' ', false, ojson::error_handler_t::replace);
}

// ---- import ------------------------------------------------------------------------------

namespace {

constexpr int k_max_depth = 64;
constexpr int64_t k_max_pixels = 100000000;
constexpr size_t k_max_polygon_numbers = 4000000;  // per annotation

// Refuses nesting deeper than k_max_depth before nlohmann builds (and later destroys) it.
bool nesting_ok(const std::string &s) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < s.size(); i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') i++;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > k_max_depth) return false;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return true;
}

const char *type_name(const json &v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_array()) return "an array";
    if (v.is_object()) return "an object";
    return "an invalid value";
}

// Error context: "coco.json: annotations[3].bbox".
struct ctx {
    std::string name;
    status fail(const std::string &path, const std::string &why) const {
        return status::failure(name + ": " + path + ": " + why);
    }
};

std::string idx(const std::string &path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// An integer id (JSON integer, or a float with an integral value) that fits comfortably.
status get_int(const ctx &c, const json &obj, const std::string &path, const char *key, int64_t lo, int64_t hi,
               int64_t &out) {
    std::string p = path + "." + key;
    auto it = obj.find(key);
    if (it == obj.end()) return c.fail(p, "missing");
    const json &v = *it;
    double d;
    if (v.is_number_integer()) {
        if (v.is_number_unsigned()) {
            uint64_t u = v.get<uint64_t>();
            if (u > (uint64_t)hi) return c.fail(p, "out of range (" + std::to_string(u) + ")");
            d = (double)u;
            out = (int64_t)u;
        } else {
            out = v.get<int64_t>();
            d = (double)out;
        }
    } else if (v.is_number_float()) {
        d = v.get<double>();
        if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15)
            return c.fail(p, "expected an integer, got " + v.dump(-1, ' ', false, json::error_handler_t::replace));
        out = (int64_t)d;
    } else {
        return c.fail(p, std::string("expected an integer, got ") + type_name(v));
    }
    if (out < lo || out > hi)
        return c.fail(p, "out of range (" + std::to_string(out) + ", expected " + std::to_string(lo) + ".." +
                             std::to_string(hi) + ")");
    (void)d;
    return status::success();
}

status get_string(const ctx &c, const json &obj, const std::string &path, const char *key, bool required,
                  std::string &out) {
    std::string p = path + "." + key;
    auto it = obj.find(key);
    if (it == obj.end()) return required ? c.fail(p, "missing") : status::success();
    if (!it->is_string()) return c.fail(p, std::string("expected a string, got ") + type_name(*it));
    out = it->get<std::string>();
    return status::success();
}

status get_number_array(const ctx &c, const json &v, const std::string &p, size_t want, std::vector<double> &out) {
    if (!v.is_array()) return c.fail(p, "expected " + std::to_string(want) + " numbers, got " + type_name(v));
    if (v.size() != want)
        return c.fail(p, "expected " + std::to_string(want) + " numbers, got " + std::to_string(v.size()));
    out.clear();
    for (size_t i = 0; i < v.size(); i++) {
        if (!v[i].is_number()) return c.fail(idx(p, i), std::string("expected a number, got ") + type_name(v[i]));
        double d = v[i].get<double>();
        if (!std::isfinite(d)) return c.fail(idx(p, i), "not finite");
        out.push_back(d);
    }
    return status::success();
}

const json *get_array(const ctx &c, const json &root, const char *key, bool required, status &st) {
    auto it = root.find(key);
    if (it == root.end()) {
        if (required) st = c.fail(key, "missing");
        return nullptr;
    }
    if (!it->is_array()) {
        st = c.fail(key, std::string("expected an array, got ") + type_name(*it));
        return nullptr;
    }
    return &*it;
}

struct staged_image {
    doc_image image;
    bool exists = false;   // matched a document image
    bool skipped = false;  // unknown and not added (add_unknown_images = false)
};

std::string base_name(const std::string &path) {
    size_t s = path.find_last_of("/\\");
    return s == std::string::npos ? path : path.substr(s + 1);
}

// The document image for `file`: exact file_name, else (match_base_name) the only image
// with the same base name.
const doc_image *match_image(const annotation_document &doc, const std::string &file, bool by_base_name) {
    if (const doc_image *known = doc.find_image_by_file_name(file)) return known;
    if (!by_base_name) return nullptr;
    const std::string b = base_name(file);
    const doc_image *found = nullptr;
    for (const doc_image &im : doc.images())
        if (base_name(im.file_name) == b) {
            if (found) return nullptr;  // ambiguous
            found = &im;
        }
    return found;
}

struct staged_category {
    doc_category category;
    bool exists = false;
};

status parse_segmentation(const ctx &c, const json &seg, const std::string &p, int h, int w, rle &out,
                          bool &was_polygon) {
    if (seg.is_array()) {
        was_polygon = true;
        if (seg.empty()) return c.fail(p, "empty polygon list");
        std::vector<polygon> polys;
        size_t total = 0;
        float max_x = 0, max_y = 0;
        // Coordinates far outside the image are refused: the rasteriser's work grows with
        // edge length, and no real polygon strays further than the image's own size.
        const double xlo = -(double)w, xhi = 2.0 * w, ylo = -(double)h, yhi = 2.0 * h;
        for (size_t i = 0; i < seg.size(); i++) {
            std::string pi = idx(p, i);
            const json &poly = seg[i];
            if (!poly.is_array()) return c.fail(pi, std::string("expected an array of numbers, got ") + type_name(poly));
            if (poly.size() < 6 || poly.size() % 2)
                return c.fail(pi, "expected an even count of at least 6 numbers (3 points), got " +
                                      std::to_string(poly.size()));
            total += poly.size();
            if (total > k_max_polygon_numbers) return c.fail(p, "too many polygon points");
            polygon q;
            q.xy.reserve(poly.size());
            for (size_t k = 0; k < poly.size(); k++) {
                const json &v = poly[k];
                if (!v.is_number()) return c.fail(idx(pi, k), std::string("expected a number, got ") + type_name(v));
                double d = v.get<double>();
                bool is_x = k % 2 == 0;
                if (!std::isfinite(d) || d < (is_x ? xlo : ylo) || d > (is_x ? xhi : yhi))
                    return c.fail(idx(pi, k), "coordinate " + v.dump(-1, ' ', false, json::error_handler_t::replace) +
                                                  " is far outside the " + std::to_string(w) + "x" +
                                                  std::to_string(h) + " image");
                q.xy.push_back((float)d);
                (is_x ? max_x : max_y) = std::max(is_x ? max_x : max_y, q.xy.back());
            }
            polys.push_back(std::move(q));
        }
        // Rasterise in the image's top-left part that the polygons reach: rleFrPoly drops
        // crossings right of the last column and clamps below the last row, which no
        // crossing reaches there, so this is exactly the full image's result, minus the
        // cost of decoding and re-encoding a whole-image mask.
        const int ww = std::min(w, (int)std::ceil(max_x) + 2), wh = std::min(h, (int)std::ceil(max_y) + 2);
        out = rle_from_top_left(polygons_to_mask(polys, std::max(wh, 1), std::max(ww, 1)), h, w);
        return status::success();
    }
    if (!seg.is_object())
        return c.fail(p, std::string("expected polygons (an array) or RLE (an object), got ") + type_name(seg));
    was_polygon = false;
    auto size_it = seg.find("size");
    if (size_it == seg.end()) return c.fail(p + ".size", "missing");
    std::vector<double> size;
    status st = get_number_array(c, *size_it, p + ".size", 2, size);
    if (!st) return st;
    if (size[0] != h || size[1] != w)
        return c.fail(p + ".size", "[" + std::to_string((int64_t)size[0]) + "," + std::to_string((int64_t)size[1]) +
                                       "] does not match the image's [height,width] [" + std::to_string(h) + "," +
                                       std::to_string(w) + "]");
    auto counts_it = seg.find("counts");
    if (counts_it == seg.end()) return c.fail(p + ".counts", "missing");
    const json &counts = *counts_it;
    if (counts.is_string()) {
        st = rle_from_string(counts.get<std::string>(), h, w, out);
        if (!st) return c.fail(p + ".counts", st.message);
        return status::success();
    }
    if (!counts.is_array())
        return c.fail(p + ".counts", std::string("expected a string or an array of run lengths, got ") +
                                         type_name(counts));
    const uint64_t total = (uint64_t)h * (uint64_t)w;
    if (counts.size() > total + 1)
        return c.fail(p + ".counts", std::to_string(counts.size()) + " runs for " + std::to_string(total) + " pixels");
    out.height = h;
    out.width = w;
    out.counts.clear();
    out.counts.reserve(counts.size());
    uint64_t sum = 0;
    for (size_t i = 0; i < counts.size(); i++) {
        const json &v = counts[i];
        bool ok = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
        if (!ok) return c.fail(idx(p + ".counts", i), std::string("expected a non-negative integer, got ") +
                                                          v.dump(-1, ' ', false, json::error_handler_t::replace));
        uint64_t n = v.get<uint64_t>();
        if (n > total - sum)
            return c.fail(p + ".counts", "run lengths sum to more than " + std::to_string(h) + "*" + std::to_string(w) +
                                             " = " + std::to_string(total));
        sum += n;
        out.counts.push_back((uint32_t)n);
    }
    if (sum != total)
        return c.fail(p + ".counts", "run lengths sum to " + std::to_string(sum) + ", expected " + std::to_string(h) +
                                         "*" + std::to_string(w) + " = " + std::to_string(total));
    return status::success();
}

status parse_sam_fields(const ctx &c, const json &s, const std::string &p, annotation &a) {
    if (!s.is_object()) return c.fail(p, std::string("expected an object, got ") + type_name(s));
    auto it = s.find("score");
    if (it != s.end()) {
        if (!it->is_number()) return c.fail(p + ".score", std::string("expected a number, got ") + type_name(*it));
        a.score = it->get<double>();
        if (!std::isfinite(a.score)) return c.fail(p + ".score", "not finite");
    }
    it = s.find("source");
    if (it != s.end()) {
        if (!it->is_string()) return c.fail(p + ".source", std::string("expected a string, got ") + type_name(*it));
        const std::string &v = it->get_ref<const std::string &>();
        if (v == "human") a.source = annotation_source::human;
        else if (v == "machine") a.source = annotation_source::machine;
        else return c.fail(p + ".source", "expected \"human\" or \"machine\"");
    }
    it = s.find("hidden");
    if (it != s.end()) {
        if (!it->is_boolean()) return c.fail(p + ".hidden", std::string("expected a boolean, got ") + type_name(*it));
        a.hidden = it->get<bool>();
    }
    it = s.find("prompts");
    if (it != s.end()) {
        const json &pr = *it;
        std::string pp = p + ".prompts";
        if (!pr.is_object()) return c.fail(pp, std::string("expected an object, got ") + type_name(pr));
        auto pts = pr.find("points");
        if (pts != pr.end()) {
            if (!pts->is_array()) return c.fail(pp + ".points", std::string("expected an array, got ") + type_name(*pts));
            if (pts->size() > 10000) return c.fail(pp + ".points", "too many points");
            for (size_t i = 0; i < pts->size(); i++) {
                std::vector<double> v;
                status st = get_number_array(c, (*pts)[i], idx(pp + ".points", i), 3, v);
                if (!st) return st;
                if (v[2] != 0 && v[2] != 1) return c.fail(idx(pp + ".points", i) + "[2]", "label must be 0 or 1");
                a.prompts.points.push_back({v[0], v[1], (int)v[2]});
            }
        }
        auto box = pr.find("box");
        if (box != pr.end() && !box->is_null()) {
            std::vector<double> v;
            status st = get_number_array(c, *box, pp + ".box", 4, v);
            if (!st) return st;
            a.prompts.has_box = true;
            for (int k = 0; k < 4; k++) a.prompts.box_xyxy[k] = v[(size_t)k];
        }
    }
    return status::success();
}

bool parse_color(const json &cat, rgb8 &out) {
    auto s = cat.find("sam");
    if (s == cat.end() || !s->is_object()) return false;
    auto col = s->find("color");
    if (col == s->end() || !col->is_array() || col->size() != 3) return false;
    uint8_t v[3];
    for (size_t i = 0; i < 3; i++) {
        const json &x = (*col)[i];
        if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > 255) return false;
        v[i] = (uint8_t)x.get<int64_t>();
    }
    out = {v[0], v[1], v[2]};
    return true;
}


}  // namespace

rgb8 palette_color(size_t i) {
    static const rgb8 k[] = {{230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},  {245, 130, 48},
                             {145, 30, 180}, {70, 240, 240}, {240, 50, 230}, {210, 245, 60}, {250, 190, 212},
                             {0, 128, 128},  {220, 190, 255}, {170, 110, 40}, {128, 0, 0},    {170, 255, 195}};
    return k[i % (sizeof(k) / sizeof(k[0]))];
}

status coco_import(const std::string &text, const std::string &name, annotation_document &doc,
                   coco_import_report &report, const coco_import_options &options) {
    report = coco_import_report();
    ctx c{name};
    if (!nesting_ok(text)) return status::failure(name + ": nested deeper than " + std::to_string(k_max_depth) + " levels");
    json root = json::parse(text, nullptr, false);
    if (root.is_discarded()) return status::failure(name + ": not valid JSON");
    if (!root.is_object())
        return status::failure(name + ": expected a JSON object with images, annotations and categories, got " +
                               type_name(root));
    status st;
    const json *images = get_array(c, root, "images", true, st);
    if (!st) return st;
    const json *anns = get_array(c, root, "annotations", false, st);
    if (!st) return st;
    const json *cats = get_array(c, root, "categories", false, st);
    if (!st) return st;

    // ---- images: match by file_name, or stage as new --------------------------------------
    std::map<int64_t, staged_image> img_by_coco_id;
    std::set<std::string> file_names;
    std::set<int64_t> new_image_ids;
    std::set<int64_t> matched_ids;
    int64_t next_image_id = 1;
    for (const doc_image &im : doc.images()) next_image_id = std::max(next_image_id, im.id + 1);
    std::vector<int64_t> image_order;
    for (size_t i = 0; i < images->size(); i++) {
        const json &o = (*images)[i];
        std::string p = idx("images", i);
        if (!o.is_object()) return c.fail(p, std::string("expected an object, got ") + type_name(o));
        int64_t id = 0, wv = 0, hv = 0;
        std::string file;
        if (!(st = get_int(c, o, p, "id", 0, INT64_C(1) << 52, id))) return st;
        if (!(st = get_string(c, o, p, "file_name", true, file))) return st;
        if (file.empty()) return c.fail(p + ".file_name", "empty");
        if (!(st = get_int(c, o, p, "width", 1, 1 << 20, wv))) return st;
        if (!(st = get_int(c, o, p, "height", 1, 1 << 20, hv))) return st;
        if (wv * hv > k_max_pixels)
            return c.fail(p, std::to_string(wv) + "x" + std::to_string(hv) + " is over 100 megapixels");
        if (img_by_coco_id.count(id)) return c.fail(p + ".id", "duplicate image id " + std::to_string(id));
        if (!file_names.insert(file).second) return c.fail(p + ".file_name", "duplicate file_name \"" + file + "\"");
        staged_image s;
        if (const doc_image *known = match_image(doc, file, options.match_base_name)) {
            if (known->width != wv || known->height != hv)
                return c.fail(p, "\"" + file + "\" is " + std::to_string(wv) + "x" + std::to_string(hv) +
                                     " here but " + std::to_string(known->width) + "x" +
                                     std::to_string(known->height) + " in the document");
            if (!matched_ids.insert(known->id).second)
                return c.fail(p + ".file_name", "\"" + file + "\" matches document image \"" + known->file_name +
                                                    "\" already matched by another image of this file");
            s.image = *known;
            s.exists = true;
        } else if (!options.add_unknown_images) {
            s.image = {0, file, (int)wv, (int)hv};
            s.skipped = true;
        } else {
            // Keep the file's id when it is free, so re-exports line up with the source file.
            int64_t nid = id;
            if (nid <= 0 || doc.find_image(nid) || new_image_ids.count(nid)) nid = 0;
            s.image = {nid, file, (int)wv, (int)hv};
            if (nid) new_image_ids.insert(nid);
        }
        img_by_coco_id[id] = s;
        image_order.push_back(id);
    }
    for (int64_t coco_id : image_order) {  // give free ids to the renumbered ones
        staged_image &s = img_by_coco_id[coco_id];
        if (s.exists || s.skipped || s.image.id) continue;
        while (doc.find_image(next_image_id) || new_image_ids.count(next_image_id)) next_image_id++;
        s.image.id = next_image_id;
        new_image_ids.insert(next_image_id);
    }

    // ---- categories: match by name -------------------------------------------------------
    std::map<int64_t, staged_category> cat_by_coco_id;
    std::vector<int64_t> cat_order;
    std::set<int64_t> new_cat_ids;
    std::set<std::string> cat_names;
    int64_t next_cat_id = 1;
    for (const doc_category &k : doc.categories()) next_cat_id = std::max(next_cat_id, k.id + 1);
    size_t n_new_cats = 0;
    for (size_t i = 0; cats && i < cats->size(); i++) {
        const json &o = (*cats)[i];
        std::string p = idx("categories", i);
        if (!o.is_object()) return c.fail(p, std::string("expected an object, got ") + type_name(o));
        int64_t id = 0;
        std::string cname, super;
        if (!(st = get_int(c, o, p, "id", 0, INT64_C(1) << 52, id))) return st;
        if (!(st = get_string(c, o, p, "name", true, cname))) return st;
        if (!(st = get_string(c, o, p, "supercategory", false, super))) return st;
        if (cname.empty()) return c.fail(p + ".name", "empty");
        if (cat_by_coco_id.count(id)) return c.fail(p + ".id", "duplicate category id " + std::to_string(id));
        if (!cat_names.insert(cname).second) return c.fail(p + ".name", "duplicate category name \"" + cname + "\"");
        staged_category s;
        const doc_category *known = nullptr;
        for (const doc_category &k : doc.categories())
            if (k.name == cname) known = &k;
        if (known) {
            s.category = *known;
            s.exists = true;
        } else {
            int64_t nid = id;
            if (nid <= 0 || doc.find_category(nid) || new_cat_ids.count(nid)) nid = 0;
            s.category.id = nid;
            s.category.name = cname;
            s.category.supercategory = super;
            if (!parse_color(o, s.category.color)) s.category.color = palette_color(doc.categories().size() + n_new_cats);
            n_new_cats++;
            if (nid) new_cat_ids.insert(nid);
        }
        cat_by_coco_id[id] = s;
        cat_order.push_back(id);
    }
    for (int64_t coco_id : cat_order) {
        staged_category &s = cat_by_coco_id[coco_id];
        if (s.exists || s.category.id) continue;
        while (doc.find_category(next_cat_id) || new_cat_ids.count(next_cat_id)) next_cat_id++;
        s.category.id = next_cat_id;
        new_cat_ids.insert(next_cat_id);
    }

    // ---- annotations: decode every mask before touching the document ----------------------
    std::vector<annotation> staged;
    std::set<int64_t> ann_ids;
    int64_t next_ann_id = 1;
    for (const annotation &a : doc.annotations()) next_ann_id = std::max(next_ann_id, a.id + 1);
    for (size_t i = 0; anns && i < anns->size(); i++) {
        const json &o = (*anns)[i];
        std::string p = idx("annotations", i);
        if (!o.is_object()) return c.fail(p, std::string("expected an object, got ") + type_name(o));
        int64_t id = 0, image_id = 0, cat_id = 0;
        if (!(st = get_int(c, o, p, "id", 0, INT64_C(1) << 52, id))) return st;
        if (!(st = get_int(c, o, p, "image_id", 0, INT64_C(1) << 52, image_id))) return st;
        if (!(st = get_int(c, o, p, "category_id", 0, INT64_C(1) << 52, cat_id))) return st;
        auto im = img_by_coco_id.find(image_id);
        if (im == img_by_coco_id.end()) return c.fail(p + ".image_id", "no image with id " + std::to_string(image_id));
        auto ca = cat_by_coco_id.find(cat_id);
        if (ca == cat_by_coco_id.end())
            return c.fail(p + ".category_id", "no category with id " + std::to_string(cat_id));
        auto seg = o.find("segmentation");
        if (seg == o.end()) return c.fail(p + ".segmentation", "missing");
        annotation a;
        bool was_polygon = false;
        if (!(st = parse_segmentation(c, *seg, p + ".segmentation", im->second.image.height, im->second.image.width,
                                      a.mask, was_polygon)))
            return st;
        auto bbox = o.find("bbox");
        std::vector<double> bb;
        if (bbox != o.end() && !(st = get_number_array(c, *bbox, p + ".bbox", 4, bb))) return st;
        auto area = o.find("area");
        if (area != o.end() && !area->is_number())
            return c.fail(p + ".area", std::string("expected a number, got ") + type_name(*area));
        auto crowd = o.find("iscrowd");
        if (crowd != o.end()) {
            if (!crowd->is_number_integer() || (crowd->get<int64_t>() != 0 && crowd->get<int64_t>() != 1))
                return c.fail(p + ".iscrowd", "expected 0 or 1");
            if (crowd->get<int64_t>() == 1)
                report.warnings.push_back(p + ": iscrowd=1 imported as an ordinary annotation");
        }
        auto sam_fields = o.find("sam");
        if (sam_fields != o.end() && !(st = parse_sam_fields(c, *sam_fields, p + ".sam", a))) return st;
        if (im->second.skipped) {
            report.annotations_skipped++;
            continue;
        }
        a.image_id = im->second.image.id;
        a.category_id = ca->second.category.id;
        a.id = id;
        if (a.id <= 0 || doc.find_annotation(a.id) || ann_ids.count(a.id)) {
            a.id = 0;  // renumbered below
            report.annotations_renumbered++;
        } else {
            ann_ids.insert(a.id);
        }
        double mask_area = (double)rle_area(a.mask);
        if (area != o.end() && std::fabs(area->get<double>() - mask_area) > 0.05 * mask_area + 2 && report.warnings.size() < 100)
            report.warnings.push_back(p + ".area: " + area->dump() + " in the file, " +
                                      std::to_string((int64_t)mask_area) + " from the mask (using the mask's)");
        (was_polygon ? report.polygon_annotations : report.rle_annotations)++;
        staged.push_back(std::move(a));
    }
    for (annotation &a : staged) {
        if (a.id) continue;
        while (doc.find_annotation(next_ann_id) || ann_ids.count(next_ann_id)) next_ann_id++;
        a.id = next_ann_id;
        ann_ids.insert(next_ann_id);
    }

    // ---- apply, as one undo step -----------------------------------------------------------
    doc.begin_group("import " + name);
    status applied;
    for (int64_t coco_id : image_order) {
        const staged_image &s = img_by_coco_id[coco_id];
        if (s.exists) {
            report.images_matched++;
            continue;
        }
        if (s.skipped) {
            report.skipped_images.push_back(s.image.file_name);
            continue;
        }
        if (applied.ok()) applied = doc.add_image(s.image);
        report.images_added++;
        report.added_images.push_back(s.image.file_name);
    }
    for (int64_t coco_id : cat_order) {
        const staged_category &s = cat_by_coco_id[coco_id];
        if (s.exists) {
            report.categories_matched++;
            continue;
        }
        if (applied.ok())
            applied = doc.add_category(s.category.name, s.category.color, nullptr, s.category.id, s.category.supercategory);
        report.categories_added++;
    }
    for (annotation &a : staged) {
        if (!applied.ok()) break;
        applied = doc.add_annotation(std::move(a));
        report.annotations_added++;
    }
    if (!applied.ok()) {
        // Everything was validated above, so this is a bug; still leave the document as it was.
        doc.cancel_group();
        return status::failure(name + ": " + applied.message);
    }
    doc.end_group();
    return status::success();
}

}  // namespace sam
