// dataset_export.h - a whole document in one export format, as files or as one ZIP.
// The app's export menu calls export_zip() and hands the bytes to its download; the
// command line (src/tools/sam_convert) calls export_dataset() with a sink that writes a
// folder. Paths are relative, '/'-separated, and never leave the export folder:
//   coco       annotations.json (coco_export, polygons; holes and thin masks as RLE)
//   yolo_seg   data.yaml, labels/<stem>.txt for every image (empty when it has no
//              annotation); see yolo_seg.h for the line format, holes and parts
//   png_masks  legend.json, instances/<stem>.png, semantic/<stem>.png; see png_masks.h
// <stem> is the image's file_name without extension (export_stems in yolo_seg.h).
// Instance maps are 8-bit PNGs when every image has at most 255 instances, else 16-bit
// for all images of the export (legend.json's instance_maps.bit_depth says which).
//
//   std::vector<uint8_t> zip; sam::export_report rep;
//   sam::status st = sam::export_zip(doc, sam::export_format::yolo_seg, {}, zip, rep);
//   // zip holds yolo_seg/data.yaml, yolo_seg/labels/... ; rep.warnings for the user
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/annotation_document.h"
#include "core/coco_json.h"
#include "core/png_masks.h"
#include "core/status.h"
#include "core/yolo_seg.h"

namespace sam {

enum class export_format { coco, yolo_seg, png_masks };

const char *export_format_name(export_format f);  // "coco", "yolo_seg", "png_masks"
bool export_format_from_name(const std::string &name, export_format &out);

// Where the files go; write() returns a failure to stop the export.
class export_sink {
public:
    virtual ~export_sink() = default;
    virtual status write(const std::string &path, const uint8_t *data, size_t size) = 0;
};

struct export_options {
    coco_export_options coco;  // indent etc.; image_id is honoured by every format
    yolo_seg_options yolo;
    png_masks_options png;
};

struct export_report {
    size_t images = 0;
    size_t files = 0;
    size_t instances = 0;         // YOLO lines, PNG instance ids, COCO annotations
    size_t exact_fallbacks = 0;   // yolo_seg: see yolo_seg_export_report
    size_t empty_skipped = 0;     // annotations with an empty mask, not written
    int instance_bit_depth = 0;   // png_masks: 8 or 16
    std::vector<std::string> warnings;  // e.g. two images sharing a file stem
};

status export_dataset(const annotation_document &doc, export_format format, const export_options &options,
                      export_sink &sink, export_report &report);

// The same files in a store-only ZIP, under the folder "<format name>/".
status export_zip(const annotation_document &doc, export_format format, const export_options &options,
                  std::vector<uint8_t> &zip, export_report &report);

}  // namespace sam
