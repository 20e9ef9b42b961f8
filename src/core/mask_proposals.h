// mask_proposals.h - reads the "segment everything" proposals of one image, as written by
// `scripts/embed --everything` to DATASET/proposals/<stem>.json:
//   {"version": 1, "image", "width", "height", ..., "annotations": [{"segmentation":
//    {"size": [H, W], "counts": "<COCO compressed RLE>"}, "area", "bbox", "predicted_iou",
//    "stability_score", "point_coords": [[x, y]], "crop_box"}]}
// Masks are COCO RLE in original (EXIF-oriented) image pixels. Errors name the file and the
// field ("proposals/cat.json: annotations[3].segmentation.counts: ..."); nothing is thrown.
//   sam::mask_proposals p; sam::status st = sam::parse_mask_proposals(text, "proposals/cat.json", 640, 480, p);
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/image.h"
#include "core/rle.h"
#include "core/status.h"

namespace sam {

struct mask_proposal {
    rle segmentation;           // height x width of the image
    uint64_t area = 0;          // rle_area(segmentation), recomputed (the file's value is not trusted)
    box_xywh bbox;              // rle_to_bbox(segmentation), COCO convention
    double predicted_iou = 0;   // the decoder's IoU prediction
    double stability_score = 0;
    bool has_point = false;
    double point[2] = {0, 0};   // the grid point that produced it (x, y original pixels)
};

struct mask_proposals {
    std::string image;  // the manifest's image file the proposals were made for
    int width = 0, height = 0;
    std::vector<mask_proposal> proposals;  // in file order
};

// Parses a proposals file for an image of width x height (0, 0: take the file's size).
// Refuses another version, a size that differs from the image's, and any malformed record.
status parse_mask_proposals(const std::string &text, const std::string &name, int width, int height,
                            mask_proposals &out);

}  // namespace sam
