// box_prompts.h - detector boxes to use as SAM box prompts: parsers for COCO JSON and YOLO txt.
// Boxes come out as COCO bbox [x, y, w, h] in original-image pixels, clipped to the image
// when its size is known. A bad box or line is skipped and reported in `problems` with the
// file name and line number ("labels/cat.txt:3: expected 5 or 6 numbers, got 4"); the
// returned status fails only when the file as a whole is unusable (not JSON, wrong shape).
//
//   sam::detector_boxes d; std::vector<std::string> problems;
//   sam::status st = sam::parse_coco_boxes(text, "boxes.json", d, problems);
//   sam::parse_yolo_boxes(txt, "labels/cat.txt", "cat", 640, 480, classes, d.boxes, problems);
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace sam {

struct detector_box {
    int64_t image_id = 0;    // COCO image id (0 when the file gives none, as YOLO)
    std::string image;       // COCO file_name or YOLO txt stem; empty when only image_id is known
    double bbox[4] = {0, 0, 0, 0};  // x, y, w, h, original-image pixels
    int64_t category_id = 0;  // COCO category id; YOLO class index + 1
    std::string category;     // name, empty when the file has none
    double score = 1.0;
    bool has_score = false;
};

struct detector_image {
    int64_t id = 0;
    std::string file_name;
    int width = 0, height = 0;
};

struct detector_category {
    int64_t id = 0;
    std::string name;
};

struct detector_boxes {
    std::vector<detector_image> images;        // empty for the results format
    std::vector<detector_category> categories;  // empty when the file has none
    std::vector<detector_box> boxes;
};

// COCO JSON: a dataset {"images", "annotations" with bbox + category_id (+ score),
// "categories"} or the detection results format, a list of {image_id, category_id,
// bbox, score}. Boxes get their image's file_name and category name when the file has
// them; boxes on an image of known size are clipped to it. Problems name the
// annotation index and its line in the file. Refuses nesting deeper than 64.
status parse_coco_boxes(const std::string &text, const std::string &name, detector_boxes &out,
                        std::vector<std::string> &problems);

// A YOLO class list: one name per line (blank lines and surrounding spaces ignored;
// a blank line in the middle still takes an index, as YOLO's names do).
std::vector<std::string> parse_yolo_classes(const std::string &text);

// One YOLO label file for one image of width x height: lines `class cx cy w h [score]`,
// centre and size normalised to [0, 1]. The class must index `classes` (any
// non-negative class when `classes` is empty). Appends to `out`; `name` is the file
// name in problems, `image` the boxes' image. Blank lines and `#` comments are skipped.
void parse_yolo_boxes(const std::string &text, const std::string &name, const std::string &image, int width,
                      int height, const std::vector<std::string> &classes, std::vector<detector_box> &out,
                      std::vector<std::string> &problems);

// Clips an XYWH box to a width x height image; false (box unchanged) when nothing of it
// is left or a value is not finite.
bool clip_box_to_image(double bbox[4], int width, int height);

}  // namespace sam
