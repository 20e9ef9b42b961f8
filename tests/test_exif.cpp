// Tests of EXIF orientation on JPEGs written by PIL (tests/data/make_exif_fixtures.py):
// every orientation in both TIFF byte orders, compared with PIL's exif_transpose.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/exif.h"
#include "core/image_decode.h"
#include "reference_data.h"

namespace {

std::vector<uint8_t> fixture(const std::string &name) {
    std::vector<uint8_t> b = read_file_bytes(std::string(SAM_TEST_DATA_DIR) + "/" + name);
    REQUIRE_MESSAGE(!b.empty(), "missing fixture tests/data/" << name);
    return b;
}

sam::image_u8 expected_image(const std::string &npy_name) {
    std::vector<uint8_t> b = fixture(npy_name);
    sam::npy_array a;
    sam::status st = sam::npy_parse(b.data(), b.size(), npy_name, a);
    REQUIRE_MESSAGE(st.ok(), st.message);
    REQUIRE(a.dtype == sam::npy_dtype::u8);
    REQUIRE(a.shape.size() == 3);
    sam::image_u8 img;
    img.height = (int)a.shape[0];
    img.width = (int)a.shape[1];
    img.channels = (int)a.shape[2];
    img.pixels = a.data;
    return img;
}

// Largest per-channel difference; 255 + 1 when the shapes differ.
int max_abs_diff(const sam::image_u8 &a, const sam::image_u8 &b) {
    if (a.width != b.width || a.height != b.height || a.channels != b.channels) return 256;
    int m = 0;
    for (size_t i = 0; i < a.pixels.size(); i++) m = std::max(m, std::abs(a.pixels[i] - b.pixels[i]));
    return m;
}

sam::image_u8 decode_stored(const std::vector<uint8_t> &jpeg) {
    sam::decode_options opt;
    opt.apply_exif = false;
    sam::image_u8 img;
    sam::status st = sam::decode_image(jpeg.data(), jpeg.size(), "fixture.jpg", img, opt);
    REQUIRE_MESSAGE(st.ok(), st.message);
    return img;
}

// Inserts a marker segment right after SOI.
std::vector<uint8_t> with_segment_after_soi(std::vector<uint8_t> jpeg, uint8_t marker, const std::string &payload) {
    std::vector<uint8_t> seg = {0xFF, marker, (uint8_t)((payload.size() + 2) >> 8), (uint8_t)(payload.size() + 2)};
    seg.insert(seg.end(), payload.begin(), payload.end());
    jpeg.insert(jpeg.begin() + 2, seg.begin(), seg.end());
    return jpeg;
}

// Offset of the TIFF header inside the first Exif APP1 of a fixture.
size_t tiff_offset(const std::vector<uint8_t> &jpeg) {
    for (size_t i = 0; i + 10 < jpeg.size(); i++)
        if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xE1 && std::memcmp(&jpeg[i + 4], "Exif\0\0", 6) == 0) return i + 10;
    FAIL("fixture has no Exif APP1");
    return 0;
}

}  // namespace

TEST_CASE("exif: reads the orientation PIL wrote, in II and MM byte order") {
    for (int o = 1; o <= 8; o++) {
        for (const char *order : {"ii", "mm"}) {
            std::string name = "orient_" + std::to_string(o) + "_" + order + ".jpg";
            std::vector<uint8_t> b = fixture(name);
            CHECK_MESSAGE(sam::exif_orientation(b.data(), b.size()) == o, name);
        }
    }
}

TEST_CASE("exif: decoded + oriented pixels match PIL's exif_transpose for all 8 orientations") {
    // The fixture is flat 8x8 colour blocks, so two JPEG decoders agree to a
    // couple of levels (stb_image and PIL's libjpeg agree exactly here), while
    // any wrong orientation moves blocks that differ by >= 64.
    const int tolerance = 2;
    for (int o = 1; o <= 8; o++) {
        sam::image_u8 expected = expected_image("orient_" + std::to_string(o) + "_expected.npy");
        for (const char *order : {"ii", "mm"}) {
            std::string name = "orient_" + std::to_string(o) + "_" + order + ".jpg";
            std::vector<uint8_t> b = fixture(name);
            sam::image_u8 stored = decode_stored(b);
            CHECK(stored.width == 32);
            CHECK(stored.height == 24);
            sam::image_u8 upright = sam::apply_orientation(stored, sam::exif_orientation(b.data(), b.size()));
            CHECK_MESSAGE(max_abs_diff(upright, expected) <= tolerance, name);

            // decode_image applies EXIF by default and must give the same result.
            sam::image_u8 direct;
            REQUIRE(sam::decode_image(b.data(), b.size(), name, direct).ok());
            CHECK(direct.pixels == upright.pixels);
            CHECK(direct.width == upright.width);
        }
        // Every other orientation gives a clearly different picture: the test
        // can tell orientations apart.
        sam::image_u8 stored = decode_stored(fixture("orient_1_ii.jpg"));
        for (int other = 1; other <= 8; other++)
            if (other != o) CHECK(max_abs_diff(sam::apply_orientation(stored, other), expected) > 32);
    }
}

TEST_CASE("exif: apply_orientation on a tiny image, channels kept") {
    // 3x2 image, 2 channels: pixel (x, y) holds (x, y).
    sam::image_u8 img;
    img.width = 3;
    img.height = 2;
    img.channels = 2;
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) img.pixels.insert(img.pixels.end(), {(uint8_t)x, (uint8_t)y});
    // orientation 6 (rotate 90 clockwise): output is 2 wide, 3 high; its
    // top-left comes from the input's bottom-left.
    sam::image_u8 r = sam::apply_orientation(img, 6);
    CHECK(r.width == 2);
    CHECK(r.height == 3);
    CHECK(r.at(0, 0)[0] == 0);
    CHECK(r.at(0, 0)[1] == 1);
    CHECK(r.at(1, 2)[0] == 2);
    CHECK(r.at(1, 2)[1] == 0);
    // 6 then 8 undo each other; 2, 3, 4, 5, 7 are their own inverses.
    CHECK(sam::apply_orientation(r, 8).pixels == img.pixels);
    for (int o : {2, 3, 4, 5, 7}) CHECK(sam::apply_orientation(sam::apply_orientation(img, o), o).pixels == img.pixels);
    CHECK(sam::apply_orientation(img, 0).pixels == img.pixels);
    CHECK(sam::apply_orientation(img, 9).pixels == img.pixels);
}

TEST_CASE("exif: finds Exif after other APP segments, ignores everything after the scan") {
    std::vector<uint8_t> b = fixture("orient_6_mm.jpg");
    SUBCASE("XMP APP1 before the Exif APP1") {
        auto x = with_segment_after_soi(b, 0xE1, std::string("http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>", 41));
        CHECK(sam::exif_orientation(x.data(), x.size()) == 6);
    }
    SUBCASE("ICC APP2 and a COM segment before it") {
        auto x = with_segment_after_soi(b, 0xE2, "ICC_PROFILE");
        x = with_segment_after_soi(x, 0xFE, "comment");
        CHECK(sam::exif_orientation(x.data(), x.size()) == 6);
    }
    SUBCASE("the first Exif APP1 wins, as in PIL") {
        std::vector<uint8_t> other = fixture("orient_3_ii.jpg");
        size_t t = tiff_offset(other);
        size_t len = (size_t)other[t - 8] << 8 | other[t - 7];
        std::string app1((const char *)&other[t - 6], len - 2);
        auto x = with_segment_after_soi(b, 0xE1, app1);
        CHECK(sam::exif_orientation(x.data(), x.size()) == 3);
    }
}

TEST_CASE("exif: hostile or odd input gives 1 and reads nothing outside the buffer") {
    std::vector<uint8_t> b = fixture("orient_6_ii.jpg");
    size_t t = tiff_offset(b);
    CHECK(sam::exif_orientation(nullptr, 0) == 1);
    CHECK(sam::exif_orientation(b.data(), 3) == 1);
    std::vector<uint8_t> png = fixture("pattern.png");
    CHECK(sam::exif_orientation(png.data(), png.size()) == 1);

    SUBCASE("every prefix of the file") {
        // Until the Exif segment is complete the answer is 1, afterwards 6.
        size_t seg_end = t - 10 + 2 + ((size_t)b[t - 8] << 8 | b[t - 7]);
        for (size_t n = 0; n <= b.size(); n++) {
            int o = sam::exif_orientation(b.data(), n);
            CHECK(o == (n >= seg_end ? 6 : 1));
        }
    }
    SUBCASE("orientation value out of range") {
        auto x = b;
        // IFD0 entry 3 (Orientation), value field: little-endian SHORT.
        size_t value = t + 8 + 2 + 2 * 12 + 8;
        REQUIRE(x[value] == 6);
        x[value] = 9;
        CHECK(sam::exif_orientation(x.data(), x.size()) == 1);
        x[value] = 0;
        CHECK(sam::exif_orientation(x.data(), x.size()) == 1);
        x[value] = 8;
        CHECK(sam::exif_orientation(x.data(), x.size()) == 8);
        x[value - 6] = 4;  // type LONG, value 8 in the low bytes: accepted
        CHECK(sam::exif_orientation(x.data(), x.size()) == 8);
        x[value - 6] = 2;  // type ASCII: refused
        CHECK(sam::exif_orientation(x.data(), x.size()) == 1);
    }
    SUBCASE("IFD offset past the segment") {
        auto x = b;
        x[t + 4] = 0xF0;
        x[t + 5] = 0xFF;
        CHECK(sam::exif_orientation(x.data(), x.size()) == 1);
    }
    SUBCASE("entry count larger than the segment") {
        auto x = b;
        x[t + 8] = 0xFF;
        x[t + 9] = 0xFF;
        // the orientation entry is still found before the walk runs out
        CHECK(sam::exif_orientation(x.data(), x.size()) == 6);
        x[t + 8 + 2 + 2 * 12] = 0;  // hide it: the walk must stop at the segment end
        CHECK(sam::exif_orientation(x.data(), x.size()) == 1);
    }
    SUBCASE("bad TIFF magic") {
        auto x = b;
        x[t + 2] = 43;
        CHECK(sam::exif_orientation(x.data(), x.size()) == 1);
        x = b;
        x[t] = 'X';
        CHECK(sam::exif_orientation(x.data(), x.size()) == 1);
    }
    SUBCASE("segment length running past the file") {
        auto x = b;
        x[t - 8] = 0xFF;
        CHECK(sam::exif_orientation(x.data(), x.size()) == 1);
    }
}
