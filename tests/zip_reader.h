// zip_reader.h - reads back the archives zip_writer makes, for tests: the end record (and
// the ZIP64 one when the end record says so), every central directory entry, and each
// entry's local header and stored bytes, with its CRC-32 checked. Written from the PKWARE
// APPNOTE independently of zip_writer.cpp; stored (method 0) entries only.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "core/zip_writer.h"

namespace zip_reader {

inline uint64_t le(const std::vector<uint8_t> &z, size_t at, int bytes) {
    REQUIRE(at + bytes <= z.size());
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | z[at + i];
    return v;
}

// name -> bytes, in archive order in `order`.
inline std::map<std::string, std::vector<uint8_t>> read(const std::vector<uint8_t> &z,
                                                         std::vector<std::string> *order = nullptr) {
    REQUIRE(z.size() >= 22);
    const size_t eocd = z.size() - 22;  // we write no archive comment
    REQUIRE(le(z, eocd, 4) == 0x06054b50);
    uint64_t n = le(z, eocd + 10, 2), cd_size = le(z, eocd + 12, 4), cd = le(z, eocd + 16, 4);
    if (n == 0xFFFF || cd == 0xFFFFFFFF || cd_size == 0xFFFFFFFF) {
        REQUIRE(le(z, eocd - 20, 4) == 0x07064b50);  // ZIP64 locator
        const size_t rec = (size_t)le(z, eocd - 12, 8);
        REQUIRE(le(z, rec, 4) == 0x06064b50);
        n = le(z, rec + 32, 8);
        cd_size = le(z, rec + 40, 8);
        cd = le(z, rec + 48, 8);
    }
    std::map<std::string, std::vector<uint8_t>> out;
    size_t p = (size_t)cd;
    for (uint64_t i = 0; i < n; i++) {
        REQUIRE(le(z, p, 4) == 0x02014b50);
        CHECK(le(z, p + 10, 2) == 0);  // stored
        const uint32_t crc = (uint32_t)le(z, p + 16, 4);
        const size_t size = (size_t)le(z, p + 24, 4), name_len = (size_t)le(z, p + 28, 2);
        const size_t extra_len = (size_t)le(z, p + 30, 2), comment_len = (size_t)le(z, p + 32, 2);
        uint64_t offset = le(z, p + 42, 4);
        const std::string name(z.begin() + (long)(p + 46), z.begin() + (long)(p + 46 + name_len));
        if (offset == 0xFFFFFFFF) {
            REQUIRE(extra_len >= 12);
            REQUIRE(le(z, p + 46 + name_len, 2) == 1);
            offset = le(z, p + 46 + name_len + 4, 8);
        }
        REQUIRE(le(z, offset, 4) == 0x04034b50);
        CHECK(le(z, offset + 14, 4) == crc);
        CHECK(le(z, offset + 22, 4) == size);
        REQUIRE(le(z, offset + 26, 2) == name_len);
        const size_t data = (size_t)offset + 30 + name_len + (size_t)le(z, offset + 28, 2);
        REQUIRE(data + size <= z.size());
        std::vector<uint8_t> bytes(z.begin() + (long)data, z.begin() + (long)(data + size));
        CHECK(sam::crc32(bytes.data(), bytes.size()) == crc);
        CHECK(out.count(name) == 0);
        if (order) order->push_back(name);
        out[name] = std::move(bytes);
        p += 46 + name_len + extra_len + comment_len;
    }
    CHECK(p == cd + cd_size);
    return out;
}

}  // namespace zip_reader
