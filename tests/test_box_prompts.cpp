// Detector box import (COCO JSON, YOLO txt): values, clipping, and malformed entries
// reported with their file and line, the rest kept.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/box_prompts.h"

namespace {

bool has_problem(const std::vector<std::string> &problems, const std::string &needle) {
    for (const std::string &p : problems)
        if (p.find(needle) != std::string::npos) return true;
    return false;
}

std::string joined(const std::vector<std::string> &v) {
    std::string s;
    for (const std::string &p : v) s += p + "\n";
    return s;
}

}  // namespace

TEST_CASE("box_prompts: COCO dataset file with boxes, scores, categories and bad entries") {
    const std::string text = R"({
 "images": [
  {"id": 1, "file_name": "cat.jpg", "width": 640, "height": 480},
  {"id": 2, "file_name": "dog.png", "width": 300, "height": 200},
  {"id": 3, "file_name": "bad.png", "width": 0, "height": 200}
 ],
 "categories": [{"id": 5, "name": "cat"}, {"id": 7, "name": "dog"}],
 "annotations": [
  {"id": 1, "image_id": 1, "category_id": 5, "bbox": [10, 20, 100, 50], "score": 0.9},
  {"id": 2, "image_id": 2, "category_id": 7, "bbox": [250, -10, 100, 60]},
  {"id": 3, "image_id": 9, "category_id": 7, "bbox": [0, 0, 10, 10]},
  {"id": 4, "image_id": 1, "category_id": 5, "bbox": [0, 0, 10]},
  {"id": 5, "image_id": 1, "category_id": 5,
   "bbox": [0, 0, 0, 10]},
  {"id": 6, "image_id": 1, "bbox": [0, 0, 5, 5]},
  {"id": 7, "image_id": 1, "category_id": 5, "bbox": [700, 10, 5, 5]},
  {"id": 8, "image_id": 1, "category_id": 5, "bbox": [1, 2, 3, 4], "score": "high"},
  {"id": 9, "image_id": 2, "category_id": 99, "bbox": [1.5, 2.5, 3, 4]}
 ]
})";
    sam::detector_boxes d;
    std::vector<std::string> problems;
    sam::status st = sam::parse_coco_boxes(text, "det.json", d, problems);
    REQUIRE_MESSAGE(st.ok(), st.message);
    CAPTURE(joined(problems));
    REQUIRE(d.images.size() == 2);
    CHECK(d.categories.size() == 2);
    REQUIRE(d.boxes.size() == 3);

    const sam::detector_box &a = d.boxes[0];
    CHECK(a.image_id == 1);
    CHECK(a.image == "cat.jpg");
    CHECK(a.category_id == 5);
    CHECK(a.category == "cat");
    CHECK(a.has_score);
    CHECK(a.score == 0.9);
    CHECK(a.bbox[0] == 10);
    CHECK(a.bbox[1] == 20);
    CHECK(a.bbox[2] == 100);
    CHECK(a.bbox[3] == 50);

    // Clipped to the 300x200 image: x 250..300, y 0..50.
    const sam::detector_box &b = d.boxes[1];
    CHECK(b.image == "dog.png");
    CHECK_FALSE(b.has_score);
    CHECK(b.score == 1.0);
    CHECK(b.bbox[0] == 250);
    CHECK(b.bbox[1] == 0);
    CHECK(b.bbox[2] == 50);
    CHECK(b.bbox[3] == 50);

    // An unknown category id is kept (the caller decides), without a name.
    CHECK(d.boxes[2].category_id == 99);
    CHECK(d.boxes[2].category.empty());
    CHECK(d.boxes[2].bbox[0] == 1.5);

    // One problem per bad entry, each with the line where the annotation starts.
    CHECK(problems.size() == 7);
    CHECK(has_problem(problems, "images[2]"));
    CHECK(has_problem(problems, "det.json:11: annotations[2]: image_id 9 is not in images"));
    CHECK(has_problem(problems, "det.json:12: annotations[3]: bbox must be 4 finite numbers"));
    CHECK(has_problem(problems, "det.json:13: annotations[4]: bbox has no area"));
    CHECK(has_problem(problems, "det.json:15: annotations[5]: category_id must be an integer"));
    CHECK(has_problem(problems, "det.json:16: annotations[6]: bbox lies outside"));
    CHECK(has_problem(problems, "det.json:17: annotations[7]: score must be a number"));
}

TEST_CASE("box_prompts: COCO detection results list") {
    // Strings containing brackets, commas and escaped quotes must not confuse the line scan.
    const std::string text = "[{\"image_id\": 3, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": 0.5,"
                             " \"note\": \"a [weird], \\\"quoted\\\" {name}\"},\n"
                             "{\"image_id\": 4, \"category_id\": 2, \"bbox\": [5, 6, 7, 8], \"score\": 0.25},\n"
                             "\n{\"image_id\": 4, \"category_id\": 2, \"bbox\": [5, 6, -7, 8]}]";
    sam::detector_boxes d;
    std::vector<std::string> problems;
    REQUIRE(sam::parse_coco_boxes(text, "res.json", d, problems).ok());
    REQUIRE(d.boxes.size() == 2);
    CHECK(d.images.empty());
    CHECK(d.boxes[0].image_id == 3);
    CHECK(d.boxes[0].image.empty());
    CHECK(d.boxes[1].score == 0.25);
    CHECK(d.boxes[1].bbox[3] == 8);  // no image size known: not clipped
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("res.json:4: [2]: bbox has no area") == 0);
}

TEST_CASE("box_prompts: unusable COCO files are refused whole") {
    sam::detector_boxes d;
    std::vector<std::string> problems;
    CHECK(sam::parse_coco_boxes("{\"annotations\": [", "a.json", d, problems).message == "a.json: not valid JSON");
    CHECK(sam::parse_coco_boxes("{\"images\": []}", "b.json", d, problems).message.find("\"annotations\" must be") !=
          std::string::npos);
    CHECK(sam::parse_coco_boxes("42", "c.json", d, problems).message.find("c.json: expected a COCO object") == 0);
    std::string deep = std::string(100, '[') + std::string(100, ']');
    CHECK(sam::parse_coco_boxes(deep, "d.json", d, problems).message.find("nested deeper") != std::string::npos);
    CHECK(sam::parse_coco_boxes("", "e.json", d, problems).message == "e.json: not valid JSON");
    CHECK(problems.empty());
}

TEST_CASE("box_prompts: YOLO class list and label files") {
    std::vector<std::string> classes = sam::parse_yolo_classes("person\r\n  car \n\nbike\n\n");
    REQUIRE(classes.size() == 4);
    CHECK(classes[0] == "person");
    CHECK(classes[1] == "car");
    CHECK(classes[2].empty());  // a blank line still takes its index
    CHECK(classes[3] == "bike");

    const std::string text =
        "0 0.5 0.5 0.25 0.5\n"        // 1: x 240..400, y 120..360 on 640x480
        "3 0.1 0.1 0.4 0.4 0.75\r\n"  // 2: clipped at the top-left, with a score
        "\n"                          // 3: blank
        "# a comment\n"               // 4
        "1 0.5 0.5 0.2\n"             // 5: too few numbers
        "1 0.5 0.5 0.2 0.2 0.9 7\n"   // 6: too many
        "7 0.5 0.5 0.2 0.2\n"         // 7: class out of range
        "1.5 0.5 0.5 0.2 0.2\n"       // 8: class not an integer
        "1 0.5 abc 0.2 0.2\n"         // 9: not a number
        "1 0.5 0.5 0 0.2\n"           // 10: no area
        "1 320 240 64 48\n"           // 11: pixels instead of normalised
        "1 1.3 0.5 0.1 0.1\n"         // 12: outside
        "-1 0.5 0.5 0.2 0.2\n"        // 13: negative class
        "1 0.5 0.5 0.2 0.2 # inline comment";  // 14: fine, no final newline
    std::vector<sam::detector_box> out;
    std::vector<std::string> problems;
    sam::parse_yolo_boxes(text, "labels/street.txt", "street", 640, 480, classes, out, problems);
    CAPTURE(joined(problems));
    REQUIRE(out.size() == 3);
    CHECK(out[0].image == "street");
    CHECK(out[0].category_id == 1);
    CHECK(out[0].category == "person");
    CHECK_FALSE(out[0].has_score);
    CHECK(out[0].bbox[0] == doctest::Approx(240));
    CHECK(out[0].bbox[1] == doctest::Approx(120));
    CHECK(out[0].bbox[2] == doctest::Approx(160));
    CHECK(out[0].bbox[3] == doctest::Approx(240));
    // cx 0.1 w 0.4 -> x -64..192, clipped to 0..192
    CHECK(out[1].category == "bike");
    CHECK(out[1].score == 0.75);
    CHECK(out[1].bbox[0] == 0);
    CHECK(out[1].bbox[2] == doctest::Approx(192));
    CHECK(out[1].bbox[3] == doctest::Approx(144));
    CHECK(out[2].category == "car");

    CHECK(problems.size() == 9);
    CHECK(has_problem(problems, "labels/street.txt:5: expected 5 or 6 numbers (class cx cy w h [score]), got 4"));
    CHECK(has_problem(problems, "labels/street.txt:6: expected 5 or 6 numbers"));
    CHECK(has_problem(problems, "labels/street.txt:7: class 7 is not in the class list (4 classes)"));
    CHECK(has_problem(problems, "labels/street.txt:8: class must be a non-negative integer"));
    CHECK(has_problem(problems, "labels/street.txt:9: not a number"));
    CHECK(has_problem(problems, "labels/street.txt:10: box has no area"));
    CHECK(has_problem(problems, "labels/street.txt:11: coordinates must be normalised"));
    CHECK(has_problem(problems, "labels/street.txt:12: box lies outside the image"));
    CHECK(has_problem(problems, "labels/street.txt:13: class must be a non-negative integer"));

    // Without a class list any class is accepted, unnamed.
    out.clear();
    problems.clear();
    sam::parse_yolo_boxes("12 0.5 0.5 0.5 0.5\n", "a.txt", "a", 100, 100, {}, out, problems);
    REQUIRE(out.size() == 1);
    CHECK(out[0].category_id == 13);
    CHECK(out[0].category.empty());
    CHECK(problems.empty());
}

TEST_CASE("box_prompts: clip_box_to_image") {
    double b[4] = {-5, -5, 20, 20};
    CHECK(sam::clip_box_to_image(b, 10, 8));
    CHECK(b[0] == 0);
    CHECK(b[1] == 0);
    CHECK(b[2] == 10);
    CHECK(b[3] == 8);
    double out[4] = {10, 0, 5, 5};
    CHECK_FALSE(sam::clip_box_to_image(out, 10, 8));
    CHECK(out[0] == 10);  // unchanged
    double nan[4] = {0, 0, 0.0 / 0.0, 5};
    CHECK_FALSE(sam::clip_box_to_image(nan, 10, 8));
}
