// Tests of the .samw decoder weights parser (core/decoder_weights.h): the files our
// Python exporter wrote (tests/fixtures/tiny, assets/model) parse and re-serialise to the
// same bytes; each kind of damage is refused with the file name and what is wrong; a file
// cut at every byte is refused (with and without a matching size field and checksum).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "core/decoder_weights.h"
#include "decoder_test_weights.h"
#include "reference_data.h"

namespace {

constexpr size_t k_config_at = 24, k_count_at = 88, k_table_at = 92;

std::string refuse(const std::vector<uint8_t> &b, const std::string &name = "w.samw") {
    sam::decoder_weights out;
    out.config.embed_dim = 12345;
    sam::status st = sam::decoder_weights_parse(b.data(), b.size(), name, out);
    CHECK_MESSAGE(!st.ok(), "accepted");
    CHECK(out.config.embed_dim == 12345);  // untouched
    CHECK(out.tensors.empty());
    CHECK_MESSAGE(st.message.rfind(name + ": ", 0) == 0, st.message);
    return st.message;
}

bool has(const std::string &s, const std::string &w) { return s.find(w) != std::string::npos; }

void put32(std::vector<uint8_t> &b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + i] = (uint8_t)(v >> (8 * i));
}

// Byte position of the entry of tensor `index` in the table.
size_t entry_at(const std::vector<uint8_t> &b, int index) {
    size_t p = k_table_at;
    for (int i = 0; i < index; ++i) {
        const size_t len = b[p] | b[p + 1] << 8;
        const int ndim = b[p + 2 + len + 1];
        p += 2 + len + 2 + 4 * ndim + 16;
    }
    return p;
}

std::vector<uint8_t> fixture(const std::string &rel) {
    std::vector<uint8_t> b = read_file_bytes(std::string(SAM_FIXTURES_DIR) + "/../../" + rel);
    REQUIRE_MESSAGE(!b.empty(), "missing " << rel);
    return b;
}

}  // namespace

TEST_CASE("decoder_weights: the exporter's files parse and re-serialise byte for byte") {
    for (auto [rel, dtype] : {std::pair<std::string, sam::weights_dtype>{"tests/fixtures/tiny/decoder.samw", sam::weights_dtype::f32},
                              {"assets/model/decoder.samw", sam::weights_dtype::f16}}) {
        CAPTURE(rel);
        std::vector<uint8_t> b = fixture(rel);
        sam::decoder_weights w;
        sam::status st = sam::decoder_weights_parse(b.data(), b.size(), rel, w);
        REQUIRE_MESSAGE(st.ok(), st.message);
        CHECK(w.tensors.size() == sam::decoder_expected_tensors(w.config).size());
        CHECK(sam::decoder_weights_serialize(w, dtype) == b);
    }
    sam::decoder_weights w;
    std::vector<uint8_t> b = fixture("tests/fixtures/tiny/decoder.samw");
    REQUIRE(sam::decoder_weights_parse(b.data(), b.size(), "tiny", w).ok());
    CHECK(w.config.depth == 1);
    CHECK(w.config.cross_attention_dim == 32);
    const sam::decoder_tensor *t = w.find("mask_decoder.mask_tokens.weight");
    REQUIRE(t);
    CHECK(t->shape == std::vector<int64_t>{4, 256});
}

TEST_CASE("decoder_weights: damaged files are refused with what is wrong") {
    const std::vector<uint8_t> good = sam::decoder_weights_serialize(micro_weights(1), sam::weights_dtype::f32);
    {
        sam::decoder_weights w;
        REQUIRE(sam::decoder_weights_parse(good.data(), good.size(), "w.samw", w).ok());
    }
    std::vector<uint8_t> b;
    CHECK(has(refuse({}), "not a decoder weights file"));
    CHECK(has(refuse(fixture("tests/fixtures/tiny/decoder.onnx")), "not a decoder weights file"));
    b = good, b[4] = 3, fix_header(b);
    CHECK(has(refuse(b), "version 3 is not supported"));
    b = good, b[4] = 2, fix_header(b);  // version 2 (SAM 2.1) has the family as a 17th field
    CHECK(has(refuse(b), "config has 16 fields, version 2 has 17"));
    b.assign(good.begin(), good.end() - 100);
    CHECK(has(refuse(b), "(truncated)"));
    b = good, b.push_back(0);
    CHECK(has(refuse(b), "(trailing bytes)"));
    b = good, b[good.size() / 2] ^= 0x10;
    CHECK(has(refuse(b), "checksum mismatch"));
    b = good, put32(b, 20, 15), fix_header(b);
    CHECK(has(refuse(b), "config has 15 fields"));
    b = good, put32(b, k_config_at + 4 * 7, 0), fix_header(b);  // num_heads
    CHECK(has(refuse(b), "num_heads = 0 is outside"));
    b = good, put32(b, k_config_at, 12), fix_header(b);  // embed_dim
    CHECK(has(refuse(b), "embed_dim = 12 is not a multiple of 8"));
    b = good, put32(b, k_config_at + 4 * 7, 3), fix_header(b);
    CHECK(has(refuse(b), "num_heads = 3 does not divide"));
    b = good, put32(b, k_config_at + 4 * 8, 5), fix_header(b);  // mlp_dim 5: shapes no longer fit
    CHECK(has(refuse(b), "mlp.lin1.weight has shape [4, 8], these dimensions need [5, 8]"));
    b = good, put32(b, k_count_at, 7), fix_header(b);
    CHECK(has(refuse(b), "has 7 tensors"));
    const size_t e0 = entry_at(good, 0);  // prompt_encoder.pe_layer.positional_encoding_gaussian_matrix
    const size_t len0 = good[e0] | good[e0 + 1] << 8;
    b = good, b[e0 + 2] = 'X', fix_header(b);
    CHECK(has(refuse(b), "unexpected tensor Xrompt_encoder.pe_layer"));
    b = good, b[e0 + 2 + len0] = 7, fix_header(b);
    CHECK(has(refuse(b), "dtype 7 unknown"));
    b = good, b[e0 + 2 + len0 + 1] = 0, fix_header(b);
    CHECK(has(refuse(b), "0 dimensions"));
    b = good, b[e0 + 2 + len0 + 2 + 8] = 0xff, b[e0 + 2 + len0 + 2 + 9] = 0xff, fix_header(b);  // offset
    CHECK(has(refuse(b), "lies outside the data part"));
    b = good, b[e0 + 2 + len0 + 2 + 16] += 4, fix_header(b);  // byte count
    CHECK(has(refuse(b), "bytes for 8 values of f32"));
    {
        sam::decoder_weights w = micro_weights(1);
        w.tensors[5].values[2] = std::numeric_limits<float>::quiet_NaN();
        b = sam::decoder_weights_serialize(w, sam::weights_dtype::f32);
        CHECK(has(refuse(b), w.tensors[5].name + "[2] is not finite"));
        w = micro_weights(1);
        w.tensors[3].name = w.tensors[2].name;
        b = sam::decoder_weights_serialize(w, sam::weights_dtype::f32);
        CHECK(has(refuse(b), w.tensors[2].name + " appears twice"));
    }
}

TEST_CASE("decoder_weights: a file cut at any byte is refused") {
    for (sam::weights_dtype dtype : {sam::weights_dtype::f32, sam::weights_dtype::f16}) {
        const std::vector<uint8_t> good = sam::decoder_weights_serialize(micro_weights(2), dtype);
        for (size_t cut = 0; cut < good.size(); ++cut) {
            std::vector<uint8_t> b(good.begin(), good.begin() + cut);
            sam::decoder_weights w;
            sam::status st = sam::decoder_weights_parse(b.data(), b.size(), "cut.samw", w);
            REQUIRE_MESSAGE(!st.ok(), "cut at " << cut);
            // The same cut with a size field and checksum that agree with it: the
            // structure itself must be found wanting.
            fix_header(b);
            st = sam::decoder_weights_parse(b.data(), b.size(), "cut.samw", w);
            REQUIRE_MESSAGE(!st.ok(), "self-consistent cut at " << cut);
            REQUIRE(st.message.rfind("cut.samw: ", 0) == 0);
        }
    }
}

TEST_CASE("decoder_weights: the tiny model's file cut anywhere is refused") {
    const std::vector<uint8_t> good = fixture("tests/fixtures/tiny/decoder.samw");
    sam::decoder_weights w;
    for (size_t cut = 0; cut < good.size(); cut += cut < 4096 ? 1 : 997) {
        std::vector<uint8_t> b(good.begin(), good.begin() + cut);
        REQUIRE_MESSAGE(!sam::decoder_weights_parse(b.data(), b.size(), "tiny.samw", w).ok(), "cut at " << cut);
        if (cut < 24 * 1024) {  // the header and the first tensors, with a size field and CRC that agree
            fix_header(b);
            REQUIRE_MESSAGE(!sam::decoder_weights_parse(b.data(), b.size(), "tiny.samw", w).ok(), "fixed cut at " << cut);
        }
    }
    CHECK(w.tensors.empty());
}
