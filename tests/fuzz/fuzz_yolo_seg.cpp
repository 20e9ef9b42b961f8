// libFuzzer target: the YOLO segmentation label parser, the data.yaml names reader and the
// import -> export -> parse round trip on arbitrary bytes. Byte 0 picks the input kind
// (even: a label file, odd: data.yaml); bytes 1-2 the image size (1..256 x 1..256).
// Nothing may crash or abort; accepted instances lie inside the image with a valid class;
// imported annotations are non-empty; what our writer then writes parses back with no
// problem, one instance per line; names read from data.yaml survive our own data.yaml.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/annotation_document.h"
#include "core/dataset_export.h"
#include "core/rle.h"
#include "core/yolo_seg.h"

static void label_file(const std::string &text, int w, int h) {
    const std::vector<std::string> classes = {"a", "b", "c"};
    std::vector<sam::yolo_seg_instance> inst;
    std::vector<std::string> problems;
    sam::parse_yolo_seg(text, "fuzz.txt", w, h, classes.size(), inst, problems);
    for (const sam::yolo_seg_instance &i : inst) {
        if (i.class_index < 0 || i.class_index >= 3 || i.xy.xy.size() < 6 || i.xy.xy.size() % 2) std::abort();
        for (size_t k = 0; k < i.xy.xy.size(); k++)
            if (!(i.xy.xy[k] >= 0 && i.xy.xy[k] <= (k % 2 ? h : w))) std::abort();
    }
    for (const std::string &p : problems)
        if (p.compare(0, 9, "fuzz.txt:") != 0) std::abort();

    sam::annotation_document doc;
    if (!doc.add_image({1, "fuzz.jpg", w, h}).ok()) std::abort();
    sam::yolo_seg_import_report rep;
    if (!sam::yolo_seg_import(doc, {{"fuzz.txt", text}}, classes, rep).ok()) std::abort();
    if (rep.annotations_added + rep.empty_skipped != inst.size()) std::abort();
    for (const sam::annotation &a : doc.annotations())
        if (!sam::rle_is_valid(a.mask) || sam::rle_area(a.mask) == 0) std::abort();

    sam::yolo_seg_export_report er;
    const std::string again = sam::yolo_seg_labels(doc, 1, {}, er);
    std::vector<sam::yolo_seg_instance> back;
    problems.clear();
    sam::parse_yolo_seg(again, "again.txt", w, h, doc.categories().size(), back, problems);
    if (!problems.empty() || back.size() != doc.annotations().size() || er.instances != back.size()) std::abort();

    std::vector<uint8_t> zip;
    sam::export_report xr;
    if (!sam::export_zip(doc, sam::export_format::yolo_seg, {}, zip, xr).ok() || zip.size() < 22) std::abort();
}

static void data_yaml(const std::string &text) {
    std::vector<std::string> names, problems;
    if (!sam::parse_yolo_data_yaml(text, "fuzz.yaml", names, problems).ok()) return;
    sam::annotation_document doc;
    for (const std::string &n : names) {
        if (n.empty()) std::abort();
        for (unsigned char c : n)
            if (c >= 0x80) return;  // invalid UTF-8 is replaced when written; ASCII must round-trip
        if (!doc.add_category(n, {}).ok()) std::abort();
    }
    std::vector<std::string> again;
    problems.clear();
    if (!sam::parse_yolo_data_yaml(sam::yolo_seg_data_yaml(doc), "ours.yaml", again, problems).ok()) std::abort();
    if (again != names || !problems.empty()) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3 || size > 1 << 16) return 0;
    const std::string text((const char *)data + 3, size - 3);
    if (data[0] % 2 == 0) label_file(text, 1 + data[1], 1 + data[2]);
    else data_yaml(text);
    return 0;
}
