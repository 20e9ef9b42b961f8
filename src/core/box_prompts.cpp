// box_prompts.cpp - see box_prompts.h.
#include "core/box_prompts.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

#include <nlohmann/json.hpp>

namespace sam {

namespace {

using nlohmann::json;

constexpr int k_max_depth = 64;

// The line (1-based) where each element of the array root[key] (the root array when
// key is empty) starts: nlohmann keeps no positions, and a detector file's user wants
// "line 812", not "annotations[270]". Also refuses nesting deeper than k_max_depth
// before nlohmann recurses into it.
bool scan_json(const std::string &s, const std::string &key, std::vector<int> &lines) {
    int depth = 0, line = 1, target_depth = -1;
    bool in_string = false, expect_element = false, target_done = false;
    std::string token, pending_key, last_key;
    for (size_t i = 0; i < s.size(); i++) {
        const char c = s[i];
        if (c == '\n') line++;
        if (in_string) {
            if (c == '\\') {
                if (i + 1 < s.size()) token += s[++i];
            } else if (c == '"') {
                in_string = false;
                if (depth == 1) pending_key = token;
            } else {
                token += c;
            }
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        if (depth == target_depth && expect_element && c != ']') {
            lines.push_back(line);
            expect_element = false;
        }
        if (c == '"') {
            in_string = true;
            token.clear();
        } else if (c == ':') {
            if (depth == 1) last_key = pending_key;
        } else if (c == ',') {
            if (depth == target_depth) expect_element = true;
            if (depth == 1) last_key.clear();
        } else if (c == '[' || c == '{') {
            if (++depth > k_max_depth) return false;
            if (c == '[' && !target_done && target_depth < 0 &&
                ((key.empty() && depth == 1) || (!key.empty() && depth == 2 && last_key == key))) {
                target_depth = depth;
                expect_element = true;
            }
        } else if (c == ']' || c == '}') {
            if (depth == target_depth) {
                target_depth = -1;
                target_done = true;
                expect_element = false;
            }
            depth--;
        }
    }
    return true;
}

int line_of(const std::vector<int> &lines, size_t i) { return i < lines.size() ? lines[i] : 0; }

std::string where(const std::string &name, int line) {
    return line > 0 ? name + ":" + std::to_string(line) + ": " : name + ": ";
}

bool get_int(const json &o, const char *key, int64_t &v) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_number()) return false;
    if (it->is_number_integer()) {
        v = it->get<int64_t>();
        return true;
    }
    const double d = it->get<double>();  // 3.0 is fine, 3.5 is not
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15) return false;
    v = (int64_t)d;
    return true;
}

}  // namespace

bool clip_box_to_image(double b[4], int width, int height) {
    for (int k = 0; k < 4; k++)
        if (!std::isfinite(b[k])) return false;
    const double x0 = std::max(0.0, b[0]), y0 = std::max(0.0, b[1]);
    const double x1 = std::min((double)width, b[0] + b[2]), y1 = std::min((double)height, b[1] + b[3]);
    if (!(x1 > x0 && y1 > y0)) return false;
    b[0] = x0;
    b[1] = y0;
    b[2] = x1 - x0;
    b[3] = y1 - y0;
    return true;
}

status parse_coco_boxes(const std::string &text, const std::string &name, detector_boxes &out,
                        std::vector<std::string> &problems) {
    out = detector_boxes();
    // Peek at the first significant character to know where the annotations are.
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text.compare(first, 3, "\xEF\xBB\xBF") == 0)
        first = text.find_first_not_of(" \t\r\n", first + 3);
    const bool results_format = first != std::string::npos && text[first] == '[';
    std::vector<int> lines;
    if (!scan_json(text, results_format ? "" : "annotations", lines))
        return status::failure(name + ": nested deeper than " + std::to_string(k_max_depth) + " levels");
    json root = json::parse(text, nullptr, false);
    if (root.is_discarded()) return status::failure(name + ": not valid JSON");

    const json *anns = nullptr;
    std::map<int64_t, size_t> image_index;
    std::map<int64_t, std::string> category_names;
    if (results_format) {
        anns = &root;
    } else {
        if (!root.is_object())
            return status::failure(name + ": expected a COCO object with \"annotations\" or a list of detections");
        auto a = root.find("annotations");
        if (a == root.end() || !a->is_array())
            return status::failure(name + ": \"annotations\" must be an array of {image_id, bbox, category_id}");
        anns = &*a;
        auto im = root.find("images");
        if (im != root.end()) {
            if (!im->is_array()) return status::failure(name + ": \"images\" must be an array");
            for (size_t i = 0; i < im->size(); i++) {
                const json &o = (*im)[i];
                detector_image d;
                int64_t w = 0, h = 0;
                auto fn = o.is_object() ? o.find("file_name") : o.end();
                if (!o.is_object() || !get_int(o, "id", d.id) || fn == o.end() || !fn->is_string() ||
                    !get_int(o, "width", w) || !get_int(o, "height", h) || w < 1 || h < 1 || w > 1000000 ||
                    h > 1000000) {
                    problems.push_back(name + ": images[" + std::to_string(i) +
                                       "]: needs id, file_name and positive width/height; skipped");
                    continue;
                }
                if (image_index.count(d.id)) {
                    problems.push_back(name + ": images[" + std::to_string(i) + "]: duplicate id " +
                                       std::to_string(d.id) + "; skipped");
                    continue;
                }
                d.file_name = fn->get<std::string>();
                d.width = (int)w;
                d.height = (int)h;
                image_index[d.id] = out.images.size();
                out.images.push_back(d);
            }
        }
        auto cats = root.find("categories");
        if (cats != root.end() && cats->is_array()) {
            for (size_t i = 0; i < cats->size(); i++) {
                const json &o = (*cats)[i];
                detector_category c;
                auto nm = o.is_object() ? o.find("name") : o.end();
                if (!o.is_object() || !get_int(o, "id", c.id) || nm == o.end() || !nm->is_string()) {
                    problems.push_back(name + ": categories[" + std::to_string(i) + "]: needs id and name; skipped");
                    continue;
                }
                c.name = nm->get<std::string>();
                if (category_names.count(c.id)) continue;
                category_names[c.id] = c.name;
                out.categories.push_back(c);
            }
        }
    }

    const bool have_images = !results_format && root.contains("images");
    for (size_t i = 0; i < anns->size(); i++) {
        const json &o = (*anns)[i];
        const std::string at = where(name, line_of(lines, i)) + (results_format ? "[" : "annotations[") +
                               std::to_string(i) + "]: ";
        if (!o.is_object()) {
            problems.push_back(at + "expected an object; skipped");
            continue;
        }
        detector_box b;
        if (!get_int(o, "image_id", b.image_id)) {
            problems.push_back(at + "image_id must be an integer; skipped");
            continue;
        }
        if (!get_int(o, "category_id", b.category_id)) {
            problems.push_back(at + "category_id must be an integer; skipped");
            continue;
        }
        auto bb = o.find("bbox");
        bool ok = bb != o.end() && bb->is_array() && bb->size() == 4;
        for (int k = 0; ok && k < 4; k++) {
            ok = (*bb)[k].is_number() && std::isfinite((*bb)[k].get<double>());
            if (ok) b.bbox[k] = (*bb)[k].get<double>();
        }
        if (!ok) {
            problems.push_back(at + "bbox must be 4 finite numbers [x, y, w, h]; skipped");
            continue;
        }
        if (!(b.bbox[2] > 0 && b.bbox[3] > 0)) {
            problems.push_back(at + "bbox has no area (w and h must be > 0); skipped");
            continue;
        }
        auto sc = o.find("score");
        if (sc != o.end()) {
            if (!sc->is_number() || !std::isfinite(sc->get<double>())) {
                problems.push_back(at + "score must be a number; skipped");
                continue;
            }
            b.score = sc->get<double>();
            b.has_score = true;
        }
        if (have_images) {
            auto it = image_index.find(b.image_id);
            if (it == image_index.end()) {
                problems.push_back(at + "image_id " + std::to_string(b.image_id) + " is not in images; skipped");
                continue;
            }
            const detector_image &im = out.images[it->second];
            b.image = im.file_name;
            if (!clip_box_to_image(b.bbox, im.width, im.height)) {
                problems.push_back(at + "bbox lies outside its " + std::to_string(im.width) + "x" +
                                   std::to_string(im.height) + " image; skipped");
                continue;
            }
        }
        auto cn = category_names.find(b.category_id);
        if (cn != category_names.end()) b.category = cn->second;
        out.boxes.push_back(b);
    }
    return {};
}

std::vector<std::string> parse_yolo_classes(const std::string &text) {
    std::vector<std::string> names;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string l = text.substr(pos, end - pos);
        const size_t a = l.find_first_not_of(" \t\r"), b = l.find_last_not_of(" \t\r");
        names.push_back(a == std::string::npos ? std::string() : l.substr(a, b - a + 1));
        pos = end + 1;
    }
    while (!names.empty() && names.back().empty()) names.pop_back();
    return names;
}

void parse_yolo_boxes(const std::string &text, const std::string &name, const std::string &image, int width,
                      int height, const std::vector<std::string> &classes, std::vector<detector_box> &out,
                      std::vector<std::string> &problems) {
    size_t pos = 0;
    int line_no = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        line_no++;
        const size_t hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        const std::string at = name + ":" + std::to_string(line_no) + ": ";

        std::vector<double> v;
        bool bad_token = false;
        const char *p = line.c_str();
        while (*p) {
            while (*p == ' ' || *p == '\t' || *p == '\r' || *p == ',') p++;
            if (!*p) break;
            char *q = nullptr;
            errno = 0;
            const double d = std::strtod(p, &q);
            if (q == p || !(*q == 0 || *q == ' ' || *q == '\t' || *q == '\r' || *q == ',') || !std::isfinite(d)) {
                bad_token = true;
                break;
            }
            v.push_back(d);
            p = q;
            if (v.size() > 6) break;
        }
        if (v.empty() && !bad_token) continue;  // blank or comment
        if (bad_token) {
            problems.push_back(at + "not a number; expected `class cx cy w h [score]`; skipped");
            continue;
        }
        if (v.size() != 5 && v.size() != 6) {
            problems.push_back(at + "expected 5 or 6 numbers (class cx cy w h [score]), got " +
                               (v.size() > 6 ? std::string("more") : std::to_string(v.size())) + "; skipped");
            continue;
        }
        if (v[0] < 0 || v[0] != std::floor(v[0]) || v[0] > 1e9) {
            problems.push_back(at + "class must be a non-negative integer; skipped");
            continue;
        }
        const int64_t cls = (int64_t)v[0];
        if (!classes.empty() && cls >= (int64_t)classes.size()) {
            problems.push_back(at + "class " + std::to_string(cls) + " is not in the class list (" +
                               std::to_string(classes.size()) + " classes); skipped");
            continue;
        }
        if (!(v[3] > 0 && v[4] > 0)) {
            problems.push_back(at + "box has no area (w and h must be > 0); skipped");
            continue;
        }
        if (v[1] < -0.5 || v[1] > 1.5 || v[2] < -0.5 || v[2] > 1.5 || v[3] > 2 || v[4] > 2) {
            problems.push_back(at + "coordinates must be normalised to [0, 1] (pixels given?); skipped");
            continue;
        }
        detector_box b;
        b.image = image;
        b.bbox[0] = (v[1] - v[3] / 2) * width;
        b.bbox[1] = (v[2] - v[4] / 2) * height;
        b.bbox[2] = v[3] * width;
        b.bbox[3] = v[4] * height;
        if (!clip_box_to_image(b.bbox, width, height)) {
            problems.push_back(at + "box lies outside the image; skipped");
            continue;
        }
        b.category_id = cls + 1;
        if (!classes.empty()) b.category = classes[cls];
        if (v.size() == 6) {
            b.score = v[5];
            b.has_score = true;
        }
        out.push_back(b);
    }
}

}  // namespace sam
