// join_rings: one polygon per mask with zero-width bridges. Exact rings joined must give
// back the mask pixel for pixel under three rasterisers (pycocotools rules, pixel-centre
// even-odd, pixel-centre non-zero winding); on generated and reference masks.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>

#include "core/polygon.h"
#include "core/polygon_join.h"
#include "mask_shapes.h"

TEST_CASE("polygon_join: exact rings joined rasterise back to the mask (3 rasterisers)") {
    for (const auto &c : mask_shapes::polygon_test_masks()) {
        CAPTURE(c.name);
        const sam::polygon_set ps = sam::mask_to_polygons(c.m, 0.0);
        const sam::polygon p = sam::join_rings(ps);
        REQUIRE(p.xy.size() >= 6);
        const int w = c.m.width, h = c.m.height;
        CHECK(sam::polygons_to_mask({p}, h, w).data == c.m.data);
        CHECK(mask_shapes::rasterise_centres(p, w, h, false).data == c.m.data);
        CHECK(mask_shapes::rasterise_centres(p, w, h, true).data == c.m.data);
        // Every ring vertex is on the joined polygon; no consecutive repeats.
        size_t ring_points = 0;
        for (const auto &r : ps.polygons) ring_points += r.xy.size() / 2;
        for (const auto &r : ps.holes) ring_points += r.xy.size() / 2;
        CHECK(p.xy.size() / 2 >= ring_points);
        for (size_t i = 2; i < p.xy.size(); i += 2) CHECK_FALSE((p.xy[i] == p.xy[i - 2] && p.xy[i + 1] == p.xy[i - 1]));
    }
}

TEST_CASE("polygon_join: bridges are walked twice and are short") {
    // Two squares 10 px apart: one bridge between their nearest corners, out and back.
    sam::binary_mask m(60, 20);
    mask_shapes::paint_rect(m, 5, 5, 15, 15);
    mask_shapes::paint_rect(m, 25, 5, 35, 15);
    const sam::polygon p = sam::join_rings(sam::mask_to_polygons(m, 0.0));
    REQUIRE(p.xy.size() == 2 * (4 + 4 + 2));  // 8 corners, the attach corner of each visited twice
    double longest = 0;
    const size_t n = p.xy.size() / 2;
    for (size_t i = 0; i < n; i++) {
        const size_t j = (i + 1) % n;
        longest = std::max(longest, (double)std::hypot(p.xy[2 * j] - p.xy[2 * i], p.xy[2 * j + 1] - p.xy[2 * i + 1]));
    }
    CHECK(longest == doctest::Approx(10.0));  // square sides and the 10-px bridge
    // A square ring: the hole is bridged to the outer border at their closest vertices.
    sam::binary_mask r(40, 40);
    mask_shapes::paint_rect(r, 5, 5, 35, 35);
    mask_shapes::paint_rect(r, 10, 15, 30, 25, 0);
    const sam::polygon q = sam::join_rings(sam::mask_to_polygons(r, 0.0));
    CHECK(q.xy.size() == 2 * (4 + 4 + 2));
    CHECK(sam::polygons_to_mask({q}, 40, 40).data == r.data);
    // Nothing in, nothing out.
    CHECK(sam::join_rings(sam::polygon_set{}).xy.empty());
}

TEST_CASE("polygon_join: 2250x1500 blob with 1000 specks and holes (prints timing; not asserted)") {
    const int w = 2250, h = 1500;
    sam::binary_mask m(w, h);
    mask_shapes::lcg g{2024};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const double dx = (x - 1100.0) / 900.0, dy = (y - 760.0) / 600.0;
            m.at(x, y) = std::sqrt(dx * dx + dy * dy) < 1.0 + 0.08 * std::sin(9.0 * std::atan2(dy, dx));
        }
    for (int k = 0; k < 1000; k++) {  // specks outside, holes inside
        const int x = (int)(w * g.next()), y = (int)(h * g.next());
        m.at(x, y) ^= 1;
        if (x + 1 < w) m.at(x + 1, y) ^= 1;
    }
    const sam::polygon_set ps = sam::mask_to_polygons(m, 1.0);
    const auto t0 = std::chrono::steady_clock::now();
    const sam::polygon p = sam::join_rings(ps);
    const auto t1 = std::chrono::steady_clock::now();
    MESSAGE("join_rings: " << ps.polygons.size() << " outer rings + " << ps.holes.size() << " holes -> "
                           << p.xy.size() / 2 << " points in "
                           << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms");
    CHECK(mask_shapes::iou(sam::polygons_to_mask({p}, h, w), m) >= 0.98);
}
