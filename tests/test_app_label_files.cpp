// Training-data formats in the app's logic, natively: the export menu's ZIPs are the
// core's export_zip of the document; YOLO segmentation labels dropped on the app (loose
// files with data.yaml, a folder's paths, a .zip) come back as annotations of the images
// they name, as one undo step; box label files still run as detector boxes; the rule that
// tells the two apart.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "app/annotator.h"
#include "app_test_platform.h"
#include "app_test_session.h"
#include "core/rle.h"
#include "core/zip_reader.h"

using namespace sam;

namespace {

std::vector<uint8_t> bytes_of(const std::string &s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// One drop of text files, in this order.
void drop(annotator &app, const std::vector<std::pair<std::string, std::string>> &files) {
    for (const auto &f : files) annotator_add_local_file(app, f.first, bytes_of(f.second));
    annotator_local_files_done(app);
}

// Two accepted discs on image 1 and one on image 2, categories "cat" and "dog".
void annotate(test::session &t) {
    annotator &app = *t.app;
    std::string error;
    annotator_set_prompt(app, prompt_shape{{click_point{200, 150, 1}}});
    t.settle();
    REQUIRE(annotator_accept_api(app, R"({"category": "cat"})", error) > 0);
    annotator_set_prompt(app, prompt_shape{{click_point{450, 300, 1}}});
    t.settle();
    REQUIRE(annotator_accept_api(app, R"({"category": "dog"})", error) > 0);
    annotator_open_image(app, 1);
    t.settle();
    annotator_set_prompt(app, prompt_shape{{click_point{100, 100, 1}}});
    t.settle();
    REQUIRE(annotator_accept_api(app, R"({"category": "dog"})", error) > 0);
    t.settle();
}

std::map<std::string, std::string> unzip(const std::vector<uint8_t> &zip) {
    std::vector<zip_entry> files;
    std::vector<std::string> notes;
    REQUIRE(zip_read(zip.data(), zip.size(), "export.zip", files, notes).ok());
    std::map<std::string, std::string> out;
    for (const zip_entry &e : files) out[e.name] = std::string(e.data.begin(), e.data.end());
    return out;
}

double iou(const rle &a, const rle &b) {
    const double i = (double)rle_area(rle_merge(a, b, rle_merge_op::intersect));
    return i / (rle_area(a) + rle_area(b) - i);
}

}  // namespace

TEST_CASE("app label files: which files are labels, and of which kind") {
    CHECK(local_file_kind("photo.JPG", {}) == local_kind::image);
    CHECK(local_file_kind("e.npy", {}) == local_kind::embedding);
    CHECK(local_file_kind("labels.zip", {}) == local_kind::zip);
    CHECK(local_file_kind("no_extension", bytes_of("PK\x03\x04...")) == local_kind::zip);
    CHECK(local_file_kind("ds/data.yaml", {}) == local_kind::data_yaml);
    CHECK(local_file_kind("ds/classes.txt", {}) == local_kind::class_names);
    CHECK(local_file_kind("coco.names", {}) == local_kind::class_names);
    CHECK(local_file_kind("labels/cat.txt", {}) == local_kind::labels_txt);
    CHECK(local_file_kind("labels/.DS_Store", {}) == local_kind::other);
    // boxes: 5 numbers (or 6 with a score); segmentation: more than 6 on any line
    CHECK_FALSE(is_yolo_segmentation_text("0 0.5 0.5 0.2 0.2\n1 0.3 0.3 0.1 0.1 0.9\n"));
    CHECK(is_yolo_segmentation_text("0 0.5 0.5 0.2 0.2\n1 0.1 0.1 0.5 0.1 0.5 0.5\n"));
    CHECK_FALSE(is_yolo_segmentation_text("# 0 0.1 0.1 0.5 0.1 0.5 0.5 comment\n\n"));
    CHECK(label_path_in_folder("ds/labels/val/cat.txt") == "val/cat.txt");
    CHECK(label_path_in_folder("labels.zip/yolo_seg/labels/cat.txt") == "cat.txt");
    CHECK(label_path_in_folder("mylabels/cat.txt") == "mylabels/cat.txt");
    CHECK(file_stem("a/b/cat.jpg") == "cat");
}

TEST_CASE("app label files: the export menu's ZIPs are the core's export of the document") {
    test::session t(test::session_options{});
    annotate(t);
    annotator &app = *t.app;
    for (export_format f : {export_format::yolo_seg, export_format::png_masks, export_format::coco}) {
        std::vector<uint8_t> zip, want;
        std::string name;
        export_report rep, want_rep;
        REQUIRE(annotator_export_zip(app, f, true, zip, name, rep).ok());
        REQUIRE(export_zip(app.doc.doc, f, export_options{}, want, want_rep).ok());
        CHECK(zip == want);
        CHECK(name == std::string(export_format_name(f)) + ".zip");
        CHECK(rep.instances == 3);
    }
    // the shown image only
    std::vector<uint8_t> zip;
    std::string name;
    export_report rep;
    REQUIRE(annotator_export_zip(app, export_format::yolo_seg, false, zip, name, rep).ok());
    CHECK(name == "yolo_seg_img1.zip");
    const auto files = unzip(zip);
    CHECK(files.count("yolo_seg/labels/img1.txt"));
    CHECK_FALSE(files.count("yolo_seg/labels/img0.txt"));
    CHECK(rep.instances == 1);
}

TEST_CASE("app label files: YOLO segmentation labels dropped as a ZIP come back as the same annotations") {
    std::vector<uint8_t> zip;
    std::vector<annotation> before;
    std::map<int64_t, std::string> category_names;
    {
        test::session t(test::session_options{});
        annotate(t);
        std::string name;
        export_report rep;
        REQUIRE(annotator_export_zip(*t.app, export_format::yolo_seg, true, zip, name, rep).ok());
        before = t.app->doc.doc.annotations();
        for (const doc_category &c : t.app->doc.doc.categories()) category_names[c.id] = c.name;
    }
    test::session t(test::session_options{});  // a fresh browser and dataset
    annotator &app = *t.app;
    REQUIRE(app.doc.doc.annotations().empty());
    const size_t undo = app.doc.doc.undo_depth();
    annotator_add_local_file(app, "yolo_seg.zip", zip);
    annotator_local_files_done(app);
    t.settle();
    CHECK(app.messages.errors.empty());
    REQUIRE(app.doc.doc.annotations().size() == before.size());
    CHECK(app.doc.doc.undo_depth() == undo + 1);  // one step
    CHECK(app.messages.notices.back() ==
          "Imported 3 annotations from 3 YOLO segmentation label file(s) (class names from yolo_seg.zip/yolo_seg/data.yaml)");
    for (size_t i = 0; i < before.size(); ++i) {
        const annotation &a = app.doc.doc.annotations()[i];
        CHECK(a.image_id == before[i].image_id);
        CHECK(app.doc.doc.find_category(a.category_id)->name == category_names.at(before[i].category_id));
        CHECK(iou(a.mask, before[i].mask) >= 0.98);
    }
    std::vector<std::string> names;
    for (const doc_category &c : app.doc.doc.categories()) names.push_back(c.name);
    CHECK(std::find(names.begin(), names.end(), "cat") != names.end());
    CHECK(std::find(names.begin(), names.end(), "dog") != names.end());
    // saved like any edit: the images' units
    t.settle();
    CHECK(app.save.saved_revision == app.doc.doc.revision());
    annotator_undo(app);
    CHECK(app.doc.doc.annotations().empty());
}

TEST_CASE("app label files: loose label files with data.yaml; problems by file:line; unmatched files said") {
    test::session t(test::session_options{});
    annotator &app = *t.app;
    drop(app, {{"ds/labels/img0.txt", "1 0.1 0.1 0.5 0.1 0.5 0.5 0.1 0.5\n0 0.1 0.1 0.2\n"},
               {"ds/labels/other.txt", "0 0.1 0.1 0.5 0.1 0.5 0.5\n"},
               {"ds/data.yaml", "nc: 2\nnames: [cat, dog]\n"}});
    t.settle();
    REQUIRE(app.doc.doc.annotations().size() == 1);
    const annotation &a = app.doc.doc.annotations()[0];
    CHECK(app.doc.doc.find_category(a.category_id)->name == "dog");
    CHECK(a.image_id == 1);
    CHECK(std::fabs(a.bbox.x - 64) < 1);  // 0.1 x 640
    REQUIRE(app.messages.errors.size() == 1);
    CHECK(app.messages.errors[0].rfind("img0.txt:2: ", 0) == 0);
    CHECK(app.messages.notices.back() == "Imported 1 annotations from 1 YOLO segmentation label file(s) (class names from "
                                         "ds/data.yaml); 1 matched no image (other.txt)");
}

TEST_CASE("app label files: box label files (5 numbers a line) still run as detector boxes on the shown image") {
    test::session t(test::session_options{});
    annotator &app = *t.app;
    drop(app, {{"img1.txt", "0 0.5 0.5 0.2 0.2\n"}, {"img0.txt", "0 0.3 0.3 0.1 0.1 0.9\n0 0.6 0.6 0.1 0.1\n"},
               {"classes.txt", "cup\n"}});
    CHECK(app.detector.file == "img0.txt");  // the shown image's file
    CHECK(app.detector.jobs.size() == 2);
    t.settle();
    REQUIRE(app.doc.doc.annotations().size() == 2);
    CHECK(app.doc.doc.categories().back().name == "cup");  // classes.txt of the same drop, dropped after
    CHECK(app.doc.doc.annotations()[0].source == annotation_source::machine);
}
