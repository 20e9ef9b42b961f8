// yolo_seg.cpp - see yolo_seg.h.
#include "core/yolo_seg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/coco_json.h"  // palette_color
#include "core/polygon_join.h"
#include "core/rle.h"

namespace sam {

namespace {

constexpr size_t k_max_numbers = 4000000;  // per label file, as COCO import's per-annotation bound

// "0.123457" for 0.1234567 at 6 decimals; "1", "0", "0.5": trailing zeros cut.
void append_number(std::string &out, double v, int decimals) {
    char buf[64];
    const int n = std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    if (n <= 0 || n >= (int)sizeof buf) return;
    int end = n;
    if (std::memchr(buf, '.', (size_t)n)) {
        while (end > 0 && buf[end - 1] == '0') end--;
        if (end > 0 && buf[end - 1] == '.') end--;
    }
    if (end == 2 && buf[0] == '-' && buf[1] == '0') end = 1, buf[0] = '0';  // "-0"
    out.append(buf, (size_t)end);
}

std::string file_stem(const std::string &name) {
    const size_t slash = name.find_last_of('/'), base = slash == std::string::npos ? 0 : slash + 1;
    const size_t dot = name.find_last_of('.');
    return dot != std::string::npos && dot > base ? name.substr(0, dot) : name;  // ".hidden" stays
}

std::string last_part(const std::string &path) {
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "a\\b/./../c.jpg" -> "a/b/c.jpg": '\\' as '/', empty, "." and ".." parts dropped, so a
// name from a hostile file can never point outside the export folder.
std::string safe_relative_path(const std::string &file_name) {
    std::string out;
    size_t a = 0;
    std::string s = file_name;
    std::replace(s.begin(), s.end(), '\\', '/');
    while (a <= s.size()) {
        size_t b = s.find('/', a);
        if (b == std::string::npos) b = s.size();
        std::string part = s.substr(a, b - a);
        part.erase(std::remove(part.begin(), part.end(), '\0'), part.end());
        if (!part.empty() && part != "." && part != "..") out += (out.empty() ? "" : "/") + part;
        a = b + 1;
    }
    return out;
}

// The image's path inside an export: a leading "images/" goes, as the dataset's own images
// folder is not part of the name (the manifest says "images/cat.jpg", the app "cat.jpg";
// Ultralytics finds labels by swapping the last "/images/" for "/labels/").
std::string export_relative_path(const std::string &file_name) {
    std::string rel = safe_relative_path(file_name);
    if (rel.compare(0, 7, "images/") == 0) rel = rel.substr(7);
    return rel;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

// ---- export ----------------------------------------------------------------------------

polygon yolo_seg_polygon(const rle &mask, double tolerance, double min_iou, bool *exact) {
    if (exact) *exact = false;
    const box_xywh b = rle_to_bbox(mask);
    if (b.w <= 0 || b.h <= 0) return polygon();
    // The mask's bbox plus a one-pixel frame: its rings lie inside, and rasterising there is
    // rasterising in the image (integer shifts of non-negative points keep rleFrPoly's rounding).
    const int x0 = std::max(0, (int)b.x - 1), y0 = std::max(0, (int)b.y - 1);
    const int x1 = std::min(mask.width, (int)(b.x + b.w) + 1), y1 = std::min(mask.height, (int)(b.y + b.h) + 1);
    const int w = x1 - x0, h = y1 - y0;
    const binary_mask win = rle_crop(mask, x0, y0, w, h);
    polygon p;
    bool use_exact = tolerance <= 0;
    if (!use_exact) {
        p = join_rings(mask_to_polygons(win, tolerance));
        const binary_mask back = polygons_to_mask({p}, h, w);
        uint64_t inter = 0, uni = 0;
        for (size_t i = 0; i < win.data.size(); i++) inter += win.data[i] & back.data[i], uni += win.data[i] | back.data[i];
        use_exact = uni == 0 || (double)inter / (double)uni < min_iou;
    }
    if (use_exact) p = join_rings(mask_to_polygons(win, 0.0));
    for (size_t i = 0; i < p.xy.size(); i += 2) p.xy[i] += (float)x0, p.xy[i + 1] += (float)y0;
    if (exact) *exact = use_exact;
    return p;
}

std::string yolo_seg_labels(const annotation_document &doc, int64_t image_id, const yolo_seg_options &opt,
                            yolo_seg_export_report &report) {
    const doc_image *im = doc.find_image(image_id);
    if (!im) return std::string();
    std::vector<const annotation *> anns;
    for (const annotation &a : doc.annotations())
        if (a.image_id == image_id) anns.push_back(&a);
    return yolo_seg_labels(doc, *im, anns, opt, report);
}

std::string yolo_seg_labels(const annotation_document &doc, const doc_image &image,
                            const std::vector<const annotation *> &annotations, const yolo_seg_options &opt,
                            yolo_seg_export_report &report) {
    std::string out;
    const doc_image *im = &image;
    std::unordered_map<int64_t, size_t> class_of;
    for (size_t i = 0; i < doc.categories().size(); i++) class_of[doc.categories()[i].id] = i;
    const int decimals = std::max(0, std::min(12, opt.decimals));
    for (const annotation *ap : annotations) {
        const annotation &a = *ap;
        if (a.image_id != image.id || (a.hidden && !opt.include_hidden)) continue;
        auto cls = class_of.find(a.category_id);
        if (cls == class_of.end()) continue;  // the document never holds one (add_annotation checks)
        bool exact = false;
        const polygon p = yolo_seg_polygon(a.mask, opt.polygon_tolerance, opt.min_iou, &exact);
        if (p.xy.size() < 6) {
            report.empty_skipped++;
            continue;
        }
        report.exact_fallbacks += exact && opt.polygon_tolerance > 0;
        report.instances++;
        out += std::to_string(cls->second);
        for (size_t i = 0; i < p.xy.size(); i += 2) {
            out += ' ';
            append_number(out, (double)p.xy[i] / im->width, decimals);
            out += ' ';
            append_number(out, (double)p.xy[i + 1] / im->height, decimals);
        }
        out += '\n';
    }
    return out;
}

std::string yolo_seg_data_yaml(const annotation_document &doc) {
    std::string y =
        "# YOLO segmentation labels written by the SAM annotator: labels/<image stem>.txt, one\n"
        "# instance a line, \"class x1 y1 x2 y2 ...\" normalised by the image width and height.\n"
        "# Put the images in images/ beside labels/ (same sub-folders and stems).\n"
        "train: images\n"
        "val: images\n";
    y += "nc: " + std::to_string(doc.categories().size()) + "\n";
    y += "names:\n";
    for (size_t i = 0; i < doc.categories().size(); i++)
        y += "  " + std::to_string(i) + ": " +
             nlohmann::json(doc.categories()[i].name).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
             "\n";
    return y;
}

std::vector<std::string> export_stems(const annotation_document &doc, std::vector<std::string> *warnings) {
    const std::vector<doc_image> &ims = doc.images();
    std::vector<std::string> stems(ims.size());
    std::map<std::string, std::vector<size_t>> users;
    for (size_t i = 0; i < ims.size(); i++) {
        const std::string rel = export_relative_path(ims[i].file_name);
        stems[i] = rel.empty() ? "image_" + std::to_string(ims[i].id) : file_stem(rel);
        users[stems[i]].push_back(i);
    }
    std::map<std::string, size_t> taken;
    for (const std::string &s : stems) taken[s]++;
    for (auto &kv : users) {
        if (kv.second.size() < 2) continue;
        std::string names;
        for (size_t i : kv.second) {
            std::string rel = export_relative_path(ims[i].file_name);
            const size_t slash = rel.find_last_of('/');
            std::string base = slash == std::string::npos ? rel : rel.substr(slash + 1);
            std::replace(base.begin(), base.end(), '.', '_');
            std::string s = (slash == std::string::npos ? "" : rel.substr(0, slash + 1)) + base;
            if (rel.empty() || taken.count(s)) s = kv.first + "_" + std::to_string(ims[i].id);
            taken[s]++;
            stems[i] = s;
            names += (names.empty() ? "" : ", ") + ims[i].file_name + " -> " + s;
        }
        if (warnings)
            warnings->push_back("images share the file stem \"" + kv.first + "\", exported as " + names +
                                " (rename the images so each stem is unique for YOLO)");
    }
    return stems;
}

// ---- import ------------------------------------------------------------------------------

void parse_yolo_seg(const std::string &text, const std::string &name, int width, int height, size_t num_classes,
                    std::vector<yolo_seg_instance> &out, std::vector<std::string> &problems) {
    size_t pos = 0, numbers = 0;
    int line_no = 0;
    std::vector<double> v;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const size_t line_begin = pos;
        size_t line_end = end;
        pos = end + 1;
        line_no++;
        const void *hash = std::memchr(text.data() + line_begin, '#', line_end - line_begin);
        if (hash) line_end = (size_t)((const char *)hash - text.data());
        const std::string at = name + ":" + std::to_string(line_no) + ": ";

        // Numbers of the line, from a NUL-terminated copy (strtod needs one).
        const std::string line = text.substr(line_begin, line_end - line_begin);
        v.clear();
        std::string bad;
        for (const char *p = line.c_str();;) {
            while (is_space(*p)) p++;
            if (!*p) break;
            char *q = nullptr;
            const double d = std::strtod(p, &q);
            if (q == p || !(*q == 0 || is_space(*q)) || !std::isfinite(d)) {
                const char *e = p;
                while (*e && !is_space(*e) && e - p < 24) e++;
                bad = std::string(p, e);
                break;
            }
            v.push_back(d);
            p = q;
        }
        if (v.empty() && bad.empty()) continue;  // blank or comment
        numbers += v.size();
        if (numbers > k_max_numbers) {
            problems.push_back(at + "more than " + std::to_string(k_max_numbers) +
                               " numbers in the file; this line and the rest skipped");
            return;
        }
        if (!bad.empty()) {
            problems.push_back(at + "\"" + bad + "\" is not a number; expected `class x1 y1 x2 y2 ...`; skipped");
            continue;
        }
        if (v[0] < 0 || v[0] != std::floor(v[0]) || v[0] > 1e9) {
            problems.push_back(at + "class must be a non-negative integer; skipped");
            continue;
        }
        const int64_t cls = (int64_t)v[0];
        if (num_classes > 0 && cls >= (int64_t)num_classes) {
            problems.push_back(at + "class " + std::to_string(cls) + " is not in the class list (" +
                               std::to_string(num_classes) + " names); skipped");
            continue;
        }
        const size_t coords = v.size() - 1;
        if (coords == 4) {
            problems.push_back(at + "5 numbers is a detection box (class cx cy w h), not a polygon; skipped");
            continue;
        }
        if (coords % 2 != 0) {
            problems.push_back(at + "odd number of coordinates (" + std::to_string(coords) + "); skipped");
            continue;
        }
        if (coords < 6) {
            problems.push_back(at + "a polygon needs at least 3 points, got " + std::to_string(coords / 2) + "; skipped");
            continue;
        }
        yolo_seg_instance inst;
        inst.class_index = cls;
        inst.line = line_no;
        inst.xy.xy.resize(coords);
        bool ok = true;
        for (size_t k = 0; k < coords && ok; k++) {
            double c = v[k + 1];
            // A hair outside [0, 1] is rounding in whoever wrote the file; more is pixels or a bug.
            if (c < -1e-6 || c > 1 + 1e-6) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%g", c);
                problems.push_back(at + (k % 2 == 0 ? "x" : "y") + std::to_string(k / 2 + 1) + " = " + buf +
                                   ": coordinates must be normalised to [0, 1] (pixels given?); skipped");
                ok = false;
                break;
            }
            c = std::min(1.0, std::max(0.0, c));
            inst.xy.xy[k] = (float)(c * (k % 2 == 0 ? width : height));
        }
        if (ok) out.push_back(std::move(inst));
    }
}

namespace {

// ---- the little YAML that data.yaml needs ----------------------------------------------

struct yaml_cursor {
    const std::string &s;
    size_t i;
    std::string error;
};

void append_utf8(std::string &o, uint32_t c) {
    if (c < 0x80) {
        o += (char)c;
    } else if (c < 0x800) {
        o += (char)(0xC0 | (c >> 6)), o += (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        o += (char)(0xE0 | (c >> 12)), o += (char)(0x80 | ((c >> 6) & 0x3F)), o += (char)(0x80 | (c & 0x3F));
    } else {
        o += (char)(0xF0 | (c >> 18)), o += (char)(0x80 | ((c >> 12) & 0x3F));
        o += (char)(0x80 | ((c >> 6) & 0x3F)), o += (char)(0x80 | (c & 0x3F));
    }
}

// One scalar at c.i: "double" (JSON-style escapes), 'single' ('' is a quote) or plain, which
// ends at a newline, a " #" comment or (in flow context) one of `stops`. Leading spaces skipped.
bool yaml_scalar(yaml_cursor &c, const char *stops, std::string &out) {
    const std::string &s = c.s;
    while (c.i < s.size() && (s[c.i] == ' ' || s[c.i] == '\t')) c.i++;
    out.clear();
    if (c.i < s.size() && s[c.i] == '"') {
        for (c.i++; c.i < s.size() && s[c.i] != '"'; c.i++) {
            char ch = s[c.i];
            if (ch == '\n') return c.error = "newline inside a double-quoted name", false;
            if (ch != '\\') {
                out += ch;
                continue;
            }
            if (++c.i >= s.size()) break;
            ch = s[c.i];
            const char *simple = "\\\"/ntr0abfev ";
            const char *mapped = "\\\"/\n\t\r\0\a\b\f\x1b\v ";
            const char *hit = ch ? std::strchr(simple, ch) : nullptr;
            if (hit) {
                out += mapped[hit - simple];
                continue;
            }
            const int digits = ch == 'x' ? 2 : ch == 'u' ? 4 : ch == 'U' ? 8 : 0;
            if (!digits || c.i + digits >= s.size()) return c.error = std::string("bad escape \\") + ch, false;
            uint32_t code = 0;
            for (int k = 1; k <= digits; k++) {
                const char h = s[c.i + k];
                const int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (d < 0) return c.error = std::string("bad escape \\") + ch, false;
                code = code * 16 + (uint32_t)d;
            }
            if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
                return c.error = "escape is not a Unicode character", false;
            append_utf8(out, code);
            c.i += digits;
        }
        if (c.i >= s.size()) return c.error = "unterminated double-quoted name", false;
        c.i++;
        return true;
    }
    if (c.i < s.size() && s[c.i] == '\'') {
        for (c.i++;; c.i++) {
            if (c.i >= s.size() || s[c.i] == '\n') return c.error = "unterminated single-quoted name", false;
            if (s[c.i] == '\'') {
                if (c.i + 1 < s.size() && s[c.i + 1] == '\'') {
                    out += '\'';
                    c.i++;
                    continue;
                }
                c.i++;
                return true;
            }
            out += s[c.i];
        }
    }
    const size_t a = c.i;
    while (c.i < s.size() && s[c.i] != '\n' && !std::strchr(stops, s[c.i]) &&
           !(s[c.i] == '#' && c.i > a && (s[c.i - 1] == ' ' || s[c.i - 1] == '\t')))
        c.i++;
    out = s.substr(a, c.i - a);
    while (!out.empty() && (out.back() == ' ' || out.back() == '\t' || out.back() == '\r')) out.pop_back();
    return true;
}

// Rest of the line after a value: spaces and an optional comment.
bool yaml_line_end(yaml_cursor &c) {
    while (c.i < c.s.size() && (c.s[c.i] == ' ' || c.s[c.i] == '\t' || c.s[c.i] == '\r')) c.i++;
    if (c.i < c.s.size() && c.s[c.i] == '#')
        while (c.i < c.s.size() && c.s[c.i] != '\n') c.i++;
    if (c.i < c.s.size() && c.s[c.i] != '\n') return c.error = "unexpected text after the name", false;
    return true;
}

bool parse_index(const std::string &key, int64_t &k) {
    if (key.empty() || key.size() > 9 || key.find_first_not_of("0123456789") != std::string::npos) return false;
    k = std::atoll(key.c_str());
    return true;
}

int line_at(const std::string &s, size_t i) { return 1 + (int)std::count(s.begin(), s.begin() + (long)std::min(i, s.size()), '\n'); }

}  // namespace

status parse_yolo_data_yaml(const std::string &text, const std::string &name, std::vector<std::string> &names,
                            std::vector<std::string> &problems) {
    names.clear();
    std::map<int64_t, std::string> by_index;
    bool have_names = false, is_map = false;
    int64_t nc = -1;
    size_t names_line_pos = 0;
    yaml_cursor c{text, 0, ""};
    auto fail = [&](size_t at, const std::string &what) {
        return status::failure(name + ":" + std::to_string(line_at(text, at)) + ": names: " + what);
    };
    auto add_map_entry = [&](const std::string &key, const std::string &value, size_t at) -> status {
        int64_t k = 0;
        if (!parse_index(key, k)) return fail(at, "map keys must be class indices 0, 1, ..., got \"" + key + "\"");
        if (!by_index.emplace(k, value).second) return fail(at, "index " + key + " given twice");
        return status::success();
    };
    while (c.i < text.size()) {
        const size_t line_start = c.i;
        size_t eol = text.find('\n', c.i);
        if (eol == std::string::npos) eol = text.size();
        const bool top = line_start < text.size() && !is_space(text[line_start]) && text[line_start] != '#' &&
                         text[line_start] != '-' && text[line_start] != '\n';
        if (top && text.compare(line_start, 3, "nc:") == 0) {
            const std::string v = text.substr(line_start + 3, eol - line_start - 3);
            char *e = nullptr;
            const long long n = std::strtoll(v.c_str(), &e, 10);
            if (e != v.c_str() && n >= 0) nc = n;
        }
        size_t key_end = line_start + 5;
        while (key_end < eol && (text[key_end] == ' ' || text[key_end] == '\t')) key_end++;
        if (!(top && text.compare(line_start, 5, "names") == 0 && key_end < eol && text[key_end] == ':')) {
            c.i = eol + 1;
            continue;
        }
        if (have_names) return fail(line_start, "given twice");
        have_names = true;
        names_line_pos = line_start;
        c.i = key_end + 1;
        while (c.i < eol && (text[c.i] == ' ' || text[c.i] == '\t' || text[c.i] == '\r')) c.i++;
        if (c.i < eol && text[c.i] != '#') {
            const char open = text[c.i];
            if (open != '[' && open != '{') return fail(c.i, "expected a list or a map of class names");
            is_map = open == '{';
            const char close = is_map ? '}' : ']';
            c.i++;
            for (int64_t index = 0;; index++) {
                while (c.i < text.size() && std::strchr(" \t\r\n", text[c.i])) c.i++;
                if (c.i < text.size() && text[c.i] == close && index == 0) {
                    c.i++;
                    break;
                }
                std::string key, value;
                const size_t at = c.i;
                if (!yaml_scalar(c, is_map ? ":,}" : ",]", is_map ? key : value)) return fail(c.i, c.error);
                if (is_map) {
                    if (c.i >= text.size() || text[c.i] != ':') return fail(c.i, "expected `index: name` in the map");
                    c.i++;
                    if (!yaml_scalar(c, ",}", value)) return fail(c.i, c.error);
                    status st = add_map_entry(key, value, at);
                    if (!st) return st;
                } else {
                    by_index[index] = value;
                }
                while (c.i < text.size() && std::strchr(" \t\r\n", text[c.i])) c.i++;
                if (c.i < text.size() && text[c.i] == ',') {
                    c.i++;
                    continue;
                }
                if (c.i < text.size() && text[c.i] == close) {
                    c.i++;
                    break;
                }
                return fail(c.i, std::string("expected ',' or '") + close + "'");
            }
            if (!yaml_line_end(c)) return fail(c.i, c.error);
            c.i++;
            continue;
        }
        // Block form: the following lines that are indented, or `- ` items at column 0.
        c.i = eol + 1;
        int64_t index = 0;
        bool seen_list = false, seen_map = false;
        while (c.i < text.size()) {
            const size_t ls = c.i;
            size_t le = text.find('\n', ls);
            if (le == std::string::npos) le = text.size();
            size_t p = ls;
            while (p < le && (text[p] == ' ' || text[p] == '\t')) p++;
            if (p == le || text[p] == '#' || text[p] == '\r') {  // blank or comment
                c.i = le + 1;
                continue;
            }
            if (p == ls && text[p] != '-') break;  // next top-level key
            c.i = p;
            if (text[p] == '-' && (p + 1 == le || text[p + 1] == ' ' || text[p + 1] == '\t' || text[p + 1] == '\r')) {
                if (seen_map) return fail(p, "mixes `- name` items and `index: name` entries");
                seen_list = true;
                c.i = p + 1;
                std::string value;
                if (!yaml_scalar(c, "", value)) return fail(c.i, c.error);
                by_index[index++] = value;
            } else {
                if (seen_list) return fail(p, "mixes `- name` items and `index: name` entries");
                seen_map = is_map = true;
                std::string key, value;
                if (!yaml_scalar(c, ":", key)) return fail(c.i, c.error);
                if (c.i >= le || text[c.i] != ':') return fail(p, "expected `- name` or `index: name`");
                c.i++;
                if (!yaml_scalar(c, "", value)) return fail(c.i, c.error);
                status st = add_map_entry(key, value, p);
                if (!st) return st;
            }
            if (!yaml_line_end(c)) return fail(c.i, c.error);
            c.i++;
        }
    }
    if (!have_names) return status::failure(name + ": no `names:` with the class names");
    int64_t expect = 0;
    for (const auto &kv : by_index) {
        if (kv.first != expect)
            return fail(names_line_pos, "class index " + std::to_string(expect) + " is missing");
        if (kv.second.empty()) return fail(names_line_pos, "class " + std::to_string(expect) + " has an empty name");
        names.push_back(kv.second);
        expect++;
    }
    if (nc >= 0 && nc != (int64_t)names.size())
        problems.push_back(name + ": nc is " + std::to_string(nc) + " but names lists " + std::to_string(names.size()) +
                           " classes; using the names");
    return status::success();
}

status yolo_seg_import(annotation_document &doc, const std::vector<yolo_label_file> &files,
                       const std::vector<std::string> &class_names, yolo_seg_import_report &report) {
    report = yolo_seg_import_report();
    const std::vector<std::string> stems = export_stems(doc);
    std::map<std::string, size_t> by_path;
    std::map<std::string, std::vector<size_t>> by_base;
    for (size_t i = 0; i < stems.size(); i++) {
        by_path[stems[i]] = i;
        by_base[last_part(file_stem(export_relative_path(doc.images()[i].file_name)))].push_back(i);
    }
    std::map<int64_t, int64_t> category_of_class;
    doc.begin_group("Import YOLO segmentation labels");
    for (const yolo_label_file &f : files) {
        const std::string key = file_stem(safe_relative_path(f.path));
        size_t index = 0;
        auto exact = by_path.find(key);
        auto base = by_base.find(last_part(key));
        if (exact != by_path.end()) {
            index = exact->second;
        } else if (base != by_base.end() && base->second.size() == 1) {
            index = base->second[0];
        } else {
            report.unmatched.push_back(f.path);
            continue;
        }
        report.files_matched++;
        const doc_image im = doc.images()[index];
        std::vector<yolo_seg_instance> instances;
        parse_yolo_seg(f.text, f.path, im.width, im.height, class_names.size(), instances, report.problems);
        for (const yolo_seg_instance &inst : instances) {
            // Rasterise in the top-left part of the image that the polygon reaches (as the
            // COCO import does): rleFrPoly drops nothing there that the full image keeps.
            float max_x = 0, max_y = 0;
            for (size_t k = 0; k < inst.xy.xy.size(); k += 2)
                max_x = std::max(max_x, inst.xy.xy[k]), max_y = std::max(max_y, inst.xy.xy[k + 1]);
            const int ww = std::max(1, std::min(im.width, (int)std::ceil(max_x) + 2));
            const int wh = std::max(1, std::min(im.height, (int)std::ceil(max_y) + 2));
            annotation a;
            a.image_id = im.id;
            a.mask = rle_from_top_left(polygons_to_mask({inst.xy}, wh, ww), im.height, im.width);
            if (rle_area(a.mask) == 0) {
                report.empty_skipped++;
                report.problems.push_back(f.path + ":" + std::to_string(inst.line) + ": polygon covers no pixel; skipped");
                continue;
            }
            auto cat = category_of_class.find(inst.class_index);
            if (cat == category_of_class.end()) {
                const std::string cname = class_names.empty() ? std::to_string(inst.class_index)
                                                              : class_names[(size_t)inst.class_index];
                int64_t id = 0;
                for (const doc_category &dc : doc.categories())
                    if (dc.name == cname) id = dc.id;
                if (id == 0) {
                    status st = doc.add_category(cname, palette_color(doc.categories().size()), &id);
                    if (!st) {
                        doc.cancel_group();
                        return status::failure(f.path + ":" + std::to_string(inst.line) + ": " + st.message);
                    }
                    report.categories_added++;
                }
                cat = category_of_class.emplace(inst.class_index, id).first;
            }
            a.category_id = cat->second;
            status st = doc.add_annotation(a);
            if (!st) {
                doc.cancel_group();
                return status::failure(f.path + ":" + std::to_string(inst.line) + ": " + st.message);
            }
            report.annotations_added++;
        }
    }
    doc.end_group();
    return status::success();
}

}  // namespace sam
