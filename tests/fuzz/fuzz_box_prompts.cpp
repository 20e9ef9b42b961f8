// libFuzzer target: both detector-box parsers on arbitrary bytes. The first byte picks
// the parser (even: COCO JSON, odd: YOLO txt with a 3-class list); neither may crash or
// abort, and every box they accept must be finite, have an area and, where the image
// size is known, lie inside the image.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/box_prompts.h"

static void check_box(const sam::detector_box &b, int w, int h) {
    for (double v : b.bbox)
        if (!std::isfinite(v)) std::abort();
    if (!(b.bbox[2] > 0 && b.bbox[3] > 0)) std::abort();
    if (w > 0 && (b.bbox[0] < 0 || b.bbox[1] < 0 || b.bbox[0] + b.bbox[2] > w + 1e-6 || b.bbox[1] + b.bbox[3] > h + 1e-6))
        std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 1 << 16) return 0;
    std::string text((const char *)data + 1, size - 1);
    std::vector<std::string> problems;
    if (data[0] % 2 == 0) {
        sam::detector_boxes d;
        sam::status st = sam::parse_coco_boxes(text, "fuzz.json", d, problems);
        if (!st.ok() && !d.boxes.empty()) std::abort();
        for (const sam::detector_box &b : d.boxes) {
            int w = 0, h = 0;
            for (const sam::detector_image &im : d.images)
                if (im.id == b.image_id) w = im.width, h = im.height;
            if (!d.images.empty() && w == 0) std::abort();  // dataset files only keep boxes on known images
            check_box(b, w, h);
        }
    } else {
        const std::vector<std::string> classes = sam::parse_yolo_classes("a\nb\nc\n");
        std::vector<sam::detector_box> out;
        sam::parse_yolo_boxes(text, "fuzz.txt", "fuzz", 640, 480, classes, out, problems);
        for (const sam::detector_box &b : out) {
            check_box(b, 640, 480);
            if (b.category_id < 1 || b.category_id > 3) std::abort();
        }
        sam::parse_yolo_classes(text);
    }
    for (const std::string &p : problems)
        if (p.empty()) std::abort();
    return 0;
}
