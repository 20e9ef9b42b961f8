// export_zip / export_dataset: every format as one archive (read back with
// tests/zip_reader.h), file layout, 8- vs 16-bit instance maps, hostile file names.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/dataset_export.h"
#include "core/rle.h"
#include "mask_shapes.h"
#include "zip_reader.h"

namespace {

std::string text_of(const std::vector<uint8_t> &b) { return std::string(b.begin(), b.end()); }

// Two images; the first with `n` small squares (1 px apart) in two categories.
sam::annotation_document squares(int n) {
    sam::annotation_document doc;
    int64_t a = 0, b = 0, im = 0, im2 = 0;
    REQUIRE(doc.add_category("a", {1, 1, 1}, &a).ok());
    REQUIRE(doc.add_category("b", {2, 2, 2}, &b).ok());
    REQUIRE(doc.add_image({0, "photos/one.jpg", 200, 100}, &im).ok());
    REQUIRE(doc.add_image({0, "../two.png", 20, 10}, &im2).ok());
    for (int k = 0; k < n; k++) {
        sam::binary_mask m(200, 100);
        mask_shapes::paint_rect(m, (k % 50) * 4, (k / 50) * 4, (k % 50) * 4 + 3, (k / 50) * 4 + 3);
        sam::annotation ann;
        ann.image_id = im;
        ann.category_id = k % 3 ? a : b;
        ann.mask = sam::mask_to_rle(m);
        REQUIRE(doc.add_annotation(ann).ok());
    }
    return doc;
}

}  // namespace

TEST_CASE("dataset_export: yolo_seg archive") {
    const sam::annotation_document doc = squares(5);
    std::vector<uint8_t> zip;
    sam::export_report rep;
    REQUIRE(sam::export_zip(doc, sam::export_format::yolo_seg, {}, zip, rep).ok());
    std::vector<std::string> order;
    const auto files = zip_reader::read(zip, &order);
    CHECK(order == std::vector<std::string>{"yolo_seg/data.yaml", "yolo_seg/labels/photos/one.txt", "yolo_seg/labels/two.txt"});
    CHECK(text_of(files.at("yolo_seg/data.yaml")) == sam::yolo_seg_data_yaml(doc));
    sam::yolo_seg_export_report yr;
    CHECK(text_of(files.at("yolo_seg/labels/photos/one.txt")) == sam::yolo_seg_labels(doc, doc.images()[0].id, {}, yr));
    CHECK(files.at("yolo_seg/labels/two.txt").empty());  // an image without annotations: an empty label file
    CHECK((rep.images == 2 && rep.instances == 5 && rep.files == 3 && rep.warnings.empty()));
    // The first square, class 0 ("a" is category 0; k = 0 has k % 3 == 0 -> "b" = class 1).
    CHECK(text_of(files.at("yolo_seg/labels/photos/one.txt")).compare(0, 2, "1 ") == 0);
}

TEST_CASE("dataset_export: png_masks archive, 8-bit then 16-bit instance maps") {
    for (int n : {255, 256}) {
        CAPTURE(n);
        const sam::annotation_document doc = squares(n);
        std::vector<uint8_t> zip;
        sam::export_report rep;
        REQUIRE(sam::export_zip(doc, sam::export_format::png_masks, {}, zip, rep).ok());
        CHECK(rep.instance_bit_depth == (n < 256 ? 8 : 16));
        CHECK(rep.instances == (size_t)n);
        std::vector<std::string> order;
        const auto files = zip_reader::read(zip, &order);
        CHECK(order == std::vector<std::string>{"png_masks/instances/photos/one.png", "png_masks/semantic/photos/one.png",
                                                "png_masks/instances/two.png", "png_masks/semantic/two.png",
                                                "png_masks/legend.json"});
        const std::vector<uint8_t> &png = files.at("png_masks/instances/photos/one.png");
        REQUIRE(png.size() > 33);
        CHECK(png[24] == (n < 256 ? 8 : 16));  // IHDR bit depth
        CHECK(png[25] == 0);                   // greyscale
        CHECK(files.at("png_masks/semantic/photos/one.png")[24] == 8);
        const nlohmann::json legend = nlohmann::json::parse(text_of(files.at("png_masks/legend.json")));
        CHECK(legend["instance_maps"]["bit_depth"] == (n < 256 ? 8 : 16));
        CHECK(legend["images"][0]["instances"].size() == (size_t)n);
        CHECK(legend["images"][1]["instance_map"] == "instances/two.png");
    }
}

TEST_CASE("dataset_export: coco archive and the format names") {
    const sam::annotation_document doc = squares(3);
    std::vector<uint8_t> zip;
    sam::export_report rep;
    REQUIRE(sam::export_zip(doc, sam::export_format::coco, {}, zip, rep).ok());
    const auto files = zip_reader::read(zip);
    CHECK(text_of(files.at("coco/annotations.json")) == sam::coco_export(doc, {}));
    CHECK((rep.images == 2 && rep.instances == 3));
    sam::export_format f = sam::export_format::coco;
    CHECK(sam::export_format_from_name("png_masks", f));
    CHECK(f == sam::export_format::png_masks);
    CHECK_FALSE(sam::export_format_from_name("voc", f));
    // image_id selects one image in every format.
    sam::export_options one;
    one.coco.image_id = doc.images()[1].id;
    REQUIRE(sam::export_zip(doc, sam::export_format::yolo_seg, one, zip, rep).ok());
    CHECK(zip_reader::read(zip).size() == 2);  // data.yaml + labels/two.txt
}
