// coco_json.h - COCO instance-segmentation JSON export and import of an annotation_document.
// coco_export() writes standard info/licenses/images/annotations/categories that load in
// pycocotools unchanged; what our tool needs to continue work (score, source, prompts,
// hidden, category colour) goes into an extra "sam" object per annotation / category that
// other tools ignore. coco_import() adds a file to a document as ONE undo step, or refuses
// it whole, with a message naming the field: "coco.json: annotations[3].bbox: expected 4
// numbers, got 3". Text only: reading and writing files is the caller's business.
//
//   std::string text = sam::coco_export(doc, {});
//   sam::coco_import_report rep;
//   sam::status st = sam::coco_import(text, "coco.json", doc, rep);
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/annotation_document.h"
#include "core/status.h"

namespace sam {

enum class coco_segmentation { polygons, rle };

struct coco_export_options {
    // polygons (default): an annotation whose mask polygons cannot represent faithfully
    // (holes: COCO unions polygon lists, so a hole would be filled; or a mask so small or
    // thin that the rasterised polygons reach IoU < polygon_min_iou with it; or an empty
    // mask) is written as compressed RLE instead, with iscrowd still 0 - pycocotools
    // decodes RLE for any iscrowd. rle: every annotation as compressed RLE (exact).
    coco_segmentation segmentation = coco_segmentation::polygons;
    double polygon_tolerance = 1.0;  // Douglas-Peucker tolerance, pixels
    double polygon_min_iou = 0.98;
    int64_t image_id = 0;         // 0 = all images; else only this image and its annotations
    bool include_hidden = true;   // hidden is a view state: exported with "sam": {"hidden": true}
    bool include_sam_fields = true;
    int indent = -1;              // -1 compact, >= 0 pretty-printed
    std::string date_created;     // info.date_created; omitted when empty (the core has no clock)
};

std::string coco_export(const annotation_document &doc, const coco_export_options &options = {});

// Options for a lossless save (the app's autosave): RLE masks (polygons approximate),
// hidden annotations and the "sam" fields included. coco_import() of such a text into an
// empty document gives back the same images, categories (ids, names, supercategories,
// colours) and annotations (ids, masks, score, source, hidden, prompts), in the same order
// (call doc.clear_history() after such a reload, so the load itself is not an undo step).
coco_export_options coco_lossless_options();

struct coco_import_report {
    size_t images_matched = 0;  // by file_name, same width/height
    size_t images_added = 0;    // file names listed in added_images
    size_t categories_matched = 0;  // by name
    size_t categories_added = 0;
    size_t annotations_added = 0;
    size_t annotations_renumbered = 0;  // their id was taken in the document
    size_t polygon_annotations = 0, rle_annotations = 0;
    std::vector<std::string> added_images;
    size_t annotations_skipped = 0;         // on images skipped (add_unknown_images = false)
    std::vector<std::string> skipped_images;  // file names not in the document, not added
    std::vector<std::string> warnings;  // accepted oddities (iscrowd=1, bbox/area differing from the mask, ...)
};

struct coco_import_options {
    // false: images the document does not have are not added; their annotations are
    // skipped and counted (the app's "load annotations", whose images come from the
    // manifest and must have embeddings).
    bool add_unknown_images = true;
    // true: when no document image has the file's exact file_name, match by the part after
    // the last slash or backslash ("val/cat.jpg" <-> "cat.jpg") if exactly one image has it.
    bool match_base_name = false;
};

// Distinct, readable colours for categories that come without one (the i-th new category);
// importers of other formats use it too.
rgb8 palette_color(size_t i);

// Parses `json` (`name` prefixes messages) and adds its content to `doc`:
// images are matched by file_name (a known file with another width/height is an error;
// unknown ones are added and listed in the report, or skipped with their annotations when
// options.add_unknown_images is false), categories by name (unknown ones
// added), annotations always added (new ids where theirs are taken). Segmentation may be
// polygons, compressed RLE (counts string) or uncompressed RLE (counts list); its size
// must be the image's. bbox and area are recomputed from the mask. Bounds: images up to
// 100 MP, RLE counts summing to exactly h*w, polygon coordinates within the image +-
// its size, nesting depth 64. On failure `doc` is unchanged. Never aborts.
status coco_import(const std::string &json, const std::string &name, annotation_document &doc,
                   coco_import_report &report, const coco_import_options &options = {});

}  // namespace sam
