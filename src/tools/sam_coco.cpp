// sam_coco - native command-line access to the core's COCO JSON export/import.
//   sam_coco from-masks --masks M.npy --out coco.json [--rle] [--tolerance PX]
//                       [--file-name NAME] [--decoded OUT.npy]
//       M.npy: (N,H,W) or (H,W) bool/uint8; writes one image and one annotation per mask
//       (polygons unless --rle); --decoded writes (N,H,W) uint8 as our own import reads
//       the written file back.
//   sam_coco check coco.json
//       imports the file into an empty document; prints a summary, or the error (exit 1).
//   sam_coco check --stdin
//       the same check for many texts, one long-lived process (scripts/serve's store):
//       each request is a line "<byte count>\n" then that many bytes of COCO JSON; each
//       reply is one JSON line {"ok": true, "images", "categories", "annotations",
//       "renumbered", "warnings"} or {"ok": false, "error": "request: annotations[3].bbox: ..."}.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/annotation_document.h"
#include "core/coco_json.h"
#include "core/npy.h"
#include "core/rle.h"

namespace {

bool read_file(const std::string &path, std::string &out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return true;
}

bool write_file(const std::string &path, const void *data, size_t size) {
    std::ofstream f(path, std::ios::binary);
    f.write((const char *)data, (std::streamsize)size);
    return (bool)f;
}

std::string base_name(const std::string &p) {
    size_t s = p.find_last_of('/');
    return s == std::string::npos ? p : p.substr(s + 1);
}

int usage() {
    std::fprintf(stderr,
                 "usage: sam_coco from-masks --masks M.npy --out coco.json [--rle] [--tolerance PX] "
                 "[--file-name NAME] [--decoded OUT.npy]\n"
                 "       sam_coco check coco.json\n"
                 "       sam_coco check --stdin   (\"<bytes>\\n\" + COCO JSON in, one JSON line out, repeated)\n");
    return 2;
}

int check(const std::string &path) {
    std::string text;
    if (!read_file(path, text)) {
        std::fprintf(stderr, "%s: cannot read\n", path.c_str());
        return 1;
    }
    sam::annotation_document doc;
    sam::coco_import_report rep;
    sam::status st = sam::coco_import(text, base_name(path), doc, rep);
    if (!st) {
        std::fprintf(stderr, "%s\n", st.message.c_str());
        return 1;
    }
    std::printf("%s: %zu images, %zu categories, %zu annotations (%zu polygons, %zu RLE), %zu renumbered\n",
                base_name(path).c_str(), rep.images_added, rep.categories_added, rep.annotations_added,
                rep.polygon_annotations, rep.rle_annotations, rep.annotations_renumbered);
    for (const std::string &w : rep.warnings) std::printf("warning: %s\n", w.c_str());
    return 0;
}

// Answers requests until stdin ends. A request that cannot be read whole ends the loop:
// the caller sees the process exit rather than a reply that belongs to nothing.
int check_stdin() {
    using json = nlohmann::json;
    std::ios::sync_with_stdio(false);
    std::string header, text;
    while (std::getline(std::cin, header)) {
        if (header.empty()) continue;
        char *end = nullptr;
        unsigned long long n = std::strtoull(header.c_str(), &end, 10);
        if (end == header.c_str() || *end != '\0' || n > (1ull << 32)) {
            std::fprintf(stderr, "sam_coco check --stdin: bad request header \"%s\"\n", header.c_str());
            return 2;
        }
        text.resize((size_t)n);
        if (n && !std::cin.read(&text[0], (std::streamsize)n)) {
            std::fprintf(stderr, "sam_coco check --stdin: request cut short\n");
            return 2;
        }
        sam::annotation_document doc;
        sam::coco_import_report rep;
        sam::status st = sam::coco_import(text, "request", doc, rep);
        json reply;
        if (st) {
            reply = json{{"ok", true},
                         {"images", rep.images_added},
                         {"categories", rep.categories_added},
                         {"annotations", rep.annotations_added},
                         {"renumbered", rep.annotations_renumbered},
                         {"warnings", rep.warnings}};
        } else {
            reply = json{{"ok", false}, {"error", st.message}};
        }
        // replace: a message may quote bytes of the request that are not UTF-8.
        std::cout << reply.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
    }
    return 0;
}

int from_masks(int argc, char **argv) {
    std::string masks_path, out_path, decoded_path, file_name;
    sam::coco_export_options opt;
    opt.indent = 1;
    for (int i = 2; i < argc; i++) {
        std::string a = argv[i];
        bool has_value = i + 1 < argc;
        if (a == "--masks" && has_value) masks_path = argv[++i];
        else if (a == "--out" && has_value) out_path = argv[++i];
        else if (a == "--decoded" && has_value) decoded_path = argv[++i];
        else if (a == "--file-name" && has_value) file_name = argv[++i];
        else if (a == "--tolerance" && has_value) opt.polygon_tolerance = std::atof(argv[++i]);
        else if (a == "--rle") opt.segmentation = sam::coco_segmentation::rle;
        else return usage();
    }
    if (masks_path.empty() || out_path.empty()) return usage();
    std::string bytes;
    if (!read_file(masks_path, bytes)) {
        std::fprintf(stderr, "%s: cannot read\n", masks_path.c_str());
        return 1;
    }
    sam::npy_array arr;
    sam::status st = sam::npy_parse((const uint8_t *)bytes.data(), bytes.size(), base_name(masks_path), arr);
    if (!st) {
        std::fprintf(stderr, "%s\n", st.message.c_str());
        return 1;
    }
    if ((arr.shape.size() != 2 && arr.shape.size() != 3) ||
        (arr.dtype != sam::npy_dtype::bool_ && arr.dtype != sam::npy_dtype::u8)) {
        std::fprintf(stderr, "%s: expected (N,H,W) or (H,W) bool/uint8 masks, got %s with %zu dims\n",
                     masks_path.c_str(), sam::npy_dtype_descr(arr.dtype), arr.shape.size());
        return 1;
    }
    int64_t n = arr.shape.size() == 3 ? arr.shape[0] : 1;
    int h = (int)arr.shape[arr.shape.size() - 2], w = (int)arr.shape[arr.shape.size() - 1];

    sam::annotation_document doc;
    int64_t image_id = 0, cat = 0;
    if (file_name.empty()) file_name = base_name(masks_path) + ".png";
    if (!(st = doc.add_image({0, file_name, w, h}, &image_id)) || !(st = doc.add_category("object", {230, 25, 75}, &cat))) {
        std::fprintf(stderr, "%s\n", st.message.c_str());
        return 1;
    }
    size_t plane = (size_t)h * (size_t)w;
    for (int64_t k = 0; k < n; k++) {
        sam::binary_mask m(w, h);
        for (size_t i = 0; i < plane; i++) m.data[i] = arr.data[(size_t)k * plane + i] ? 1 : 0;
        sam::annotation a;
        a.image_id = image_id;
        a.category_id = cat;
        a.mask = sam::mask_to_rle(m);
        if (!(st = doc.add_annotation(a))) {
            std::fprintf(stderr, "mask %lld: %s\n", (long long)k, st.message.c_str());
            return 1;
        }
    }
    std::string text = sam::coco_export(doc, opt);
    if (!write_file(out_path, text.data(), text.size())) {
        std::fprintf(stderr, "%s: cannot write\n", out_path.c_str());
        return 1;
    }
    if (!decoded_path.empty()) {
        sam::annotation_document back;
        sam::coco_import_report rep;
        if (!(st = sam::coco_import(text, base_name(out_path), back, rep))) {
            std::fprintf(stderr, "%s\n", st.message.c_str());
            return 1;
        }
        sam::npy_array out;
        out.dtype = sam::npy_dtype::u8;
        out.shape = {(int64_t)back.annotations().size(), h, w};
        for (const sam::annotation &a : back.annotations()) {
            sam::binary_mask m = sam::rle_to_mask(a.mask);
            out.data.insert(out.data.end(), m.data.begin(), m.data.end());
        }
        std::vector<uint8_t> npy = sam::npy_serialize(out);
        if (!write_file(decoded_path, npy.data(), npy.size())) {
            std::fprintf(stderr, "%s: cannot write\n", decoded_path.c_str());
            return 1;
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) return usage();
    std::string cmd = argv[1];
    if (cmd == "check" && argc == 3 && std::strcmp(argv[2], "--stdin") == 0) return check_stdin();
    if (cmd == "check" && argc == 3) return check(argv[2]);
    if (cmd == "from-masks") return from_masks(argc, argv);
    return usage();
}
