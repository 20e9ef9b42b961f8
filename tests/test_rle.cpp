// COCO RLE against pycocotools (shared/sam-reference/coco_rle: maskApi.c rleEncode +
// rleToString) and SAM's mask_to_rle_pytorch / area_from_rle (shared/sam-reference/amg).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rle.h"
#include "reference_data.h"

using nlohmann::json;

static sam::binary_mask mask_from(const sam::npy_array &a, size_t index = 0) {
    REQUIRE(a.shape.size() >= 2);
    const int h = (int)a.shape[a.shape.size() - 2], w = (int)a.shape[a.shape.size() - 1];
    sam::binary_mask m(w, h);
    const size_t n = (size_t)h * w;
    for (size_t i = 0; i < n; i++) m.data[i] = a.get_f64(index * n + i) != 0 ? 1 : 0;
    return m;
}

static json load_json(const std::string &rel) {
    std::vector<uint8_t> bytes = read_file_bytes(reference_path(rel));
    REQUIRE_MESSAGE(!bytes.empty(), "missing " << rel);
    json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
    REQUIRE_MESSAGE(!j.is_discarded(), "bad json " << rel);
    return j;
}

// Tight box by scanning pixels: an independent oracle for rle_to_bbox.
static sam::box_xywh scan_bbox(const sam::binary_mask &m) {
    int x0 = m.width, y0 = m.height, x1 = -1, y1 = -1;
    for (int y = 0; y < m.height; y++)
        for (int x = 0; x < m.width; x++)
            if (m.at(x, y)) {
                x0 = std::min(x0, x), x1 = std::max(x1, x);
                y0 = std::min(y0, y), y1 = std::max(y1, y);
            }
    sam::box_xywh b;
    if (x1 < 0) return b;
    b.x = x0, b.y = y0, b.w = x1 - x0 + 1, b.h = y1 - y0 + 1;
    return b;
}

static std::vector<uint32_t> u32_list(const json &j) {
    std::vector<uint32_t> v;
    for (const auto &e : j) v.push_back(e.get<uint32_t>());
    return v;
}

TEST_CASE("rle: byte-identical to pycocotools on shared/sam-reference/coco_rle") {
    json entries = load_json("coco_rle/rle.json");
    REQUIRE(entries.size() == 10);
    for (const auto &e : entries) {
        const std::string name = e["name"].get<std::string>();
        CAPTURE(name);
        sam::binary_mask m = mask_from(load_reference("masks", name));
        REQUIRE(m.height == e["size"][0].get<int>());
        REQUIRE(m.width == e["size"][1].get<int>());
        const std::vector<uint32_t> expected = u32_list(e["uncompressed_counts"]);
        const std::string expected_str = e["counts"].get<std::string>();

        sam::rle r = sam::mask_to_rle(m);
        CHECK(r.height == m.height);
        CHECK(r.width == m.width);
        CHECK(r.counts == expected);
        CHECK(sam::rle_to_string(r) == expected_str);
        CHECK(sam::rle_area(r) == e["area"].get<uint64_t>());

        sam::rle parsed;
        sam::status st = sam::rle_from_string(expected_str, m.height, m.width, parsed);
        REQUIRE_MESSAGE(st.ok(), st.message);
        CHECK(parsed.counts == expected);
        CHECK(sam::rle_to_mask(parsed).data == m.data);

        sam::box_xywh b = sam::rle_to_bbox(r), s = scan_bbox(m);
        CHECK(b.x == s.x);
        CHECK(b.y == s.y);
        CHECK(b.w == s.w);
        CHECK(b.h == s.h);
    }
}

TEST_CASE("rle: SAM mask_to_rle_pytorch counts and area_from_rle on amg/rle_masks") {
    json j = load_json("amg/amg_rle.json");
    sam::npy_array a = load_reference("amg", "rle_masks");
    REQUIRE(a.shape.size() == 3);
    REQUIRE(j["rle"].size() == (size_t)a.shape[0]);
    for (size_t i = 0; i < (size_t)a.shape[0]; i++) {
        CAPTURE(i);
        const json &e = j["rle"][i];
        sam::binary_mask m = mask_from(a, i);
        sam::rle r = sam::mask_to_rle(m);
        CHECK(r.height == e["size"][0].get<int>());
        CHECK(r.width == e["size"][1].get<int>());
        CHECK(r.counts == u32_list(e["counts"]));
        CHECK(sam::rle_area(r) == e["area"].get<uint64_t>());
        CHECK(sam::rle_to_mask(r).data == m.data);
    }
}

TEST_CASE("rle: rle_to_bbox follows rleToBbox") {
    // 4x3 mask (h=4, w=3): ones at (x=0,y=3) and (x=1,y=0) form one column-major run that
    // wraps columns, so every row is covered.
    sam::binary_mask m(3, 4);
    m.at(0, 3) = 1;
    m.at(1, 0) = 1;
    sam::box_xywh b = sam::rle_to_bbox(sam::mask_to_rle(m));
    CHECK(b.x == 0);
    CHECK(b.y == 0);
    CHECK(b.w == 2);
    CHECK(b.h == 4);
    // One pixel.
    sam::binary_mask p(5, 6);
    p.at(4, 2) = 1;
    b = sam::rle_to_bbox(sam::mask_to_rle(p));
    CHECK(b.x == 4);
    CHECK(b.y == 2);
    CHECK(b.w == 1);
    CHECK(b.h == 1);
    // Empty masks and non-canonical empty runs of ones.
    b = sam::rle_to_bbox(sam::mask_to_rle(sam::binary_mask(5, 6)));
    CHECK(b.w == 0);
    CHECK(b.h == 0);
    sam::rle odd{6, 5, {7, 0, 23}};
    b = sam::rle_to_bbox(odd);
    CHECK(b.w == 0);
    CHECK(sam::rle_area(odd) == 0);
}

TEST_CASE("rle: rle_from_string refuses malformed strings") {
    sam::rle out{2, 3, {6}};
    const sam::rle before = out;
    auto refuse = [&](const std::string &s, int h, int w, const char *needle) {
        CAPTURE(s);
        sam::status st = sam::rle_from_string(s, h, w, out);
        CHECK_FALSE(st.ok());
        CHECK_MESSAGE(st.message.find(needle) != std::string::npos, st.message);
        CHECK(out.counts == before.counts);
        CHECK(out.height == before.height);
    };
    refuse("P", 1, 1, "ends inside a number");         // continuation bit set on the last char
    refuse("0i", 31, 7, "ends inside a number");       // "0i6" cut short
    refuse("0 1", 1, 1, "character code 32");
    refuse("01~", 1, 1, "character code 126");
    refuse(std::string("0\0" "1", 3), 1, 1, "character code 0");
    refuse("02", 1, 1, "exceed");                      // 0 + 2 > 1 pixel
    refuse("0", 1, 1, "sum to 0");                     // too few pixels
    refuse("", 2, 2, "sum to 0");
    refuse("ooooooo0", 4, 4, "longer than 7");         // would overflow 32 bits
    refuse("00000O", 1, 1, "decodes to -1");           // delta from counts[1] goes negative
    refuse("0i6", -31, 7, "negative");

    // Accepted edge cases: an empty 0-pixel mask and an all-zero one.
    sam::rle r;
    CHECK(sam::rle_from_string("", 0, 5, r).ok());
    CHECK(r.counts.empty());
    REQUIRE(sam::rle_from_string("W<", 17, 23, r).ok());
    CHECK(r.counts == std::vector<uint32_t>{391});
}

TEST_CASE("rle: rle_to_string round-trips large counts and deltas") {
    // Deltas of both signs and counts beyond 2^20 exercise every continuation group.
    sam::rle r{4096, 4096, {}};
    const uint32_t runs[] = {0, 1, 3000000, 17, 5, 2000000, 1, 1, 16};
    uint64_t sum = 0;
    for (uint32_t c : runs) r.counts.push_back(c), sum += c;
    r.counts.push_back((uint32_t)(4096ull * 4096 - sum));
    sam::rle back;
    sam::status st = sam::rle_from_string(sam::rle_to_string(r), r.height, r.width, back);
    REQUIRE_MESSAGE(st.ok(), st.message);
    CHECK(back.counts == r.counts);
}

TEST_CASE("rle: rle_merge equals the pixelwise operation") {
    // Reference blobs against a shifted copy of itself and a stripe pattern.
    sam::binary_mask a = mask_from(load_reference("masks", "blobs_120x160"));
    sam::binary_mask b(a.width, a.height), c(a.width, a.height);
    for (int y = 0; y < a.height; y++)
        for (int x = 0; x < a.width; x++) {
            b.at(x, y) = (x >= 13 && y >= 7) ? a.at(x - 13, y - 7) : 0;
            c.at(x, y) = ((x / 5 + y / 3) % 2) == 0;
        }
    const std::pair<sam::rle_merge_op, const char *> ops[] = {{sam::rle_merge_op::union_, "union"},
                                                              {sam::rle_merge_op::intersect, "intersect"},
                                                              {sam::rle_merge_op::subtract, "subtract"}};
    const sam::binary_mask *others[] = {&b, &c, &a};
    for (const auto &op : ops) {
        for (const sam::binary_mask *o : others) {
            CAPTURE(op.second);
            sam::binary_mask expect(a.width, a.height);
            for (size_t i = 0; i < a.data.size(); i++) {
                uint8_t p = a.data[i], q = o->data[i];
                expect.data[i] = op.first == sam::rle_merge_op::union_       ? (p | q)
                                 : op.first == sam::rle_merge_op::intersect ? (p & q)
                                                                            : (p & !q);
            }
            sam::rle got = sam::rle_merge(sam::mask_to_rle(a), sam::mask_to_rle(*o), op.first);
            CHECK(got.counts == sam::mask_to_rle(expect).counts);  // canonical, not just equal pixels
            CHECK(sam::rle_is_valid(got));
        }
    }
    // Mismatched sizes give an empty rle rather than reading out of bounds.
    sam::rle bad = sam::rle_merge(sam::mask_to_rle(a), sam::mask_to_rle(sam::binary_mask(3, 3)),
                                  sam::rle_merge_op::union_);
    CHECK(bad.counts.empty());
    CHECK_FALSE(sam::rle_is_valid(bad));
}

TEST_CASE("rle: 2250x1500 mask round trip (prints timings; not asserted)") {
    const int w = 2250, h = 1500;
    sam::binary_mask m(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double dx = (x - 1100.0) / 900.0, dy = (y - 760.0) / 600.0;
            double r = std::sqrt(dx * dx + dy * dy);
            m.at(x, y) = r < 1.0 + 0.08 * std::sin(9.0 * std::atan2(dy, dx));
        }
    double best_enc = 1e9, best_dec = 1e9;
    sam::rle r;
    for (int rep = 0; rep < 5; rep++) {
        auto t0 = std::chrono::steady_clock::now();
        r = sam::mask_to_rle(m);
        auto t1 = std::chrono::steady_clock::now();
        sam::binary_mask back = sam::rle_to_mask(r);
        auto t2 = std::chrono::steady_clock::now();
        best_enc = std::min(best_enc, std::chrono::duration<double, std::milli>(t1 - t0).count());
        best_dec = std::min(best_dec, std::chrono::duration<double, std::milli>(t2 - t1).count());
        REQUIRE(back.data == m.data);
    }
    MESSAGE("mask_to_rle 2250x1500: " << best_enc << " ms, rle_to_mask: " << best_dec << " ms, " << r.counts.size()
                                      << " runs");
}
