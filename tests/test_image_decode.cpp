// Tests of decode_image / sniff_image_type on the fixtures of tests/data
// (made by make_exif_fixtures.py with PIL; expected pixels are PIL's).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/image_decode.h"
#include "reference_data.h"

namespace {

std::vector<uint8_t> fixture(const std::string &name) {
    std::vector<uint8_t> b = read_file_bytes(std::string(SAM_TEST_DATA_DIR) + "/" + name);
    REQUIRE_MESSAGE(!b.empty(), "missing fixture tests/data/" << name);
    return b;
}

sam::npy_array expected_array(const std::string &npy_name) {
    std::vector<uint8_t> b = fixture(npy_name);
    sam::npy_array a;
    sam::status st = sam::npy_parse(b.data(), b.size(), npy_name, a);
    REQUIRE_MESSAGE(st.ok(), st.message);
    REQUIRE(a.shape.size() == 3);
    return a;
}

sam::image_u8 decode_ok(const std::string &name, const sam::decode_options &opt = {}) {
    std::vector<uint8_t> b = fixture(name);
    sam::image_u8 img;
    sam::status st = sam::decode_image(b.data(), b.size(), name, img, opt);
    REQUIRE_MESSAGE(st.ok(), st.message);
    return img;
}

std::string decode_error(const std::vector<uint8_t> &b, const std::string &name, const sam::decode_options &opt = {}) {
    sam::image_u8 img;
    img.width = 7;  // must stay untouched on failure
    sam::status st = sam::decode_image(b.data(), b.size(), name, img, opt);
    CHECK_MESSAGE(!st.ok(), name << " decoded but should not");
    CHECK(img.width == 7);
    CHECK_MESSAGE(st.message.find(name) == 0, st.message);  // message names the file
    return st.message;
}

bool contains(const std::string &s, const std::string &what) { return s.find(what) != std::string::npos; }

void check_equal(const sam::image_u8 &img, const sam::npy_array &want, int tolerance) {
    REQUIRE(img.channels == 3);
    REQUIRE(img.height == want.shape[0]);
    REQUIRE(img.width == want.shape[1]);
    REQUIRE(want.shape[2] == 3);
    int m = 0;
    for (size_t i = 0; i < img.pixels.size(); i++) m = std::max(m, std::abs(img.pixels[i] - want.data[i]));
    CHECK(m <= tolerance);
}

}  // namespace

TEST_CASE("image_decode: PNG, BMP, GIF decode exactly; JPEG within JPEG error; both decoders") {
    // system: libjpeg-turbo + libpng (native tools, the embedder); stb: the WebAssembly app.
    // Exactness against PIL on many more files: tests/python/test_image_decode_pil.py.
    for (sam::image_codec codec : {sam::image_codec::system, sam::image_codec::stb}) {
        CAPTURE(codec == sam::image_codec::stb);
        sam::decode_options opt;
        opt.codec = codec;
        sam::npy_array pattern = expected_array("pattern_expected.npy");
        check_equal(decode_ok("pattern.png", opt), pattern, 0);
        check_equal(decode_ok("pattern.bmp", opt), pattern, 0);
        check_equal(decode_ok("pattern.gif", opt), expected_array("gif_expected.npy"), 0);
        check_equal(decode_ok("orient_1_ii.jpg", opt), pattern, 3);  // flat blocks survive quality 95
        check_equal(decode_ok("grey.png", opt), expected_array("grey_expected.npy"), 0);
        check_equal(decode_ok("rgba.png", opt), expected_array("rgba_expected.npy"), 0);
    }
}

TEST_CASE("image_decode: grey and RGBA PNGs come out RGB, like PIL's convert('RGB')") {
    sam::image_u8 grey = decode_ok("grey.png");
    check_equal(grey, expected_array("grey_expected.npy"), 0);
    sam::image_u8 rgba = decode_ok("rgba.png");
    check_equal(rgba, expected_array("rgba_expected.npy"), 0);
}

TEST_CASE("image_decode: EXIF orientation is applied unless turned off") {
    sam::image_u8 upright = decode_ok("orient_6_ii.jpg");
    CHECK(upright.width == 24);
    CHECK(upright.height == 32);
    sam::decode_options raw;
    raw.apply_exif = false;
    sam::image_u8 stored = decode_ok("orient_6_ii.jpg", raw);
    CHECK(stored.width == 32);
    CHECK(stored.height == 24);
}

TEST_CASE("image_decode: size limit is checked from the header, before decoding") {
    std::vector<uint8_t> huge = fixture("huge_header.png");
    int w = 0, h = 0;
    REQUIRE(sam::probe_image_size(huge.data(), huge.size(), "huge_header.png", w, h).ok());
    CHECK(w == 20000);
    CHECK(h == 20000);
    std::string m = decode_error(huge, "huge_header.png");
    CHECK_MESSAGE(contains(m, "20000x20000"), m);
    CHECK_MESSAGE(contains(m, "100000000"), m);

    // A small real image against a smaller limit: the limit is inclusive.
    std::vector<uint8_t> png = fixture("pattern.png");
    sam::decode_options opt;
    opt.max_pixels = 32 * 24 - 1;
    m = decode_error(png, "pattern.png", opt);
    CHECK_MESSAGE(contains(m, "32x24"), m);
    opt.max_pixels = 32 * 24;
    sam::image_u8 img;
    CHECK(sam::decode_image(png.data(), png.size(), "pattern.png", img, opt).ok());

    // JPEG: the frame header is found behind the EXIF segment.
    std::vector<uint8_t> jpg = fixture("orient_6_mm.jpg");
    REQUIRE(sam::probe_image_size(jpg.data(), jpg.size(), "x.jpg", w, h).ok());
    CHECK(w == 32);
    CHECK(h == 24);
    opt.max_pixels = 100;
    CHECK(contains(decode_error(jpg, "orient_6_mm.jpg", opt), "32x24"));
}

TEST_CASE("image_decode: corrupt, truncated and non-image files are refused with a reason") {
    SUBCASE("truncated JPEG") {
        std::string m = decode_error(fixture("truncated.jpg"), "truncated.jpg");
        CHECK_MESSAGE(contains(m, "truncated"), m);
    }
    SUBCASE("every prefix of a JPEG shorter than the whole is refused") {
        std::vector<uint8_t> b = fixture("orient_1_ii.jpg");
        for (size_t n = 0; n < b.size(); n += 7) {
            sam::image_u8 img;
            CHECK(!sam::decode_image(b.data(), n, "p.jpg", img).ok());
        }
    }
    SUBCASE("truncated PNG") {
        std::vector<uint8_t> b = fixture("pattern.png");
        b.resize(b.size() / 2);
        std::string m = decode_error(b, "half.png");
        CHECK_MESSAGE(contains(m, "PNG"), m);
    }
    SUBCASE("a text file") {
        std::string m = decode_error(fixture("not_an_image.txt"), "not_an_image.txt");
        CHECK_MESSAGE(contains(m, "not a JPEG, PNG"), m);
    }
    SUBCASE("empty") {
        std::vector<uint8_t> none;
        CHECK(contains(decode_error(none, "empty.jpg"), "empty"));
    }
    SUBCASE("corrupt PNG data (CRC/zlib)") {
        std::vector<uint8_t> b = fixture("pattern.png");
        for (size_t i = 41; i < b.size() - 20; i++) b[i] ^= 0x5A;  // scramble the IDAT payload
        std::string m = decode_error(b, "bad.png");
        CHECK_MESSAGE(contains(m, "("), m);  // stb_image's reason in brackets
    }
}

// Files found by fuzz_image_decode that drove Debian's stb_image 2.27 out of its tables or
// into a 2 GB allocation: each must be refused by name, with the reason, by both decoders.
TEST_CASE("image_decode: hostile files from the fuzzer are refused with a reason") {
    const std::string dir = std::string(SAM_TEST_DATA_DIR) + "/../fuzz/regressions/fuzz_image_decode/";
    struct hostile {
        const char *file, *stb_reason;  // stb: our checks in front of it say why
    };
    for (sam::image_codec codec : {sam::image_codec::stb, sam::image_codec::system}) {
        sam::decode_options opt;
        opt.codec = codec;
        for (hostile h : {hostile{"jpeg_dht_over_256_codes.jpg", "corrupt JPEG"},
                          hostile{"jpeg_dht_tables_overrun_segment.jpg", "Huffman table segment (DHT) is malformed"},
                          hostile{"jpeg_bad_huffman_symbol.jpg", "JPEG"},
                          hostile{"png_idat_claims_2gb.png", "runs past the end of the file"}}) {
            CAPTURE(h.file);
            CAPTURE(codec == sam::image_codec::stb);
            std::vector<uint8_t> b = read_file_bytes(dir + h.file);
            REQUIRE(!b.empty());
            std::string m = decode_error(b, h.file, opt);
            CHECK_MESSAGE(contains(m, h.file), m);
            CHECK_MESSAGE(contains(m, codec == sam::image_codec::stb ? h.stb_reason : "corrupt"), m);
        }
    }
}

TEST_CASE("image_decode: sniff_image_type") {
    std::string type;
    CHECK(sam::sniff_image_type(fixture("orient_1_ii.jpg").data(), 801, type).ok());
    CHECK(type == "jpeg");
    std::vector<uint8_t> png = fixture("pattern.png");
    CHECK(sam::sniff_image_type(png.data(), png.size(), type).ok());
    CHECK(type == "png");
    std::vector<uint8_t> gif = fixture("pattern.gif");
    CHECK(sam::sniff_image_type(gif.data(), gif.size(), type).ok());
    CHECK(type == "gif");
    std::vector<uint8_t> bmp = fixture("pattern.bmp");
    CHECK(sam::sniff_image_type(bmp.data(), bmp.size(), type).ok());
    CHECK(type == "bmp");

    std::string webp("RIFF\x10\0\0\0WEBPVP8 ", 16);
    sam::status st = sam::sniff_image_type((const uint8_t *)webp.data(), webp.size(), type, "a.webp");
    CHECK(st.message == "a.webp: WebP images are not supported (use JPEG or PNG)");
    CHECK(type.empty());
    std::string heic("\0\0\0\x18" "ftypheic", 12);
    CHECK(contains(sam::sniff_image_type((const uint8_t *)heic.data(), heic.size(), type, "b.heic").message, "HEIC"));
    std::vector<uint8_t> txt = fixture("not_an_image.txt");
    CHECK(!sam::sniff_image_type(txt.data(), txt.size(), type).ok());
}
