// libFuzzer target: coco_import on arbitrary bytes must never crash, abort or leak, and an
// accepted file must export and re-import to the same annotations.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/annotation_document.h"
#include "core/coco_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    std::string text((const char *)data, size);
    sam::annotation_document doc;
    sam::coco_import_report rep;
    if (!sam::coco_import(text, "fuzz.json", doc, rep).ok()) {
        if (doc.revision() != 0) std::abort();  // a refused file must leave the document untouched
        return 0;
    }
    // Tracing polygons of a 100 MP mask is legitimate but slow: keep each run fast.
    uint64_t pixels = 0;
    for (const sam::annotation &a : doc.annotations()) pixels += (uint64_t)a.mask.height * (uint64_t)a.mask.width;
    for (auto seg : {sam::coco_segmentation::rle, sam::coco_segmentation::polygons}) {
        if (seg == sam::coco_segmentation::polygons && pixels > (4u << 20)) break;
        sam::coco_export_options opt;
        opt.segmentation = seg;
        std::string out = sam::coco_export(doc, opt);
        sam::annotation_document back;
        sam::coco_import_report rep2;
        if (!sam::coco_import(out, "export.json", back, rep2).ok()) std::abort();
        if (back.annotations().size() != doc.annotations().size()) std::abort();
        if (seg == sam::coco_segmentation::rle)
            for (size_t i = 0; i < doc.annotations().size(); i++)
                if (back.annotations()[i].mask.counts != doc.annotations()[i].mask.counts) std::abort();
    }
    while (doc.undo()) {
    }
    if (!doc.annotations().empty() || !doc.images().empty()) std::abort();
    return 0;
}
