// yolo_seg.h - YOLO segmentation labels (Ultralytics format) <-> annotation_document.
// A label file `<image stem>.txt` has one instance a line: `class x1 y1 x2 y2 ...`, the
// class a 0-based index into data.yaml's `names` (here: the document's categories in
// order) and the polygon in COCO's pixel-corner frame normalised by the image width and
// height to [0, 1] (x / width, y / height; 1.0 is the right/bottom image edge), as
// Ultralytics' own convert_coco writes it. One polygon per line: a mask with holes or
// several parts is written as ONE polygon whose rings are joined by zero-width bridges
// (polygon_join.h), one line per annotation, as Ultralytics' convert_coco joins
// multi-part COCO segmentations with merge_multi_segment.
//
//   std::string txt = sam::yolo_seg_labels(doc, image_id, {}, report);  // one image's file
//   std::vector<std::string> names, problems;
//   sam::parse_yolo_data_yaml(yaml_text, "data.yaml", names, problems);   // or parse_yolo_classes
//   sam::yolo_seg_import(doc, {{"cat.txt", txt}}, names, rep);              // labels -> doc
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/annotation_document.h"
#include "core/polygon.h"
#include "core/status.h"

namespace sam {

struct yolo_seg_options {
    double polygon_tolerance = 1.0;  // Douglas-Peucker tolerance, pixels (0 = exact corners)
    // When the simplified, joined polygon rasterised like pycocotools reaches IoU < this
    // with the mask, the exact pixel-corner rings are written instead (IoU 1 before the
    // decimal rounding below).
    double min_iou = 0.98;
    int decimals = 6;  // digits after the point of each normalised coordinate (trailing zeros cut)
    bool include_hidden = true;
};

struct yolo_seg_export_report {
    size_t instances = 0;        // lines written
    size_t exact_fallbacks = 0;  // annotations written with exact corners (see min_iou)
    size_t empty_skipped = 0;    // annotations with an empty mask: no line
};

// The one polygon written for `mask` (an h x w rle), in pixel-corner coordinates of the
// image: the rings of mask_to_polygons(tolerance) joined by join_rings, or the exact rings
// when that falls under min_iou. Empty for an empty mask. `exact` says which was used.
polygon yolo_seg_polygon(const rle &mask, double tolerance, double min_iou, bool *exact = nullptr);

// The label file of one image (annotations in document order; "" when it has none).
// Class indices are category positions in doc.categories().
std::string yolo_seg_labels(const annotation_document &doc, int64_t image_id, const yolo_seg_options &options,
                            yolo_seg_export_report &report);
// The same for `annotations`, those of `image` in document order, grouped by the caller
// (an export of many images groups once instead of scanning all annotations per image).
std::string yolo_seg_labels(const annotation_document &doc, const doc_image &image,
                            const std::vector<const annotation *> &annotations, const yolo_seg_options &options,
                            yolo_seg_export_report &report);

// data.yaml for the document's categories: `train`/`val` (images/, beside labels/), `nc`
// and `names` (index: "name", JSON-quoted, which YAML reads as the same string).
std::string yolo_seg_data_yaml(const annotation_document &doc);

// ---- import ------------------------------------------------------------------------------

struct yolo_seg_instance {
    int64_t class_index = 0;
    polygon xy;    // pixel coordinates of the width x height image (normalised value * size)
    int line = 0;  // 1-based line in the file
};

// Parses one label file of a width x height image. Each bad line is skipped and reported
// as "name:line: problem" (not a number, class not a non-negative integer or not below
// num_classes (0 = any class), an odd number of coordinates, fewer than 3 points,
// coordinates outside [0, 1]); blank lines and `#` comments are skipped. At most 4,000,000
// numbers per file; the rest is reported and skipped.
void parse_yolo_seg(const std::string &text, const std::string &name, int width, int height, size_t num_classes,
                    std::vector<yolo_seg_instance> &out, std::vector<std::string> &problems);

// The class names of a YOLO data.yaml: top-level `names` as a block or flow list
// (`- cat`, `[cat, dog]`) or an index map (`0: cat`, `{0: cat}`), plain, 'single' or
// "double" quoted. Only this much YAML is read. Fails (with the line) when there is no
// `names` or it is malformed; a map must number 0..n-1. A differing `nc` goes to problems.
status parse_yolo_data_yaml(const std::string &text, const std::string &name, std::vector<std::string> &names,
                            std::vector<std::string> &problems);

struct yolo_label_file {
    std::string path;  // relative to the labels folder, '/'-separated: "val/cat.txt"
    std::string text;
};

struct yolo_seg_import_report {
    size_t files_matched = 0;
    size_t annotations_added = 0;
    size_t categories_added = 0;
    size_t empty_skipped = 0;             // polygons that cover no pixel
    std::vector<std::string> unmatched;   // label files with no document image
    std::vector<std::string> problems;    // "file:line: ..." of skipped lines
};

// Adds the instances of `files` to `doc` as ONE undo step. A file belongs to the image
// whose export stem (export_stems) is the file's path without ".txt", else to the only
// image with the same file stem. Class k becomes the category named
// class_names[k] (an existing category of that name, else a new one; lines with k out of
// range are problems), or the category named "k" when class_names is empty. Annotations
// are human-made, their masks rasterised like pycocotools. Fails only when the document
// refuses an edit (then nothing is added).
status yolo_seg_import(annotation_document &doc, const std::vector<yolo_label_file> &files,
                       const std::vector<std::string> &class_names, yolo_seg_import_report &report);

// ---- file names ------------------------------------------------------------------------

// Per document image (same order as doc.images()), its export path without extension:
// the file_name without its extension, '\\' read as '/', empty, "." and ".." parts
// dropped and a leading "images/" part too ("val/cat.jpg" -> "val/cat", the manifest's
// "images/cat.jpg" -> "cat"). When two images would share a path (cat.jpg and
// cat.png), each of them keeps its extension as "_ext" ("cat_jpg", "cat_png") and a
// warning naming both is added: Ultralytics would not find those labels by image name.
std::vector<std::string> export_stems(const annotation_document &doc, std::vector<std::string> *warnings = nullptr);

}  // namespace sam
