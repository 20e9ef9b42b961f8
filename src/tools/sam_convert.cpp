// sam_convert - COCO annotations <-> training formats on the command line (scripts/convert
// is the friendly wrapper that finds a dataset's annotations).
//   sam_convert export --coco COCO.json --format yolo_seg|png_masks|coco --out DIR
//                      [--zip FILE] [--images-from DIR]... [--tolerance PX] [--decimals N] [--no-hidden]
//       Imports COCO.json (our own or any pycocotools-compatible file) and writes the format
//       into DIR (dataset_export.h: labels/ + data.yaml, or instances/ + semantic/ +
//       legend.json), or with --zip the same files as a ZIP. DIR is written next to itself
//       and swapped in at the end; an existing DIR is replaced only when it holds a previous
//       export of that format. --images-from DIR (repeatable: the first DIR holding the
//       file wins) puts each image DIR/<file_name> at OUT/images/<stem>.<ext> beside
//       labels/, as a hard link when possible, else a copy (for yolo_seg: what Ultralytics
//       trains on; a missing image is an error).
//   sam_convert import --labels DIR --images manifest.json|COCO.json --out COCO.json
//                      [--names data.yaml|classes.txt] [--rle]
//       YOLO segmentation label files DIR/**/*.txt (DIR/labels/ when DIR has one) become
//       annotations of the images of a dataset manifest (file_name = file without
//       "images/", as the app names them) or of a COCO file's images; class names from
//       --names, else DIR/data.yaml, DIR/../data.yaml or DIR/classes.txt when present.
// Output: a summary line on stdout; problems (file:line: ...) on stderr.
// Exit status: 0 ok, 1 some lines or files were skipped, 2 usage or a fatal error.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>  // getpid

#include <nlohmann/json.hpp>

#include "core/annotation_document.h"
#include "core/box_prompts.h"
#include "core/coco_json.h"
#include "core/dataset_export.h"
#include "core/yolo_seg.h"

namespace fs = std::filesystem;

namespace {

bool read_file(const fs::path &path, std::string &out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return !f.bad();
}

bool write_file(const fs::path &path, const void *data, size_t size) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write((const char *)data, (std::streamsize)size);
    f.close();
    return (bool)f;
}

// Written through a temporary name and renamed, so a reader never sees half a file.
bool write_file_atomic(const fs::path &path, const void *data, size_t size) {
    fs::path tmp = path;
    tmp += ".tmp-" + std::to_string((long)getpid());
    if (!write_file(tmp, data, size)) return false;
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) fs::remove(tmp, ec);
    return !ec;
}

int fail(const std::string &msg) {
    std::fprintf(stderr, "sam_convert: %s\n", msg.c_str());
    return 2;
}

int usage() {
    std::fprintf(stderr,
                 "usage: sam_convert export --coco COCO.json --format yolo_seg|png_masks|coco --out DIR\n"
                 "                          [--zip FILE] [--images-from DIR] [--tolerance PX] [--decimals N] [--no-hidden]\n"
                 "       sam_convert import --labels DIR --images manifest.json|COCO.json --out COCO.json\n"
                 "                          [--names data.yaml|classes.txt] [--rle]\n");
    return 2;
}

class folder_sink : public sam::export_sink {
public:
    explicit folder_sink(fs::path root) : root_(std::move(root)) {}
    sam::status write(const std::string &path, const uint8_t *data, size_t size) override {
        const fs::path p = root_ / fs::u8path(path);
        std::error_code ec;
        fs::create_directories(p.parent_path(), ec);
        if (ec || !write_file(p, data, size)) return sam::status::failure(p.string() + ": cannot write");
        return sam::status::success();
    }

private:
    fs::path root_;
};

// The file that marks a folder as an export of `format` (safe to replace).
const char *marker_file(sam::export_format f) {
    switch (f) {
        case sam::export_format::yolo_seg: return "data.yaml";
        case sam::export_format::png_masks: return "legend.json";
        case sam::export_format::coco: return "annotations.json";
    }
    return "";
}

int load_coco(const std::string &path, sam::annotation_document &doc) {
    std::string text;
    if (!read_file(path, text)) return fail(path + ": cannot read");
    sam::coco_import_report rep;
    sam::status st = sam::coco_import(text, fs::path(path).filename().string(), doc, rep);
    if (!st) return fail(st.message);
    for (const std::string &w : rep.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    return 0;
}

// Each document image, found in the first of `dirs` that has it, at
// to/<export stem>.<ext>: a hard link (no extra space on the same file system) or a copy.
sam::status place_images(const sam::annotation_document &doc, const std::vector<std::string> &dirs, const fs::path &to) {
    const std::vector<std::string> stems = sam::export_stems(doc);
    std::error_code ec;
    for (size_t i = 0; i < doc.images().size(); i++) {
        const fs::path name = fs::u8path(doc.images()[i].file_name);
        bool outside = name.is_absolute() || name.has_root_name();
        for (const fs::path &part : name) outside = outside || part == "..";
        if (outside) return sam::status::failure(doc.images()[i].file_name + ": file_name points outside the images folder");
        fs::path src;
        for (const std::string &d : dirs)
            if (fs::is_regular_file(fs::u8path(d) / name, ec)) {
                src = fs::u8path(d) / name;
                break;
            }
        if (src.empty()) return sam::status::failure(doc.images()[i].file_name + ": image not found in " + dirs[0]);
        const fs::path dest = to / fs::u8path(stems[i] + src.extension().u8string());
        fs::create_directories(dest.parent_path(), ec);
        fs::create_hard_link(src, dest, ec);
        if (ec && !fs::copy_file(src, dest, fs::copy_options::overwrite_existing, ec))
            return sam::status::failure(src.string() + ": cannot copy (" + ec.message() + ")");
    }
    return sam::status::success();
}

int export_cmd(int argc, char **argv) {
    std::string coco, format_name, out, zip;
    std::vector<std::string> images_from;
    sam::export_options opt;
    opt.coco.indent = 1;
    for (int i = 2; i < argc; i++) {
        const std::string a = argv[i];
        const bool has = i + 1 < argc;
        if (a == "--coco" && has) coco = argv[++i];
        else if (a == "--format" && has) format_name = argv[++i];
        else if (a == "--out" && has) out = argv[++i];
        else if (a == "--zip" && has) zip = argv[++i];
        else if (a == "--images-from" && has) images_from.push_back(argv[++i]);
        else if (a == "--tolerance" && has) opt.yolo.polygon_tolerance = opt.coco.polygon_tolerance = std::atof(argv[++i]);
        else if (a == "--decimals" && has) opt.yolo.decimals = std::atoi(argv[++i]);
        else if (a == "--no-hidden") opt.yolo.include_hidden = opt.png.include_hidden = opt.coco.include_hidden = false;
        else return usage();
    }
    sam::export_format format;
    if (coco.empty() || (out.empty() == zip.empty()) || !sam::export_format_from_name(format_name, format)) return usage();
    sam::annotation_document doc;
    if (int rc = load_coco(coco, doc)) return rc;

    sam::export_report rep;
    if (!zip.empty()) {
        std::vector<uint8_t> bytes;
        sam::status st = sam::export_zip(doc, format, opt, bytes, rep);
        if (!st) return fail(st.message);
        if (!write_file_atomic(zip, bytes.data(), bytes.size())) return fail(zip + ": cannot write");
    } else {
        const fs::path dest = fs::u8path(out);
        std::error_code ec;
        if (fs::exists(dest) && !fs::is_empty(dest, ec) && !fs::exists(dest / marker_file(format)))
            return fail(out + " exists and is not a " + format_name + " export (no " + marker_file(format) +
                        "): choose another --out");
        const fs::path tmp = dest.string() + ".tmp-" + std::to_string((long)getpid());
        fs::remove_all(tmp, ec);
        folder_sink sink(tmp);
        sam::status st = sam::export_dataset(doc, format, opt, sink, rep);
        if (st && !images_from.empty()) st = place_images(doc, images_from, tmp / "images");
        if (!st) {
            fs::remove_all(tmp, ec);
            return fail(st.message);
        }
        const fs::path old = dest.string() + ".old-" + std::to_string((long)getpid());
        if (fs::exists(dest)) fs::rename(dest, old, ec);
        if (!ec) fs::rename(tmp, dest, ec);
        if (ec) return fail(out + ": cannot move the export in place (" + ec.message() + "); it is in " + tmp.string());
        fs::remove_all(old, ec);
    }
    for (const std::string &w : rep.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    std::printf("%s: %zu images, %zu instances, %zu files", format_name.c_str(), rep.images, rep.instances, rep.files);
    if (format == sam::export_format::yolo_seg) std::printf(", %zu written with exact corners", rep.exact_fallbacks);
    if (format == sam::export_format::png_masks) std::printf(", %d-bit instance maps", rep.instance_bit_depth);
    if (rep.empty_skipped) std::printf(", %zu empty masks skipped", rep.empty_skipped);
    std::printf(" -> %s\n", (zip.empty() ? out : zip).c_str());
    return 0;
}

// The images (not the annotations) of a manifest (version 1: "file", as the app names it
// without "images/") or of a COCO file ("file_name"), into `doc`.
int load_images(const std::string &path, sam::annotation_document &doc) {
    std::string text;
    if (!read_file(path, text)) return fail(path + ": cannot read");
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("images") || !j["images"].is_array())
        return fail(path + ": expected a manifest.json or a COCO file with an \"images\" array");
    const nlohmann::json &ims = j["images"];
    for (size_t i = 0; i < ims.size(); i++) {
        const nlohmann::json &e = ims[i];
        const std::string where = path + ": images[" + std::to_string(i) + "]";
        const char *key = e.is_object() && e.contains("file_name") ? "file_name" : "file";
        if (!e.is_object() || !e.contains("id") || !e["id"].is_number_integer() || !e.contains(key) ||
            !e[key].is_string() || !e.contains("width") || !e["width"].is_number_integer() ||
            !e.contains("height") || !e["height"].is_number_integer())
            return fail(where + ": needs integer id, width, height and a file (manifest) or file_name (COCO)");
        std::string file = e[key].get<std::string>();
        if (file.compare(0, 7, "images/") == 0 && std::string(key) == "file") file = file.substr(7);
        sam::status st = doc.add_image({e["id"].get<int64_t>(), file, (int)e["width"].get<int64_t>(),
                                        (int)e["height"].get<int64_t>()});
        if (!st) return fail(where + ": " + st.message);
    }
    return 0;
}

int import_cmd(int argc, char **argv) {
    std::string labels, images, out, names_path;
    bool rle = false;
    for (int i = 2; i < argc; i++) {
        const std::string a = argv[i];
        const bool has = i + 1 < argc;
        if (a == "--labels" && has) labels = argv[++i];
        else if (a == "--images" && has) images = argv[++i];
        else if (a == "--out" && has) out = argv[++i];
        else if (a == "--names" && has) names_path = argv[++i];
        else if (a == "--rle") rle = true;
        else return usage();
    }
    if (labels.empty() || images.empty() || out.empty()) return usage();
    fs::path dir = fs::u8path(labels);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return fail(labels + ": not a folder");
    const fs::path top = dir;
    if (fs::is_directory(dir / "labels", ec)) dir /= "labels";
    if (names_path.empty())
        for (const fs::path &p : {top / "data.yaml", dir / "data.yaml", dir.parent_path() / "data.yaml", top / "classes.txt",
                                  dir / "classes.txt"})
            if (fs::is_regular_file(p, ec)) {
                names_path = p.string();
                break;
            }
    std::vector<std::string> names, problems;
    if (!names_path.empty()) {
        std::string text;
        if (!read_file(names_path, text)) return fail(names_path + ": cannot read");
        if (fs::path(names_path).extension() == ".yaml" || fs::path(names_path).extension() == ".yml") {
            sam::status st = sam::parse_yolo_data_yaml(text, names_path, names, problems);
            if (!st) return fail(st.message);
        } else {
            names = sam::parse_yolo_classes(text);
        }
    }

    sam::annotation_document doc;
    if (int rc = load_images(images, doc)) return rc;
    std::vector<sam::yolo_label_file> files;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec) || it->path().extension() != ".txt" || it->path().filename() == "classes.txt") continue;
        sam::yolo_label_file f;
        f.path = it->path().lexically_relative(dir).generic_u8string();
        if (!read_file(it->path(), f.text)) return fail(it->path().string() + ": cannot read");
        files.push_back(std::move(f));
    }
    if (ec) return fail(dir.string() + ": " + ec.message());
    std::sort(files.begin(), files.end(), [](const auto &a, const auto &b) { return a.path < b.path; });

    sam::yolo_seg_import_report rep;
    sam::status st = sam::yolo_seg_import(doc, files, names, rep);
    if (!st) return fail(st.message);
    sam::coco_export_options opt;
    opt.indent = 1;
    if (rle) opt.segmentation = sam::coco_segmentation::rle;
    const std::string text = sam::coco_export(doc, opt);
    if (!write_file_atomic(fs::u8path(out), text.data(), text.size())) return fail(out + ": cannot write");
    for (const std::string &p : problems) std::fprintf(stderr, "warning: %s\n", p.c_str());
    for (const std::string &p : rep.problems) std::fprintf(stderr, "skipped: %s\n", p.c_str());
    for (const std::string &u : rep.unmatched) std::fprintf(stderr, "no such image: %s\n", u.c_str());
    std::printf("yolo_seg import: %zu label files matched, %zu annotations, %zu categories added, %zu lines skipped, "
                "%zu files unmatched -> %s\n",
                rep.files_matched, rep.annotations_added, rep.categories_added, rep.problems.size(),
                rep.unmatched.size(), out.c_str());
    return rep.problems.empty() && rep.unmatched.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    const std::string cmd = argv[1];
    if (cmd == "export") return export_cmd(argc, argv);
    if (cmd == "import") return import_cmd(argc, argv);
    return usage();
}
