// zip_writer: store-only archives read back by an independent reader (tests/zip_reader.h),
// CRC-32 against known values, ZIP64 end records past 65535 entries, refused names.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/zip_writer.h"
#include "zip_reader.h"

TEST_CASE("zip_writer: crc32 matches the standard check values") {
    const std::string a = "123456789";
    CHECK(sam::crc32((const uint8_t *)a.data(), a.size()) == 0xCBF43926u);  // the CRC-32 check value
    CHECK(sam::crc32(nullptr, 0) == 0u);
    // Continuing from a previous result equals one pass.
    const uint32_t part = sam::crc32((const uint8_t *)a.data(), 4);
    CHECK(sam::crc32((const uint8_t *)a.data() + 4, 5, part) == 0xCBF43926u);
}

TEST_CASE("zip_writer: entries come back byte for byte, deterministic") {
    std::vector<uint8_t> big(70000);
    for (size_t i = 0; i < big.size(); i++) big[i] = (uint8_t)(i * 31 + (i >> 7));
    auto build = [&]() {
        sam::zip_writer z;
        REQUIRE(z.add("yolo_seg/data.yaml", (const uint8_t *)"nc: 1\n", 6).ok());
        REQUIRE(z.add("yolo_seg/labels/empty.txt", nullptr, 0).ok());
        REQUIRE(z.add("png/\xC3\xA9t\xC3\xA9.png", big.data(), big.size()).ok());
        CHECK(z.entries() == 3);
        return z.finish();
    };
    const std::vector<uint8_t> zip = build();
    CHECK(build() == zip);  // same files, same bytes (fixed timestamp)
    std::vector<std::string> order;
    const auto files = zip_reader::read(zip, &order);
    CHECK(order == std::vector<std::string>{"yolo_seg/data.yaml", "yolo_seg/labels/empty.txt", "png/\xC3\xA9t\xC3\xA9.png"});
    CHECK(files.at("yolo_seg/data.yaml") == std::vector<uint8_t>{'n', 'c', ':', ' ', '1', '\n'});
    CHECK(files.at("yolo_seg/labels/empty.txt").empty());
    CHECK(files.at("png/\xC3\xA9t\xC3\xA9.png") == big);
    // An empty archive is just the end record.
    sam::zip_writer empty;
    CHECK(empty.finish().size() == 22);
}

TEST_CASE("zip_writer: more than 65535 entries use the ZIP64 end records") {
    sam::zip_writer z;
    const int n = 70000;
    for (int i = 0; i < n; i++) {
        const std::string name = "f/" + std::to_string(i) + ".txt";
        REQUIRE(z.add(name, (const uint8_t *)name.data(), name.size()).ok());
    }
    const std::vector<uint8_t> zip = z.finish();
    const auto files = zip_reader::read(zip);
    REQUIRE(files.size() == (size_t)n);
    CHECK(std::string(files.at("f/69999.txt").begin(), files.at("f/69999.txt").end()) == "f/69999.txt");
}

TEST_CASE("zip_writer: unsafe or duplicate names are refused, the archive unchanged") {
    sam::zip_writer z;
    const uint8_t b = 1;
    REQUIRE(z.add("a/b.txt", &b, 1).ok());
    for (const char *bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a/", "a/b.txt"}) {
        const std::string name = bad;
        CAPTURE(name);
        CHECK_FALSE(z.add(name, &b, 1).ok());
    }
    CHECK_FALSE(z.add(std::string("a\0b", 3), &b, 1).ok());
    CHECK(z.entries() == 1);
    CHECK(zip_reader::read(z.finish()).size() == 1);
}
