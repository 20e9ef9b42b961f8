// png_masks.h - per-image label maps for training pipelines that read PNG masks.
// For one image (width x height, row-major, original-image pixels): an instance-id map
// (0 background, 1..N the image's annotations in document order) and a semantic class
// map (0 background, k + 1 for the k-th category of doc.categories(), the YOLO class k).
// Where masks overlap, the smaller mask is drawn on top (painted by decreasing area), so
// a small object lying on a large one stays visible; each instance's visible_area says
// how much of it shows. png_masks_legend() writes the JSON that maps ids to annotations
// and class values to category names and colours.
//   sam::png_masks_image m; sam::png_masks_render(doc, image_id, {}, m);
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/annotation_document.h"
#include "core/status.h"

namespace sam {

struct png_masks_options {
    bool include_hidden = true;
};

struct png_masks_instance {
    uint32_t id = 0;  // pixel value in the instance map
    int64_t annotation_id = 0;
    int64_t category_id = 0;
    uint32_t class_value = 0;  // pixel value in the semantic map (category position + 1)
    uint64_t area = 0;         // pixels of the mask
    uint64_t visible_area = 0;  // pixels where the instance map shows this id
};

struct png_masks_image {
    int64_t image_id = 0;
    int width = 0, height = 0;
    std::vector<uint16_t> instances;  // height * width instance ids
    std::vector<uint8_t> semantic;    // height * width class values
    std::vector<png_masks_instance> legend;
};

// Annotations with an empty mask get no id. Fails when the image is unknown, has more
// than 65535 instances (16-bit ids) or the document more than 255 categories (8-bit
// class values).
status png_masks_render(const annotation_document &doc, int64_t image_id, const png_masks_options &options,
                        png_masks_image &out);
// The same for `annotations`, those of `image` in document order, grouped by the caller.
status png_masks_render(const annotation_document &doc, const doc_image &image,
                        const std::vector<const annotation *> &annotations, const png_masks_options &options,
                        png_masks_image &out);

// The legend (JSON text) of a whole export: format, bit depths, the class table
// (value 0 "background", then each category: value, category_id, name, colour) and per
// image its file name, size, the two map paths and its instances (id, annotation_id,
// category_id, category, class_value, area, visible_area, score, source).
// Reads only image_id and legend of `images` (the maps may have been dropped once
// encoded); `stems` holds each document image's export stem (export_stems), the maps
// being instances/<stem>.png and semantic/<stem>.png.
std::string png_masks_legend(const annotation_document &doc, const std::vector<png_masks_image> &images,
                             const std::vector<std::string> &stems, int instance_bit_depth);

}  // namespace sam
