// Tests of embedding validation: a real embedding written by NumPy (the
// decoder reference data), f16 round trip, and every kind of wrong file.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/embedding.h"
#include "reference_data.h"

namespace {

std::vector<float> random_embedding(unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.f, 2.f);
    std::vector<float> v(sam::k_embedding_count);
    for (float &x : v) x = dist(rng);
    return v;
}

std::vector<uint8_t> npy_with_header(const std::string &descr, const std::string &shape, size_t data_bytes,
                                     bool fortran = false) {
    std::string h = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                    ", 'shape': " + shape + ", }";
    h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
    h += '\n';
    std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(h.size() & 0xff), (uint8_t)(h.size() >> 8)};
    out.insert(out.end(), h.begin(), h.end());
    out.resize(out.size() + data_bytes, 0);
    return out;
}

std::string refuse(const std::vector<uint8_t> &bytes, const std::string &name) {
    std::vector<float> out = {1.f};
    sam::status st = sam::embedding_from_npy(bytes.data(), bytes.size(), name, out);
    CHECK_MESSAGE(!st.ok(), name << " accepted");
    CHECK(out.size() == 1);  // untouched on failure
    CHECK_MESSAGE(st.message.find(name + ": ") == 0, st.message);
    return st.message;
}

bool contains(const std::string &s, const std::string &what) { return s.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("embedding: reads a float32 embedding file written by NumPy") {
    std::string path = std::string(SAM_REFERENCE_NPY_DIR) + "/decoder_io/a.image_embeddings.npy";
    std::vector<uint8_t> bytes = read_file_bytes(path);
    REQUIRE_MESSAGE(!bytes.empty(), "missing " << path);
    std::vector<float> out;
    sam::status st = sam::embedding_from_npy(bytes.data(), bytes.size(), "a.npy", out);
    REQUIRE_MESSAGE(st.ok(), st.message);
    std::vector<float> want = load_reference("decoder_io", "a.image_embeddings").to_f32();
    CHECK(out == want);
    // Not all zeros: the comparison above is meaningful.
    CHECK(std::count(want.begin(), want.end(), 0.f) < (long)want.size() / 2);
}

TEST_CASE("embedding: float32 round trip is exact, float16 within half precision") {
    std::vector<float> v = random_embedding(1);
    std::vector<int64_t> shape = {1, 256, 64, 64};
    std::vector<uint8_t> f32 = sam::npy_serialize(sam::npy_from_f32(shape, v.data()));
    std::vector<float> out;
    REQUIRE(sam::embedding_from_npy(f32.data(), f32.size(), "e32.npy", out).ok());
    CHECK(out == v);

    sam::npy_array h;
    h.dtype = sam::npy_dtype::f16;
    h.shape = shape;
    for (float f : v) {
        uint16_t x = sam::float_to_half(f);
        h.data.push_back(x & 0xff);
        h.data.push_back(x >> 8);
    }
    std::vector<uint8_t> f16 = sam::npy_serialize(h);
    REQUIRE(sam::embedding_from_npy(f16.data(), f16.size(), "e16.npy", out).ok());
    REQUIRE(out.size() == v.size());
    double worst = 0;  // in units of half-precision relative step 2^-11
    for (size_t i = 0; i < v.size(); i++) {
        double tol = std::fabs(v[i]) * std::ldexp(1.0, -11) + std::ldexp(1.0, -24);
        worst = std::max(worst, std::fabs(out[i] - v[i]) / tol);
    }
    CHECK(worst <= 1.0);
    CHECK(worst > 0.25);  // it really went through float16
}

TEST_CASE("embedding: wrong shape or dtype is refused naming found and expected") {
    const size_t n64 = sam::k_embedding_count;
    SUBCASE("shape") {
        std::string m = refuse(npy_with_header("<f4", "(1, 256, 32, 32)", 256 * 32 * 32 * 4), "x.npy");
        CHECK(m == "x.npy: shape (1, 256, 32, 32) float32, expected (1, 256, 64, 64) float32 or float16");
        m = refuse(npy_with_header("<f4", "(256, 64, 64)", n64 * 4), "y.npy");
        CHECK(contains(m, "(256, 64, 64) float32"));
        m = refuse(npy_with_header("<f4", "(1048576,)", n64 * 4), "flat.npy");
        CHECK(contains(m, "(1048576,) float32"));
    }
    SUBCASE("float64") {
        std::string m = refuse(npy_with_header("<f8", "(1, 256, 64, 64)", n64 * 8), "d.npy");
        CHECK(m == "d.npy: shape (1, 256, 64, 64) float64, expected (1, 256, 64, 64) float32 or float16");
    }
    SUBCASE("integers") {
        CHECK(contains(refuse(npy_with_header("<i8", "(1, 256, 64, 64)", n64 * 8), "i.npy"), "int64"));
        CHECK(contains(refuse(npy_with_header("|u1", "(1, 256, 64, 64)", n64), "u.npy"), "uint8"));
    }
    SUBCASE("big-endian") {
        std::string m = refuse(npy_with_header(">f4", "(1, 256, 64, 64)", n64 * 4), "be.npy");
        CHECK(contains(m, "big-endian"));
        CHECK(contains(m, "expected"));
    }
    SUBCASE("Fortran order") {
        CHECK(contains(refuse(npy_with_header("<f4", "(1, 256, 64, 64)", n64 * 4, true), "f.npy"), "Fortran"));
    }
    SUBCASE("truncated") {
        CHECK(contains(refuse(npy_with_header("<f4", "(1, 256, 64, 64)", n64 * 4 - 1), "t.npy"), "truncated"));
        CHECK(contains(refuse(npy_with_header("<f2", "(1, 256, 64, 64)", 100), "t16.npy"), "truncated"));
    }
    SUBCASE("not npy at all") {
        std::vector<uint8_t> b = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
        CHECK(contains(refuse(b, "txt.npy"), "not a .npy"));
    }
}

TEST_CASE("embedding: NaN and Inf are refused as corrupt") {
    std::vector<float> v = random_embedding(2);
    std::vector<int64_t> shape = {1, 256, 64, 64};
    size_t at = 5 * 4096 + 7 * 64 + 9;  // [0, 5, 7, 9]
    SUBCASE("NaN float32") {
        v[at] = std::numeric_limits<float>::quiet_NaN();
        std::string m = refuse(sam::npy_serialize(sam::npy_from_f32(shape, v.data())), "nan.npy");
        CHECK(m == "nan.npy: embedding holds NaN at [0, 5, 7, 9] (corrupt embedding)");
    }
    SUBCASE("Inf float32") {
        v.back() = -std::numeric_limits<float>::infinity();
        std::string m = refuse(sam::npy_serialize(sam::npy_from_f32(shape, v.data())), "inf.npy");
        CHECK(contains(m, "Inf at [0, 255, 63, 63]"));
    }
    SUBCASE("float16 overflow to Inf") {
        sam::npy_array h;
        h.dtype = sam::npy_dtype::f16;
        h.shape = shape;
        h.data.assign(sam::k_embedding_count * 2, 0);
        h.data[2 * at] = 0x00;
        h.data[2 * at + 1] = 0x7c;  // +Inf
        CHECK(contains(refuse(sam::npy_serialize(h), "h.npy"), "Inf at [0, 5, 7, 9]"));
    }
}
