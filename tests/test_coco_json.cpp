// Tests of COCO JSON export/import: RLE strings byte-identical to pycocotools (reference
// coco_rle/rle.json), uncompressed RLE from SAM's AMG (amg_rle.json), round trips with our
// extra "sam" fields, polygon fallback for holes, matching on import, and refusals that
// name the field.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/annotation_document.h"
#include "core/coco_json.h"
#include "core/polygon.h"
#include "core/rle.h"
#include "reference_data.h"

using nlohmann::json;

namespace {

sam::binary_mask mask_from_npy(const sam::npy_array &a, size_t index = 0) {
    int h = (int)a.shape[a.shape.size() - 2], w = (int)a.shape[a.shape.size() - 1];
    sam::binary_mask m(w, h);
    for (size_t i = 0; i < m.data.size(); i++) m.data[i] = a.data[index * m.data.size() + i] ? 1 : 0;
    return m;
}

json load_json(const std::string &rel) {
    std::vector<uint8_t> b = read_file_bytes(reference_path(rel));
    REQUIRE_MESSAGE(!b.empty(), "missing " << rel);
    json j = json::parse(b.begin(), b.end(), nullptr, false);
    REQUIRE(!j.is_discarded());
    return j;
}

double iou(const sam::binary_mask &a, const sam::binary_mask &b) {
    REQUIRE(a.data.size() == b.data.size());
    size_t i = 0, u = 0;
    for (size_t k = 0; k < a.data.size(); k++) {
        i += a.data[k] & b.data[k];
        u += a.data[k] | b.data[k];
    }
    return u ? (double)i / (double)u : 1.0;
}

// One document holding every reference coco_rle mask, each on its own image.
struct reference_doc {
    sam::annotation_document doc;
    std::vector<std::string> names;
    std::vector<sam::binary_mask> masks;
    reference_doc() {
        json ref = load_json("coco_rle/rle.json");
        int64_t cat = 0;
        REQUIRE(doc.add_category("thing", {10, 20, 30}, &cat).ok());
        for (const json &r : ref) {
            std::string name = r["name"].get<std::string>();
            sam::binary_mask m = mask_from_npy(load_reference("masks", name));
            int64_t img = 0;
            REQUIRE(doc.add_image({0, name + ".png", m.width, m.height}, &img).ok());
            sam::annotation a;
            a.image_id = img;
            a.category_id = cat;
            a.mask = sam::mask_to_rle(m);
            a.score = 0.5 + 0.01 * (double)names.size();
            a.source = names.size() % 2 ? sam::annotation_source::machine : sam::annotation_source::human;
            a.hidden = names.size() == 3;
            a.prompts.points = {{1.5, 2.5, 1}, {3, 4, 0}};
            a.prompts.has_box = names.size() == 2;
            a.prompts.box_xyxy[2] = 7;
            REQUIRE(doc.add_annotation(a).ok());
            names.push_back(name);
            masks.push_back(m);
        }
    }
};

std::string import_error(const std::string &text) {
    sam::annotation_document d;
    sam::coco_import_report rep;
    sam::status st = sam::coco_import(text, "coco.json", d, rep);
    if (!st.ok()) CHECK(d.revision() == 0);  // refused files change nothing
    return st.message;
}

}  // namespace

TEST_CASE("coco_json: RLE export is byte-identical to pycocotools and round-trips") {
    reference_doc r;
    json ref = load_json("coco_rle/rle.json");
    sam::coco_export_options opt;
    opt.segmentation = sam::coco_segmentation::rle;
    std::string text = sam::coco_export(r.doc, opt);
    json out = json::parse(text, nullptr, false);
    REQUIRE(!out.is_discarded());
    REQUIRE(out["annotations"].size() == ref.size());
    for (size_t i = 0; i < ref.size(); i++) {
        CAPTURE(r.names[i]);
        const json &a = out["annotations"][i];
        CHECK(a["segmentation"]["counts"] == ref[i]["counts"]);
        CHECK(a["segmentation"]["size"] == ref[i]["size"]);
        CHECK(a["area"] == ref[i]["area"]);
        CHECK(a["iscrowd"] == 0);
        CHECK(a["bbox"].size() == 4);
    }
    CHECK(out["images"].size() == ref.size());
    CHECK(out["categories"][0]["name"] == "thing");
    CHECK(out["categories"][0]["sam"]["color"] == json::array({10, 20, 30}));

    sam::annotation_document back;
    sam::coco_import_report rep;
    sam::status st = sam::coco_import(text, "coco.json", back, rep);
    REQUIRE_MESSAGE(st.ok(), st.message);
    CHECK(rep.annotations_added == ref.size());
    CHECK(rep.images_added == ref.size());
    CHECK(rep.annotations_renumbered == 0);
    // the re-import exports to the very same text: nothing lost, ids and order kept
    CHECK(sam::coco_export(back, opt) == text);
    for (size_t i = 0; i < r.masks.size(); i++) {
        const sam::annotation &a = back.annotations()[i];
        const sam::annotation &o = r.doc.annotations()[i];
        CHECK(a.mask.counts == o.mask.counts);
        CHECK(a.score == o.score);
        CHECK(a.source == o.source);
        CHECK(a.hidden == o.hidden);
        CHECK(a.prompts.points.size() == 2);
        CHECK(a.prompts.has_box == o.prompts.has_box);
    }
    CHECK(back.categories()[0].color == sam::rgb8{10, 20, 30});
    CHECK(back.undo_depth() == 1);  // the whole import is one step
    REQUIRE(back.undo());
    CHECK(back.annotations().empty());
    CHECK(back.images().empty());
}

TEST_CASE("coco_json: uncompressed RLE (SAM's mask_to_rle_pytorch counts) imports exactly") {
    json amg = load_json("amg/amg_rle.json");
    sam::npy_array masks = load_reference("amg", "rle_masks");
    json coco = {{"images", {{{"id", 1}, {"file_name", "a.png"}, {"width", 53}, {"height", 37}}}},
                 {"categories", {{{"id", 1}, {"name", "x"}}}},
                 {"annotations", json::array()}};
    for (size_t i = 0; i < amg["rle"].size(); i++)
        coco["annotations"].push_back({{"id", i + 1},
                                       {"image_id", 1},
                                       {"category_id", 1},
                                       {"segmentation", {{"size", amg["rle"][i]["size"]}, {"counts", amg["rle"][i]["counts"]}}}});
    sam::annotation_document d;
    sam::coco_import_report rep;
    sam::status st = sam::coco_import(coco.dump(), "amg.json", d, rep);
    REQUIRE_MESSAGE(st.ok(), st.message);
    REQUIRE(d.annotations().size() == amg["rle"].size());
    for (size_t i = 0; i < d.annotations().size(); i++) {
        CHECK(d.annotations()[i].area == amg["rle"][i]["area"].get<double>());
        sam::binary_mask m = sam::rle_to_mask(d.annotations()[i].mask);
        CHECK(m.data == mask_from_npy(masks, i).data);
    }
    CHECK(rep.rle_annotations == amg["rle"].size());
}

TEST_CASE("coco_json: polygon export, with RLE where polygons would lose holes") {
    sam::binary_mask blobs = mask_from_npy(load_reference("masks", "blobs_120x160"));
    sam::binary_mask ring(100, 80);
    for (int y = 0; y < 80; y++)
        for (int x = 0; x < 100; x++) {
            int d2 = (x - 50) * (x - 50) + (y - 40) * (y - 40);
            ring.at(x, y) = d2 <= 30 * 30 && d2 > 12 * 12;
        }
    sam::binary_mask disk = ring;
    for (int y = 0; y < 80; y++)
        for (int x = 0; x < 100; x++) disk.at(x, y) = (x - 50) * (x - 50) + (y - 40) * (y - 40) <= 30 * 30;

    sam::annotation_document d;
    int64_t cat = 0, i1 = 0, i2 = 0;
    REQUIRE(d.add_category("c", {}, &cat).ok());
    REQUIRE(d.add_image({0, "blobs.png", blobs.width, blobs.height}, &i1).ok());
    REQUIRE(d.add_image({0, "ring.png", 100, 80}, &i2).ok());
    std::vector<std::pair<int64_t, sam::binary_mask *>> items = {{i1, &blobs}, {i2, &ring}, {i2, &disk}};
    for (auto &it : items) {
        sam::annotation a;
        a.image_id = it.first;
        a.category_id = cat;
        a.mask = sam::mask_to_rle(*it.second);
        REQUIRE(d.add_annotation(a).ok());
    }
    std::string text = sam::coco_export(d, {});
    json out = json::parse(text, nullptr, false);
    const json &anns = out["annotations"];
    CHECK(anns[1]["segmentation"].is_object());  // ring: a hole -> RLE
    CHECK(anns[2]["segmentation"].is_array());   // disk: polygon
    CHECK(anns[2]["segmentation"].size() == 1);

    sam::annotation_document back;
    sam::coco_import_report rep;
    sam::status st = sam::coco_import(text, "poly.json", back, rep);
    REQUIRE_MESSAGE(st.ok(), st.message);
    CHECK(rep.rle_annotations + rep.polygon_annotations == 3);
    CHECK(rep.rle_annotations >= 1);
    for (size_t i = 0; i < items.size(); i++) {
        CAPTURE(i);
        sam::binary_mask m = sam::rle_to_mask(back.annotations()[i].mask);
        CHECK(iou(m, *items[i].second) >= 0.98);
        if (anns[i]["segmentation"].is_object()) CHECK(m.data == items[i].second->data);
    }

    SUBCASE("one image only") {
        sam::coco_export_options o;
        o.image_id = i2;
        json one = json::parse(sam::coco_export(d, o), nullptr, false);
        CHECK(one["images"].size() == 1);
        CHECK(one["images"][0]["file_name"] == "ring.png");
        CHECK(one["annotations"].size() == 2);
        for (const json &a : one["annotations"]) CHECK(a["image_id"] == i2);
    }
}

TEST_CASE("coco_json: import matches images and categories, renumbers taken ids") {
    reference_doc r;
    std::string text = sam::coco_export(r.doc, {});
    // Importing a document's own export again: images and categories match, annotations are
    // added again with fresh ids.
    sam::coco_import_report rep;
    size_t n = r.doc.annotations().size();
    sam::status st = sam::coco_import(text, "again.json", r.doc, rep);
    REQUIRE_MESSAGE(st.ok(), st.message);
    CHECK(rep.images_matched == r.names.size());
    CHECK(rep.images_added == 0);
    CHECK(rep.categories_matched == 1);
    CHECK(rep.annotations_renumbered == n);
    CHECK(r.doc.annotations().size() == 2 * n);
    CHECK(r.doc.images().size() == r.names.size());

    // a known file with another size is refused, naming the image
    json j = json::parse(text, nullptr, false);
    j["images"][2]["width"] = j["images"][2]["width"].get<int>() + 1;
    sam::annotation_document &doc = r.doc;
    uint64_t rev = doc.revision();
    st = sam::coco_import(j.dump(), "coco.json", doc, rep);
    CHECK(st.message.find("coco.json: images[2]: ") == 0);
    CHECK(doc.revision() == rev);
}

TEST_CASE("coco_json: malformed files are refused with the field and the reason") {
    json good = {{"images", {{{"id", 1}, {"file_name", "a.png"}, {"width", 8}, {"height", 6}}}},
                 {"categories", {{{"id", 1}, {"name", "x"}}}},
                 {"annotations", json::array()}};
    for (int i = 0; i < 4; i++)
        good["annotations"].push_back({{"id", i + 1},
                                       {"image_id", 1},
                                       {"category_id", 1},
                                       {"bbox", {0, 0, 8, 6}},
                                       {"area", 48},
                                       {"iscrowd", 0},
                                       {"segmentation", {{"size", {6, 8}}, {"counts", {0, 48}}}}});
    REQUIRE(import_error(good.dump()) == "");

    struct bad_case {
        const char *what;
        std::function<void(json &)> mutate;
        const char *message;
    };
    std::vector<bad_case> cases = {
        {"bbox", [](json &j) { j["annotations"][3]["bbox"] = {1, 2, 3}; },
         "coco.json: annotations[3].bbox: expected 4 numbers, got 3"},
        {"bbox type", [](json &j) { j["annotations"][0]["bbox"][1] = "0"; },
         "coco.json: annotations[0].bbox[1]: expected a number, got a string"},
        {"id", [](json &j) { j["annotations"][1]["id"] = 1.5; }, "coco.json: annotations[1].id: expected an integer"},
        {"no segmentation", [](json &j) { j["annotations"][2].erase("segmentation"); },
         "coco.json: annotations[2].segmentation: missing"},
        {"counts sum", [](json &j) { j["annotations"][0]["segmentation"]["counts"] = {0, 47}; },
         "coco.json: annotations[0].segmentation.counts: run lengths sum to 47, expected 6*8 = 48"},
        {"counts overflow", [](json &j) { j["annotations"][0]["segmentation"]["counts"] = {4294967295u, 4294967295u, 2}; },
         "coco.json: annotations[0].segmentation.counts: run lengths sum to more than"},
        {"counts negative", [](json &j) { j["annotations"][0]["segmentation"]["counts"] = {-2, 50}; },
         "coco.json: annotations[0].segmentation.counts[0]: expected a non-negative integer"},
        {"counts string", [](json &j) { j["annotations"][0]["segmentation"]["counts"] = "~~~~"; },
         "coco.json: annotations[0].segmentation.counts: "},
        {"size", [](json &j) { j["annotations"][0]["segmentation"]["size"] = {8, 6}; },
         "coco.json: annotations[0].segmentation.size: [8,6] does not match"},
        {"polygon huge", [](json &j) { j["annotations"][0]["segmentation"] = {{0, 0, 5, 0, 1e300, 5}}; },
         "coco.json: annotations[0].segmentation[0][4]: coordinate"},
        {"polygon short", [](json &j) { j["annotations"][0]["segmentation"] = {{0, 0, 5, 0}}; },
         "coco.json: annotations[0].segmentation[0]: expected an even count"},
        {"image size", [](json &j) { j["images"][0]["width"] = 200000; j["images"][0]["height"] = 1000; },
         "coco.json: images[0]: 200000x1000 is over 100 megapixels"},
        {"image width type", [](json &j) { j["images"][0]["width"] = nullptr; },
         "coco.json: images[0].width: expected an integer, got null"},
        {"unknown image", [](json &j) { j["annotations"][1]["image_id"] = 7; },
         "coco.json: annotations[1].image_id: no image with id 7"},
        {"unknown category", [](json &j) { j["annotations"][1]["category_id"] = 7; },
         "coco.json: annotations[1].category_id: no category with id 7"},
        {"images type", [](json &j) { j["images"] = {{"a", 1}}; }, "coco.json: images: expected an array, got an object"},
        {"sam score", [](json &j) { j["annotations"][0]["sam"] = {{"score", "high"}}; },
         "coco.json: annotations[0].sam.score: expected a number, got a string"},
        {"sam point", [](json &j) { j["annotations"][0]["sam"] = {{"prompts", {{"points", {{1, 2}}}}}}; },
         "coco.json: annotations[0].sam.prompts.points[0]: expected 3 numbers, got 2"},
        {"iscrowd", [](json &j) { j["annotations"][0]["iscrowd"] = 3; }, "coco.json: annotations[0].iscrowd: expected 0 or 1"},
    };
    for (const bad_case &c : cases) {
        CAPTURE(c.what);
        json j = good;
        c.mutate(j);
        std::string msg = import_error(j.dump());
        CHECK_MESSAGE(msg.find(c.message) == 0, msg);
    }
    CHECK(import_error("{\"images\": [") == "coco.json: not valid JSON");
    CHECK(import_error("[]").find("coco.json: expected a JSON object") == 0);
    CHECK(import_error(std::string(100000, '[')).find("nested deeper") != std::string::npos);
    CHECK(import_error("{\"images\": [{\"id\": 1, \"file_name\": \"\\xff\"}]}") != "");
}

TEST_CASE("coco_json: export never aborts on names that are not UTF-8") {
    sam::annotation_document d;
    REQUIRE(d.add_category(std::string("caf\xe9", 4), {}).ok());
    REQUIRE(d.add_image({0, std::string("\xff\xfe.png"), 4, 4}).ok());
    std::string text = sam::coco_export(d, {});
    json j = json::parse(text, nullptr, false);
    REQUIRE(!j.is_discarded());
    CHECK(j["categories"][0]["name"].get<std::string>().size() > 3);
}

namespace {

void check_same_document(const sam::annotation_document &a, const sam::annotation_document &b) {
    REQUIRE(a.images().size() == b.images().size());
    for (size_t i = 0; i < a.images().size(); i++) {
        CAPTURE(i);
        const sam::doc_image &x = a.images()[i], &y = b.images()[i];
        CHECK(x.id == y.id);
        CHECK(x.file_name == y.file_name);
        CHECK(x.width == y.width);
        CHECK(x.height == y.height);
    }
    REQUIRE(a.categories().size() == b.categories().size());
    for (size_t i = 0; i < a.categories().size(); i++) {
        CAPTURE(i);
        const sam::doc_category &x = a.categories()[i], &y = b.categories()[i];
        CHECK(x.id == y.id);
        CHECK(x.name == y.name);
        CHECK(x.supercategory == y.supercategory);
        CHECK(x.color == y.color);
    }
    REQUIRE(a.annotations().size() == b.annotations().size());
    for (size_t i = 0; i < a.annotations().size(); i++) {
        CAPTURE(i);
        const sam::annotation &x = a.annotations()[i], &y = b.annotations()[i];
        CHECK(x.id == y.id);
        CHECK(x.image_id == y.image_id);
        CHECK(x.category_id == y.category_id);
        CHECK(x.mask.height == y.mask.height);
        CHECK(x.mask.width == y.mask.width);
        CHECK(x.mask.counts == y.mask.counts);
        CHECK(x.area == y.area);
        CHECK(x.bbox.x == y.bbox.x);
        CHECK(x.bbox.y == y.bbox.y);
        CHECK(x.bbox.w == y.bbox.w);
        CHECK(x.bbox.h == y.bbox.h);
        CHECK(x.score == y.score);  // bit-exact: nlohmann writes doubles with round-trip precision
        CHECK(x.source == y.source);
        CHECK(x.hidden == y.hidden);
        REQUIRE(x.prompts.points.size() == y.prompts.points.size());
        for (size_t k = 0; k < x.prompts.points.size(); k++) {
            CHECK(x.prompts.points[k].x == y.prompts.points[k].x);
            CHECK(x.prompts.points[k].y == y.prompts.points[k].y);
            CHECK(x.prompts.points[k].label == y.prompts.points[k].label);
        }
        CHECK(x.prompts.has_box == y.prompts.has_box);
        for (int k = 0; k < 4; k++) CHECK(x.prompts.box_xyxy[k] == y.prompts.box_xyxy[k]);
    }
}

}  // namespace

TEST_CASE("coco_json: autosave round trip (lossless export -> import into an empty document) keeps everything") {
    sam::binary_mask blobs = mask_from_npy(load_reference("masks", "blobs_120x160"));
    sam::annotation_document d;
    // ids out of order and with gaps, as after a session of edits and an earlier import
    REQUIRE(d.add_image({7, "photos/b.jpg", blobs.width, blobs.height}).ok());
    REQUIRE(d.add_image({3, "a.png", 40, 30}).ok());
    REQUIRE(d.add_image({12, "unannotated.png", 5, 5}).ok());
    REQUIRE(d.add_category("chat noir \xc3\xa9", {12, 34, 56}, nullptr, 5, "animal").ok());
    REQUIRE(d.add_category("dog", {255, 255, 0}, nullptr, 2).ok());
    REQUIRE(d.add_category("unused", {0, 0, 0}, nullptr, 9, "none").ok());

    sam::binary_mask ring(40, 30);
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) {
            int d2 = (x - 20) * (x - 20) + (y - 15) * (y - 15);
            ring.at(x, y) = d2 <= 12 * 12 && d2 > 4 * 4;
        }
    struct spec {
        int64_t image, category;
        const sam::binary_mask *mask;
        double score;
        sam::annotation_source source;
        bool hidden, box;
    };
    sam::binary_mask empty(40, 30);
    std::vector<spec> specs = {
        {7, 5, &blobs, 0.123456789012345678, sam::annotation_source::machine, false, true},
        {3, 2, &ring, 0.0, sam::annotation_source::human, true, false},
        {7, 2, &blobs, 1.0 / 3.0, sam::annotation_source::human, false, false},
        {3, 5, &empty, 0.97, sam::annotation_source::machine, true, true},
    };
    std::vector<int64_t> ids;
    for (size_t i = 0; i < specs.size(); i++) {
        const spec &s = specs[i];
        sam::annotation a;
        a.image_id = s.image;
        a.category_id = s.category;
        a.mask = sam::mask_to_rle(*s.mask);
        a.score = s.score;
        a.source = s.source;
        a.hidden = s.hidden;
        a.prompts.points = {{10.0 / 3.0, 2.75, 1}, {0.1, 1e-3, 0}, {(double)i, 7, 1}};
        if (s.box) {
            a.prompts.has_box = true;
            a.prompts.box_xyxy[0] = 1.25;
            a.prompts.box_xyxy[1] = 2.0 / 7.0;
            a.prompts.box_xyxy[2] = 30.5;
            a.prompts.box_xyxy[3] = 29;
        }
        int64_t id = 0;
        REQUIRE(d.add_annotation(a, &id).ok());
        ids.push_back(id);
    }
    REQUIRE(d.delete_annotation(ids[0]).ok());  // a gap in the annotation ids
    REQUIRE(d.undo());                          // ... and back, at its old position
    REQUIRE(d.delete_annotation(ids[2]).ok());

    std::string text = sam::coco_export(d, sam::coco_lossless_options());
    sam::annotation_document back;
    sam::coco_import_report rep;
    sam::status st = sam::coco_import(text, "autosave", back, rep);
    REQUIRE_MESSAGE(st.ok(), st.message);
    CHECK(rep.annotations_renumbered == 0);
    CHECK(rep.warnings.empty());
    check_same_document(d, back);
    CHECK(sam::coco_export(back, sam::coco_lossless_options()) == text);

    SUBCASE("the app's reload: images come from the manifest first, then the autosave") {
        sam::annotation_document app;
        for (const sam::doc_image &im : d.images()) REQUIRE(app.add_image(im).ok());
        app.clear_history();
        sam::coco_import_options opt;
        opt.add_unknown_images = false;
        opt.match_base_name = true;
        REQUIRE(sam::coco_import(text, "autosave", app, rep, opt).ok());
        CHECK(rep.images_matched == d.images().size());
        CHECK(rep.annotations_skipped == 0);
        check_same_document(d, app);
    }

    // the reloaded document keeps working: new ids do not collide with loaded ones
    int64_t nid = 0;
    REQUIRE(back.add_category("new", {}, &nid).ok());
    CHECK(nid == 10);
    sam::annotation a = back.annotations()[0];
    a.id = 0;
    int64_t aid = 0;
    REQUIRE(back.add_annotation(a, &aid).ok());
    CHECK(aid > ids.back());
}

TEST_CASE("coco_json: import into a document with known images (the app's load annotations)") {
    json file = {{"images",
                  {{{"id", 1}, {"file_name", "val/cat.jpg"}, {"width", 8}, {"height", 6}},
                   {{"id", 2}, {"file_name", "val/other.jpg"}, {"width", 8}, {"height", 6}}}},
                 {"categories", {{{"id", 1}, {"name", "x"}}}},
                 {"annotations", json::array()}};
    for (int i = 0; i < 3; i++)
        file["annotations"].push_back({{"id", i + 1},
                                       {"image_id", i == 2 ? 2 : 1},
                                       {"category_id", 1},
                                       {"segmentation", {{"size", {6, 8}}, {"counts", {i, 48 - i}}}}});
    sam::annotation_document d;
    int64_t cat_img = 0;
    REQUIRE(d.add_image({0, "cat.jpg", 8, 6}, &cat_img).ok());
    REQUIRE(d.add_image({0, "dir/other.jpg", 8, 6}).ok());
    REQUIRE(d.add_image({0, "dir2/other.jpg", 8, 6}).ok());  // makes "other.jpg" ambiguous
    std::string before = sam::coco_export(d, sam::coco_lossless_options());

    sam::coco_import_options opt;
    opt.add_unknown_images = false;
    opt.match_base_name = true;
    sam::coco_import_report rep;
    sam::status st = sam::coco_import(file.dump(), "load.json", d, rep, opt);
    REQUIRE_MESSAGE(st.ok(), st.message);
    CHECK(rep.images_matched == 1);
    CHECK(rep.images_added == 0);
    CHECK(rep.skipped_images == std::vector<std::string>{"val/other.jpg"});
    CHECK(rep.annotations_skipped == 1);
    CHECK(rep.annotations_added == 2);
    CHECK(d.images().size() == 3);
    REQUIRE(d.annotations().size() == 2);
    for (const sam::annotation &a : d.annotations()) CHECK(a.image_id == cat_img);
    CHECK(d.annotations()[1].area == 47);
    REQUIRE(d.undo());
    CHECK(sam::coco_export(d, sam::coco_lossless_options()) == before);

    // without base-name matching nothing matches; with defaults the images are added
    opt.match_base_name = false;
    REQUIRE(sam::coco_import(file.dump(), "load.json", d, rep, opt).ok());
    CHECK(rep.images_matched == 0);
    CHECK(rep.annotations_skipped == 3);
    REQUIRE(sam::coco_import(file.dump(), "load.json", d, rep).ok());
    CHECK(rep.images_added == 2);
    CHECK(rep.annotations_added == 3);

    // two file images may not land on one document image
    sam::annotation_document d2;
    REQUIRE(d2.add_image({0, "cat.jpg", 8, 6}).ok());
    file["images"][1]["file_name"] = "train/cat.jpg";
    opt.match_base_name = true;
    st = sam::coco_import(file.dump(), "load.json", d2, rep, opt);
    CHECK(st.message.find("load.json: images[1].file_name: ") == 0);
    CHECK(d2.revision() == 1);
}

TEST_CASE("coco_json: imported polygons rasterise exactly as polygons_to_mask on the whole image") {
    // The import rasterises only the top-left part of the image the polygons reach; this
    // must not change a single pixel, also for polygons leaving the image on any side.
    const int w = 97, h = 61;
    uint32_t seed = 12345;
    auto rnd = [&](double lo, double hi) {
        seed = seed * 1664525u + 1013904223u;
        return lo + (hi - lo) * (double)(seed >> 8) / (double)(1u << 24);
    };
    json coco = {{"images", {{{"id", 1}, {"file_name", "p.png"}, {"width", w}, {"height", h}}}},
                 {"categories", {{{"id", 1}, {"name", "x"}}}},
                 {"annotations", json::array()}};
    std::vector<std::vector<sam::polygon>> expected;
    for (int i = 0; i < 200; i++) {
        std::vector<sam::polygon> polys;
        json seg = json::array();
        int n_polys = 1 + i % 3;
        // centres anywhere from a bit outside the image to a bit beyond it, sizes 0.3..40 px
        for (int k = 0; k < n_polys; k++) {
            double cx = rnd(-10, w + 10), cy = rnd(-10, h + 10), r = i % 5 == 0 ? rnd(0.3, 2) : rnd(2, 40);
            int n = 3 + (int)rnd(0, 9);
            sam::polygon p;
            json xy = json::array();
            for (int j = 0; j < n; j++) {
                double a = 6.283185307179586 * j / n + rnd(0, 0.3);
                // quantised to 1/4 px as real files are (and as json round-trips floats exactly)
                double x = std::round((cx + r * std::cos(a)) * 4) / 4, y = std::round((cy + r * std::sin(a)) * 4) / 4;
                x = std::max(-(double)w, std::min(2.0 * w, x));
                y = std::max(-(double)h, std::min(2.0 * h, y));
                p.xy.push_back((float)x);
                p.xy.push_back((float)y);
                xy.push_back(x);
                xy.push_back(y);
            }
            polys.push_back(p);
            seg.push_back(xy);
        }
        expected.push_back(polys);
        coco["annotations"].push_back({{"id", i + 1}, {"image_id", 1}, {"category_id", 1}, {"segmentation", seg}});
    }
    sam::annotation_document d;
    sam::coco_import_report rep;
    sam::status st = sam::coco_import(coco.dump(), "poly.json", d, rep);
    REQUIRE_MESSAGE(st.ok(), st.message);
    REQUIRE(d.annotations().size() == expected.size());
    size_t non_empty = 0, touching_edge = 0;
    for (size_t i = 0; i < expected.size(); i++) {
        CAPTURE(i);
        sam::binary_mask full = sam::polygons_to_mask(expected[i], h, w);
        CHECK(d.annotations()[i].mask.counts == sam::mask_to_rle(full).counts);
        const sam::box_xywh &b = d.annotations()[i].bbox;
        non_empty += d.annotations()[i].area > 0;
        touching_edge += b.w > 0 && (b.x + b.w == w || b.y + b.h == h);
    }
    CHECK(non_empty > 150);     // the cases are not trivially empty
    CHECK(touching_edge > 20);  // and many reach the right or bottom edge
}
