// YOLO segmentation labels: written polygon -> mask IoU >= 0.98 (holes, parts, thin parts,
// borders), text round trip through the parser and the importer, malformed lines reported
// as file:line, data.yaml forms, export file names.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/annotation_document.h"
#include "core/polygon.h"
#include "core/rle.h"
#include "core/yolo_seg.h"
#include "mask_shapes.h"

namespace {

// One image per mask, categories "a" and "b" alternating.
sam::annotation_document document_of(const std::vector<mask_shapes::named_mask> &masks) {
    sam::annotation_document doc;
    int64_t cat[2] = {0, 0};
    REQUIRE(doc.add_category("a", {1, 2, 3}, &cat[0]).ok());
    REQUIRE(doc.add_category("b", {4, 5, 6}, &cat[1]).ok());
    for (size_t i = 0; i < masks.size(); i++) {
        int64_t id = 0;
        REQUIRE(doc.add_image({0, "img" + std::to_string(i) + ".jpg", masks[i].m.width, masks[i].m.height}, &id).ok());
        sam::annotation a;
        a.image_id = id;
        a.category_id = cat[i % 2];
        a.mask = sam::mask_to_rle(masks[i].m);
        REQUIRE(doc.add_annotation(a).ok());
    }
    return doc;
}

}  // namespace

TEST_CASE("yolo_seg: the written polygon rasterises back to the mask, IoU >= 0.98") {
    for (const auto &c : mask_shapes::polygon_test_masks()) {
        CAPTURE(c.name);
        const sam::rle r = sam::mask_to_rle(c.m);
        bool exact = false;
        const sam::polygon p = sam::yolo_seg_polygon(r, 1.0, 0.98, &exact);
        if (sam::rle_area(r) == 0) {
            CHECK(p.xy.empty());
            continue;
        }
        REQUIRE(p.xy.size() >= 6);
        const double v = mask_shapes::iou(sam::polygons_to_mask({p}, c.m.height, c.m.width), c.m);
        const double centres = mask_shapes::iou(mask_shapes::rasterise_centres(p, c.m.width, c.m.height, false), c.m);
        MESSAGE(c.name << ": " << p.xy.size() / 2 << " points, IoU " << v << " (centre sampling " << centres << ")"
                       << std::string(exact ? ", exact corners" : ""));
        CHECK(v >= 0.98);
        CHECK(centres >= 0.98);
        // Tolerance 0: exact.
        const sam::polygon e = sam::yolo_seg_polygon(r, 0.0, 0.98, &exact);
        CHECK(exact);
        CHECK(sam::polygons_to_mask({e}, c.m.height, c.m.width).data == c.m.data);
    }
}

TEST_CASE("yolo_seg: labels text -> parser -> importer gives the masks back (IoU >= 0.98)") {
    const auto masks = mask_shapes::polygon_test_masks();
    const sam::annotation_document doc = document_of(masks);
    sam::annotation_document back;
    std::vector<sam::yolo_label_file> files;
    size_t lines = 0;
    for (size_t i = 0; i < doc.images().size(); i++) {
        const sam::doc_image &im = doc.images()[i];
        REQUIRE(back.add_image(im).ok());
        sam::yolo_seg_export_report rep;
        const std::string txt = sam::yolo_seg_labels(doc, im.id, {}, rep);
        CHECK(rep.empty_skipped == 0);
        lines += rep.instances;
        // One instance, one line, whatever the holes and parts.
        CHECK(std::count(txt.begin(), txt.end(), '\n') == 1);
        CHECK(txt.compare(0, 2, i % 2 ? "1 " : "0 ") == 0);
        std::vector<sam::yolo_seg_instance> inst;
        std::vector<std::string> problems;
        sam::parse_yolo_seg(txt, "img.txt", im.width, im.height, 2, inst, problems);
        CHECK(problems.empty());
        REQUIRE(inst.size() == 1);
        for (size_t k = 0; k < inst[0].xy.xy.size(); k++)
            CHECK((inst[0].xy.xy[k] >= 0 && inst[0].xy.xy[k] <= (k % 2 ? im.height : im.width)));
        CAPTURE(masks[i].name);
        CHECK(mask_shapes::iou(sam::polygons_to_mask({inst[0].xy}, im.height, im.width), masks[i].m) >= 0.98);
        files.push_back({"img" + std::to_string(i) + ".txt", txt});
    }
    CHECK(lines == masks.size());
    back.clear_history();
    sam::yolo_seg_import_report rep;
    REQUIRE(sam::yolo_seg_import(back, files, {"a", "b"}, rep).ok());
    CHECK(rep.problems.empty());
    CHECK(rep.unmatched.empty());
    CHECK(rep.files_matched == masks.size());
    CHECK(rep.annotations_added == masks.size());
    CHECK(rep.categories_added == 2);
    CHECK(back.undo_depth() == 1);  // one undo step
    REQUIRE(back.annotations().size() == masks.size());
    for (size_t i = 0; i < masks.size(); i++) {
        CAPTURE(masks[i].name);
        const sam::annotation &a = back.annotations()[i];
        CHECK(back.find_category(a.category_id)->name == (i % 2 ? "b" : "a"));
        CHECK(mask_shapes::iou(sam::rle_to_mask(a.mask), masks[i].m) >= 0.98);
    }
    back.undo();
    CHECK(back.annotations().empty());
    CHECK(back.categories().empty());
}

TEST_CASE("yolo_seg: malformed lines are skipped and reported as file:line") {
    const std::string txt =
        "0 0.1 0.1 0.9 0.1 0.5 0.9\n"       // 1 ok
        "\n"                                // 2 blank
        "# a comment\n"                     // 3
        "1 0.5 0.5 0.2 0.2\n"               // 4 a box line
        "0 0.1 0.1 0.9 0.1 0.5\n"           // 5 odd
        "0 0.1 0.1\n"                       // 6 one point
        "3 0.1 0.1 0.9 0.1 0.5 0.9\n"       // 7 class out of range
        "-1 0.1 0.1 0.9 0.1 0.5 0.9\n"      // 8 negative class
        "0.5 0.1 0.1 0.9 0.1 0.5 0.9\n"     // 9 fractional class
        "0 12 40 300 40 150 200\n"          // 10 pixels
        "0 0.1 0.1 0.9 abc 0.5 0.9\n"       // 11 not a number
        "0 0.1 nan 0.9 0.1 0.5 0.9\n"       // 12 nan
        "1 0.2 0.2 0.8 0.2 0.8 0.8 0.2 0.8 # trailing comment\r\n"  // 13 ok, CRLF
        "0 1.0000001 0 1 1 0 1";            // 14 ok: rounding slack, no final newline
    std::vector<sam::yolo_seg_instance> inst;
    std::vector<std::string> problems;
    sam::parse_yolo_seg(txt, "labels/cat.txt", 200, 100, 2, inst, problems);
    REQUIRE(inst.size() == 3);
    CHECK(inst[0].line == 1);
    CHECK(inst[1].line == 13);
    CHECK(inst[2].line == 14);
    CHECK(inst[1].class_index == 1);
    CHECK(inst[0].xy.xy == std::vector<float>{20, 10, 180, 10, 100, 90});
    CHECK(inst[2].xy.xy[0] == 200.0f);  // clamped to the edge
    REQUIRE(problems.size() == 9);
    const char *expect[] = {"labels/cat.txt:4: 5 numbers is a detection box",
                            "labels/cat.txt:5: odd number of coordinates (5)",
                            "labels/cat.txt:6: a polygon needs at least 3 points, got 1",
                            "labels/cat.txt:7: class 3 is not in the class list (2 names)",
                            "labels/cat.txt:8: class must be a non-negative integer",
                            "labels/cat.txt:9: class must be a non-negative integer",
                            "labels/cat.txt:10: x1 = 12: coordinates must be normalised to [0, 1]",
                            "labels/cat.txt:11: \"abc\" is not a number",
                            "labels/cat.txt:12: \"nan\" is not a number"};
    for (size_t i = 0; i < 9; i++) {
        CAPTURE(problems[i]);
        CHECK(problems[i].compare(0, std::string(expect[i]).size(), expect[i]) == 0);
    }
    // No class list: any class goes; an empty file gives nothing.
    inst.clear();
    problems.clear();
    sam::parse_yolo_seg("7 0 0 1 0 1 1\n", "x.txt", 10, 10, 0, inst, problems);
    CHECK(inst.size() == 1);
    sam::parse_yolo_seg("", "x.txt", 10, 10, 0, inst, problems);
    CHECK(problems.empty());
}

TEST_CASE("yolo_seg: data.yaml names as block list, flow list, index map; errors name the line") {
    std::vector<std::string> names, problems;
    SUBCASE("written by us") {
        sam::annotation_document doc;
        REQUIRE(doc.add_category("cat", {}).ok());
        REQUIRE(doc.add_category("say \"hi\": #1 \xC3\xA9", {}).ok());
        REQUIRE(sam::parse_yolo_data_yaml(sam::yolo_seg_data_yaml(doc), "data.yaml", names, problems).ok());
        CHECK(names == std::vector<std::string>{"cat", "say \"hi\": #1 \xC3\xA9"});
        CHECK(problems.empty());
    }
    SUBCASE("Ultralytics' forms") {
        REQUIRE(sam::parse_yolo_data_yaml("path: ../d\ntrain: images/train\nnames:\n  0: person\n  1: 'bi''cycle'\n  2: \"car\"  # c\n",
                                          "a.yaml", names, problems).ok());
        CHECK(names == std::vector<std::string>{"person", "bi'cycle", "car"});
        REQUIRE(sam::parse_yolo_data_yaml("nc: 2\nnames: ['a b', \"c\\u00e9\"]  # flow\n", "b.yaml", names, problems).ok());
        CHECK(names == std::vector<std::string>{"a b", "c\xC3\xA9"});
        REQUIRE(sam::parse_yolo_data_yaml("names:\n- x\n- y # comment\nnc: 3\n", "c.yaml", names, problems).ok());
        CHECK(names == std::vector<std::string>{"x", "y"});
        REQUIRE(problems.size() == 1);  // nc 3 vs 2 names
        CHECK(problems[0] == "c.yaml: nc is 3 but names lists 2 classes; using the names");
        REQUIRE(sam::parse_yolo_data_yaml("names: {0: a,\n  1: b}\n", "d.yaml", names, problems).ok());
        CHECK(names == std::vector<std::string>{"a", "b"});
    }
    SUBCASE("refused") {
        sam::status st = sam::parse_yolo_data_yaml("train: x\n", "e.yaml", names, problems);
        CHECK(st.message == "e.yaml: no `names:` with the class names");
        st = sam::parse_yolo_data_yaml("nc: 2\nnames:\n  0: a\n  2: c\n", "f.yaml", names, problems);
        CHECK(st.message == "f.yaml:2: names: class index 1 is missing");
        st = sam::parse_yolo_data_yaml("names:\n  0: a\n  x: c\n", "g.yaml", names, problems);
        CHECK(st.message.find("g.yaml:3: names: map keys must be class indices") == 0);
        st = sam::parse_yolo_data_yaml("names: [a, 'b\n", "h.yaml", names, problems);
        CHECK(st.message == "h.yaml:1: names: unterminated single-quoted name");
        st = sam::parse_yolo_data_yaml("names: cat\n", "i.yaml", names, problems);
        CHECK(st.message == "i.yaml:1: names: expected a list or a map of class names");
    }
}

TEST_CASE("yolo_seg: data.yaml and labels of a document") {
    sam::annotation_document doc;
    int64_t a = 0, b = 0, im = 0;
    REQUIRE(doc.add_category("cat", {}, &a).ok());
    REQUIRE(doc.add_category("dog", {}, &b).ok());
    REQUIRE(doc.add_image({0, "x.jpg", 10, 4}, &im).ok());
    CHECK(sam::yolo_seg_data_yaml(doc).find("nc: 2\nnames:\n  0: \"cat\"\n  1: \"dog\"\n") != std::string::npos);
    sam::binary_mask m(10, 4);
    mask_shapes::paint_rect(m, 0, 0, 5, 2);
    sam::annotation ann;
    ann.image_id = im;
    ann.category_id = b;
    ann.mask = sam::mask_to_rle(m);
    REQUIRE(doc.add_annotation(ann).ok());
    int64_t hidden_id = 0;
    REQUIRE(doc.add_annotation(ann, &hidden_id).ok());
    REQUIRE(doc.set_annotation_hidden(hidden_id, true).ok());
    sam::yolo_seg_export_report rep;
    // A rectangle: 4 corners, normalised by width 10 and height 4, trailing zeros cut.
    CHECK(sam::yolo_seg_labels(doc, im, {}, rep) == "1 0.5 0 0.5 0.5 0 0.5 0 0\n1 0.5 0 0.5 0.5 0 0.5 0 0\n");
    sam::yolo_seg_options no_hidden;
    no_hidden.include_hidden = false;
    CHECK(sam::yolo_seg_labels(doc, im, no_hidden, rep) == "1 0.5 0 0.5 0.5 0 0.5 0 0\n");
}

TEST_CASE("yolo_seg: export stems stay inside the folder and are unique") {
    sam::annotation_document doc;
    for (const char *f : {"cat.jpg", "cat.png", "val/dog.jpg", "../../etc/passwd", "a\\b\\c.jpeg", "/abs/x.jpg",
                          "noext", ".hidden", "..", "v1.2/p.q.jpg", "images/rocket.jpg"})
        REQUIRE(doc.add_image({0, f, 4, 4}).ok());
    std::vector<std::string> warnings;
    const std::vector<std::string> s = sam::export_stems(doc, &warnings);
    CHECK(s == std::vector<std::string>{"cat_jpg", "cat_png", "val/dog", "etc/passwd", "a/b/c", "abs/x", "noext",
                                        ".hidden", "image_9", "v1.2/p.q", "rocket"});
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("cat.jpg -> cat_jpg, cat.png -> cat_png") != std::string::npos);
    // The importer finds images by those stems, or by a unique base stem.
    sam::yolo_seg_import_report rep;
    REQUIRE(sam::yolo_seg_import(doc, {{"cat_png.txt", "0 0 0 1 0 1 1\n"}, {"dog.txt", "0 0 0 1 0 1 1\n"},
                                       {"cat.txt", "0 0 0 1 0 1 1\n"}, {"other/zebra.txt", ""}},
                                 {}, rep)
                .ok());
    CHECK(rep.files_matched == 2);
    CHECK(rep.unmatched == std::vector<std::string>{"cat.txt", "other/zebra.txt"});  // cat: two candidates
    REQUIRE(doc.annotations().size() == 2);
    CHECK(doc.find_image(doc.annotations()[0].image_id)->file_name == "cat.png");
    CHECK(doc.find_image(doc.annotations()[1].image_id)->file_name == "val/dog.jpg");
    CHECK(doc.find_category(doc.annotations()[0].category_id)->name == "0");
}
