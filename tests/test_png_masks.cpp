// PNG masks: 8- and 16-bit greyscale PNGs decode (stb_image, a separate static copy) to the
// pixels written; instance and semantic maps follow the overlap rule (smaller on top); the
// legend maps ids to annotations and class values to categories.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/annotation_document.h"
#include "core/png_encode.h"
#include "core/png_masks.h"
#include "core/rle.h"
#include "mask_shapes.h"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#include <stb_image.h>

namespace {

std::vector<uint16_t> decode16(const std::vector<uint8_t> &png, int &w, int &h, int &bits) {
    int n = 0;
    bits = stbi_is_16_bit_from_memory(png.data(), (int)png.size()) ? 16 : 8;
    stbi_us *px = stbi_load_16_from_memory(png.data(), (int)png.size(), &w, &h, &n, 1);
    REQUIRE(px);
    std::vector<uint16_t> out(px, px + (size_t)w * h);
    stbi_image_free(px);
    if (bits == 8)
        for (uint16_t &v : out) v = (uint16_t)(v / 257);  // stb scales 8-bit samples to 16 bits
    return out;
}

}  // namespace

TEST_CASE("png_encode: 8- and 16-bit greyscale round trips") {
    for (auto [w, h] : {std::pair<int, int>{1, 1}, {7, 3}, {300, 201}}) {
        CAPTURE(w);
        CAPTURE(h);
        std::vector<uint8_t> g8((size_t)w * h);
        std::vector<uint16_t> g16((size_t)w * h);
        mask_shapes::lcg r{(uint64_t)w * 977 + h};
        for (size_t i = 0; i < g8.size(); i++) {
            // Flat regions with noise: both the filters and the literal path get used.
            g8[i] = (uint8_t)(i % 97 < 50 ? i / 300 : 255 * r.next());
            g16[i] = (uint16_t)(i % 89 < 40 ? 300 + i / 77 : 65535 * r.next());
        }
        std::vector<uint8_t> png;
        REQUIRE(sam::png_encode_gray8(g8.data(), w, h, png).ok());
        int dw = 0, dh = 0, bits = 0;
        std::vector<uint16_t> back = decode16(png, dw, dh, bits);
        CHECK(bits == 8);
        CHECK((dw == w && dh == h));
        CHECK(std::vector<uint8_t>(back.begin(), back.end()) == g8);
        REQUIRE(sam::png_encode_gray16(g16.data(), w, h, png).ok());
        back = decode16(png, dw, dh, bits);
        CHECK(bits == 16);
        CHECK((dw == w && dh == h));
        CHECK(back == g16);
    }
    std::vector<uint8_t> png;
    const uint8_t px = 0;
    CHECK(sam::png_encode_gray8(&px, 0, 1, png).message == "png: image size 0x1 must be 1..100 megapixels");
    CHECK_FALSE(sam::png_encode_gray16(nullptr, 20000, 20000, png).ok());
}

TEST_CASE("png_masks: ids, classes, overlap (smaller on top), visible areas, legend") {
    sam::annotation_document doc;
    int64_t im = 0, cat = 0, dog = 0, unused = 0;
    REQUIRE(doc.add_image({0, "scene.jpg", 40, 30}, &im).ok());
    REQUIRE(doc.add_category("unused", {9, 9, 9}, &unused).ok());
    REQUIRE(doc.add_category("cat", {200, 10, 10}, &cat).ok());
    REQUIRE(doc.add_category("dog", {10, 200, 10}, &dog).ok());
    sam::binary_mask big(40, 30), small(40, 30), ring(40, 30), empty(40, 30);
    mask_shapes::paint_rect(big, 0, 0, 30, 30);
    mask_shapes::paint_rect(small, 10, 10, 15, 15);
    mask_shapes::paint_rect(ring, 20, 0, 40, 20);
    mask_shapes::paint_rect(ring, 25, 5, 35, 15, 0);
    int64_t ids[4] = {0, 0, 0, 0};
    const sam::binary_mask *masks[4] = {&small, &big, &empty, &ring};
    const int64_t cats[4] = {dog, cat, cat, dog};
    for (int k = 0; k < 4; k++) {
        sam::annotation a;
        a.image_id = im;
        a.category_id = cats[k];
        a.mask = sam::mask_to_rle(*masks[k]);
        a.score = 0.5 + k * 0.1;
        REQUIRE(doc.add_annotation(a, &ids[k]).ok());
    }
    sam::png_masks_image m;
    REQUIRE(sam::png_masks_render(doc, im, {}, m).ok());
    REQUIRE(m.legend.size() == 3);  // the empty mask gets no id
    // Ids in document order; class value = category position + 1 ("unused" is 1).
    CHECK(m.legend[0].annotation_id == ids[0]);
    CHECK(m.legend[1].annotation_id == ids[1]);
    CHECK(m.legend[2].annotation_id == ids[3]);
    CHECK(m.legend[0].class_value == 3);
    CHECK(m.legend[1].class_value == 2);
    CHECK(m.legend[2].class_value == 3);
    // Expected maps, painted here by decreasing area: big (900), ring (300), small (25).
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) {
            CAPTURE(x);
            CAPTURE(y);
            uint16_t id = 0;
            if (big.at(x, y)) id = 2;
            if (ring.at(x, y)) id = 3;
            if (small.at(x, y)) id = 1;
            CHECK(m.instances[(size_t)y * 40 + x] == id);
            CHECK(m.semantic[(size_t)y * 40 + x] == (id == 0 ? 0 : id == 2 ? 2 : 3));
        }
    CHECK(m.legend[0].visible_area == 25);
    CHECK(m.legend[1].area == 900);
    CHECK(m.legend[1].visible_area == 900 - 25 - (200 - 50));  // the ring covers x 20..29, y 0..19 of it, minus its hole there (x 25..29, y 5..14)
    CHECK(m.legend[2].visible_area == 300);

    const nlohmann::json legend = nlohmann::json::parse(sam::png_masks_legend(doc, {m}, {"scene"}, 8));
    CHECK(legend["instance_maps"]["bit_depth"] == 8);
    CHECK(legend["classes"].size() == 4);
    CHECK(legend["classes"][0]["name"] == "background");
    CHECK(legend["classes"][2]["name"] == "cat");
    CHECK(legend["classes"][2]["value"] == 2);
    CHECK(legend["classes"][2]["color"] == nlohmann::json::array({200, 10, 10}));
    const nlohmann::json &img = legend["images"][0];
    CHECK(img["instance_map"] == "instances/scene.png");
    CHECK(img["semantic_map"] == "semantic/scene.png");
    CHECK(img["instances"][2]["annotation_id"] == ids[3]);
    CHECK(img["instances"][2]["category"] == "dog");
    CHECK(img["instances"][1]["visible_area"] == 725);
    CHECK(img["instances"][0]["score"] == doctest::Approx(0.5));

    // Hidden annotations can be left out; an unknown image is an error.
    REQUIRE(doc.set_annotation_hidden(ids[0], true).ok());
    sam::png_masks_options no_hidden;
    no_hidden.include_hidden = false;
    REQUIRE(sam::png_masks_render(doc, im, no_hidden, m).ok());
    CHECK(m.legend.size() == 2);
    CHECK(m.instances[12 * 40 + 12] == 1);  // big, now first
    CHECK(sam::png_masks_render(doc, 999, {}, m).message == "png masks: no image with id 999");
}
