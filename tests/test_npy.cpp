// Tests of the .npy reader/writer on the reference data and on hand-made bad files.
#include <doctest/doctest.h>

#include <cstring>

#include "core/npy.h"
#include "reference_data.h"

TEST_CASE("npy: reads the reference arrays of every dtype they use") {
    sam::npy_array img = load_reference("preprocess", "img0.image");
    CHECK(img.dtype == sam::npy_dtype::u8);
    CHECK(img.shape == std::vector<int64_t>{480, 640, 3});
    sam::npy_array sz = load_reference("preprocess", "img1.original_size");
    CHECK(sz.dtype == sam::npy_dtype::i64);
    CHECK(sz.to_i64() == std::vector<int64_t>{1500, 2250});
    sam::npy_array masks = load_reference("amg", "rle_masks");
    CHECK(masks.dtype == sam::npy_dtype::bool_);
    CHECK(masks.shape == std::vector<int64_t>{5, 37, 53});
    sam::npy_array coords = load_reference("preprocess", "img0.coords");
    CHECK(coords.dtype == sam::npy_dtype::f64);
}

TEST_CASE("npy: write then read round-trips f32 and f16") {
    std::vector<float> v = {0.f, 1.f, -2.5f, 65504.f, 1e-6f, 3.14159f};
    sam::npy_array a = sam::npy_from_f32({2, 3}, v.data());
    std::vector<uint8_t> bytes = sam::npy_serialize(a);
    CHECK((10 + bytes[8] + 256 * bytes[9]) % 64 == 0);
    sam::npy_array b;
    REQUIRE(sam::npy_parse(bytes.data(), bytes.size(), "x.npy", b).ok());
    CHECK(b.shape == a.shape);
    CHECK(b.to_f32() == v);

    sam::npy_array h;
    h.dtype = sam::npy_dtype::f16;
    h.shape = {6};
    for (float f : v) {
        uint16_t x = sam::float_to_half(f);
        h.data.push_back(x & 0xff);
        h.data.push_back(x >> 8);
    }
    bytes = sam::npy_serialize(h);
    REQUIRE(sam::npy_parse(bytes.data(), bytes.size(), "h.npy", b).ok());
    std::vector<float> back = b.to_f32();
    for (size_t i = 0; i < v.size(); i++) CHECK(back[i] == doctest::Approx(v[i]).epsilon(1e-3));
    CHECK(sam::half_to_float(0x3c00) == 1.0f);
    CHECK(sam::half_to_float(0x0001) == doctest::Approx(5.96046448e-8));
    CHECK(sam::float_to_half(5.96046448e-8f) == 0x0001);
}

static std::vector<uint8_t> make_npy(const std::string &header, size_t data_bytes, int version = 1) {
    std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', (uint8_t)version, 0};
    if (version == 1) {
        out.push_back((uint8_t)(header.size() & 0xff));
        out.push_back((uint8_t)(header.size() >> 8));
    } else {
        for (int i = 0; i < 4; i++) out.push_back((uint8_t)(header.size() >> (8 * i)));
    }
    out.insert(out.end(), header.begin(), header.end());
    out.resize(out.size() + data_bytes, 0);
    return out;
}

TEST_CASE("npy: refuses what it cannot read, naming the file and the problem") {
    sam::npy_array a;
    SUBCASE("v2 header is accepted") {
        auto f = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n", 16, 2);
        CHECK(sam::npy_parse(f.data(), f.size(), "v2.npy", a).ok());
    }
    SUBCASE("big-endian") {
        auto f = make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }\n", 8);
        sam::status st = sam::npy_parse(f.data(), f.size(), "be.npy", a);
        CHECK(st.message.find("be.npy") != std::string::npos);
        CHECK(st.message.find(">f4") != std::string::npos);
    }
    SUBCASE("fortran order") {
        auto f = make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", 24);
        CHECK(sam::npy_parse(f.data(), f.size(), "f.npy", a).message.find("Fortran") != std::string::npos);
    }
    SUBCASE("truncated data") {
        auto f = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 256, 64, 64), }\n", 100);
        CHECK(sam::npy_parse(f.data(), f.size(), "t.npy", a).message.find("truncated") != std::string::npos);
    }
    SUBCASE("object dtype") {
        auto f = make_npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n", 16);
        CHECK(sam::npy_parse(f.data(), f.size(), "o.npy", a).message.find("|O") != std::string::npos);
    }
    SUBCASE("not npy") {
        std::vector<uint8_t> f = {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0};
        CHECK(sam::npy_parse(f.data(), f.size(), "z.npz", a).message.find("not a .npy") != std::string::npos);
    }
}
