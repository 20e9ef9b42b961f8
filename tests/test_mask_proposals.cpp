// Proposals files of scripts/embed --everything (src/core/mask_proposals.h) and the
// click hit test rle_contains: records parsed with areas/boxes recomputed from the RLE,
// errors naming the file and the field, a size mismatch with the image refused.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/mask_proposals.h"
#include "core/rle.h"

using nlohmann::json;

static sam::binary_mask rect(int w, int h, int x0, int y0, int x1, int y1) {  // [x0, x1) x [y0, y1)
    sam::binary_mask m(w, h);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) m.data[(size_t)y * w + x] = 1;
    return m;
}

static json record(const sam::binary_mask &m, double iou) {
    sam::rle r = sam::mask_to_rle(m);
    return json{{"segmentation", {{"size", {m.height, m.width}}, {"counts", sam::rle_to_string(r)}}},
                {"area", 999999},  // wrong on purpose: recomputed from the mask
                {"bbox", {0, 0, 1, 1}}, {"predicted_iou", iou}, {"stability_score", 0.97},
                {"point_coords", {{12.5, 20.5}}}, {"crop_box", {0, 0, m.width, m.height}}};
}

static json file_with(json anns, int w = 40, int h = 30) {
    return json{{"version", 1}, {"image", "images/a.png"}, {"width", w}, {"height", h}, {"annotations", anns}};
}

TEST_CASE("rle_contains: pixels inside and outside, column-major runs, out of range") {
    sam::binary_mask m = rect(7, 5, 2, 1, 5, 4);
    sam::rle r = sam::mask_to_rle(m);
    for (int y = -1; y <= 5; y++)
        for (int x = -1; x <= 7; x++) {
            bool want = x >= 0 && y >= 0 && x < 7 && y < 5 && m.at(x, y);
            CHECK_MESSAGE(sam::rle_contains(r, x, y) == want, "pixel " << x << "," << y);
        }
    sam::rle all = sam::mask_to_rle(rect(3, 3, 0, 0, 3, 3));
    CHECK(sam::rle_contains(all, 0, 0));
    CHECK(sam::rle_contains(all, 2, 2));
}

TEST_CASE("parse_mask_proposals: records with areas and boxes from the RLE") {
    json f = file_with({record(rect(40, 30, 2, 3, 12, 8), 0.93), record(rect(40, 30, 20, 10, 35, 28), 0.81)});
    sam::mask_proposals p;
    sam::status st = sam::parse_mask_proposals(f.dump(), "proposals/a.json", 40, 30, p);
    REQUIRE_MESSAGE(st.ok(), st.message);
    REQUIRE(p.proposals.size() == 2);
    CHECK(p.image == "images/a.png");
    CHECK(p.proposals[0].area == 50);
    CHECK(p.proposals[0].bbox.x == 2);
    CHECK(p.proposals[0].bbox.y == 3);
    CHECK(p.proposals[0].bbox.w == 10);
    CHECK(p.proposals[0].bbox.h == 5);
    CHECK(p.proposals[0].predicted_iou == doctest::Approx(0.93));
    CHECK(p.proposals[0].stability_score == doctest::Approx(0.97));
    CHECK(p.proposals[0].has_point);
    CHECK(p.proposals[0].point[0] == 12.5);
    CHECK(p.proposals[1].area == 15 * 18);
    CHECK(sam::rle_to_mask(p.proposals[1].segmentation).at(20, 10) == 1);

    SUBCASE("uncompressed counts") {
        json g = f;
        g["annotations"][0]["segmentation"]["counts"] = sam::mask_to_rle(rect(40, 30, 0, 0, 1, 1)).counts;
        REQUIRE(sam::parse_mask_proposals(g.dump(), "x.json", 40, 30, p).ok());
        CHECK(p.proposals[0].area == 1);
    }
    SUBCASE("size 0 x 0 takes the file's") {
        REQUIRE(sam::parse_mask_proposals(f.dump(), "x.json", 0, 0, p).ok());
        CHECK(p.width == 40);
        CHECK(p.height == 30);
    }
}

TEST_CASE("parse_mask_proposals: errors name the file and the field; out is untouched") {
    sam::mask_proposals p;
    p.image = "kept";
    auto message = [&](const std::string &text, int w = 40, int h = 30) {
        sam::status st = sam::parse_mask_proposals(text, "proposals/a.json", w, h, p);
        CHECK_FALSE(st.ok());
        CHECK(p.image == "kept");
        return st.message;
    };
    CHECK(message("{not json") == "proposals/a.json: not valid JSON");
    CHECK(message("[]").find("expected a JSON object") != std::string::npos);
    json f = file_with({record(rect(40, 30, 2, 3, 12, 8), 0.93)});
    json g = f;
    g["version"] = 2;
    CHECK(message(g.dump()).find("proposals/a.json: version") == 0);
    CHECK(message(f.dump(), 41, 30).find("made for a 40x30 image but the image is 41x30") != std::string::npos);
    g = f;
    g["annotations"][0]["segmentation"]["counts"] = "??";
    CHECK(message(g.dump()).find("proposals/a.json: annotations[0].segmentation: counts:") == 0);
    g = f;
    g["annotations"][0]["segmentation"]["size"] = {30, 41};
    CHECK(message(g.dump()).find("annotations[0].segmentation: size is [30, 41]") != std::string::npos);
    g = f;
    g["annotations"][0].erase("predicted_iou");
    CHECK(message(g.dump()).find("annotations[0].predicted_iou") != std::string::npos);
    g = f;
    g["annotations"][0]["point_coords"] = "x";
    CHECK(message(g.dump()).find("annotations[0].point_coords") != std::string::npos);
    g = f;
    g["annotations"] = 3;
    CHECK(message(g.dump()).find("annotations: expected a list") != std::string::npos);
}
