// mask <-> COCO polygons: exact pixel-corner tracing at tolerance 0, Douglas-Peucker
// round trips on the reference masks (coco_rle/masks, amg/rsr_input), hole reporting.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "core/polygon.h"
#include "reference_data.h"

static sam::binary_mask mask_from(const sam::npy_array &a) {
    REQUIRE(a.shape.size() == 2);
    const int h = (int)a.shape[0], w = (int)a.shape[1];
    sam::binary_mask m(w, h);
    for (size_t i = 0; i < m.data.size(); i++) m.data[i] = a.get_f64(i) != 0 ? 1 : 0;
    return m;
}

// Independent oracle for "the mask with its holes filled": flood the background from the
// frame with 8-connectivity (the complement of 4-connected foreground); what it does not
// reach is foreground or hole.
static sam::binary_mask fill_holes(const sam::binary_mask &m) {
    const int w = m.width, h = m.height;
    std::vector<uint8_t> outside(m.data.size(), 0);
    std::vector<int> stack;
    auto push = [&](int x, int y) {
        if (x < 0 || y < 0 || x >= w || y >= h) return;
        const size_t i = (size_t)y * w + x;
        if (m.data[i] || outside[i]) return;
        outside[i] = 1;
        stack.push_back((int)i);
    };
    for (int x = 0; x < w; x++) push(x, 0), push(x, h - 1);
    for (int y = 0; y < h; y++) push(0, y), push(w - 1, y);
    while (!stack.empty()) {
        const int i = stack.back(), x = i % w, y = i / w;
        stack.pop_back();
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) push(x + dx, y + dy);
    }
    sam::binary_mask f(w, h);
    for (size_t i = 0; i < f.data.size(); i++) f.data[i] = !outside[i];
    return f;
}

static double iou(const sam::binary_mask &a, const sam::binary_mask &b) {
    REQUIRE(a.data.size() == b.data.size());
    size_t inter = 0, uni = 0;
    for (size_t i = 0; i < a.data.size(); i++) inter += a.data[i] && b.data[i], uni += a.data[i] || b.data[i];
    return uni ? (double)inter / uni : 1.0;
}

// Number of 4-connected foreground components, by flood fill.
static size_t count_components4(const sam::binary_mask &m) {
    std::vector<uint8_t> seen(m.data.size(), 0);
    std::vector<int> stack;
    size_t n = 0;
    for (size_t s = 0; s < m.data.size(); s++) {
        if (!m.data[s] || seen[s]) continue;
        n++;
        seen[s] = 1;
        stack.push_back((int)s);
        while (!stack.empty()) {
            const int i = stack.back(), x = i % m.width, y = i / m.width;
            stack.pop_back();
            const int nx[4] = {x - 1, x + 1, x, x}, ny[4] = {y, y, y - 1, y + 1};
            for (int k = 0; k < 4; k++) {
                if (nx[k] < 0 || ny[k] < 0 || nx[k] >= m.width || ny[k] >= m.height) continue;
                const size_t j = (size_t)ny[k] * m.width + nx[k];
                if (m.data[j] && !seen[j]) seen[j] = 1, stack.push_back((int)j);
            }
        }
    }
    return n;
}

static size_t count_ones(const sam::binary_mask &m) {
    return (size_t)std::count_if(m.data.begin(), m.data.end(), [](uint8_t v) { return v != 0; });
}

static sam::binary_mask disk(int w, int h, double cx, double cy, double r, double r_in = -1) {
    sam::binary_mask m(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const double d = std::hypot(x + 0.5 - cx, y + 0.5 - cy);
            m.at(x, y) = d < r && d >= r_in;
        }
    return m;
}

static const char *const k_reference_masks[] = {"all_zero_17x23", "all_one_31x7",  "row_1x50",
                                                "col_40x1",       "single_1x1_one", "sparse_64x48",
                                                "dense_48x64",    "blobs_120x160",  "long_runs_300x400",
                                                "checker_9x11_starts_with_1"};

TEST_CASE("polygon: tolerance 0 traces pixel corners exactly (all coco_rle reference masks)") {
    for (const char *name : k_reference_masks) {
        CAPTURE(name);
        const sam::binary_mask m = mask_from(load_reference("masks", name));
        const sam::binary_mask filled = fill_holes(m);
        const sam::polygon_set ps = sam::mask_to_polygons(m, 0.0);
        CHECK(ps.has_holes == (filled.data != m.data));
        CHECK(ps.has_holes == !ps.holes.empty());
        CHECK(ps.polygons.size() == count_components4(m));
        for (const auto &p : ps.polygons) {
            REQUIRE(p.xy.size() >= 6);
            REQUIRE(p.xy.size() % 2 == 0);
            for (size_t i = 0; i < p.xy.size(); i += 2) {
                // Corners lie on the integer grid inside [0, w] x [0, h], and consecutive
                // corners share x or y (axis-aligned, no collinear corner left).
                const float x = p.xy[i], y = p.xy[i + 1];
                CHECK(x == std::floor(x));
                CHECK((x >= 0 && x <= m.width && y >= 0 && y <= m.height));
                const size_t j = (i + 2) % p.xy.size(), k = (i + 4) % p.xy.size();
                CHECK((p.xy[j] == x) != (p.xy[j + 1] == y));
                CHECK((p.xy[j] == x) != (p.xy[k] == p.xy[j]));
            }
        }
        // Outer borders rasterise (pycocotools rules) to the mask with holes filled.
        CHECK(sam::polygons_to_mask(ps.polygons, m.height, m.width).data == filled.data);
    }
}

TEST_CASE("polygon: checkerboard and diagonal contact are separate 4-connected components") {
    const sam::binary_mask m = mask_from(load_reference("masks", "checker_9x11_starts_with_1"));
    const sam::polygon_set ps = sam::mask_to_polygons(m, 0.0);
    CHECK(ps.polygons.size() == count_components4(m));
    CHECK(ps.polygons.size() > 40);  // almost every pixel is its own component
    CHECK_FALSE(ps.has_holes);  // background is 8-connected through the diagonals

    // Two pixels touching at a corner, plus an L that touches itself diagonally.
    sam::binary_mask d(6, 5);
    d.at(0, 0) = d.at(1, 1) = 1;
    d.at(3, 1) = d.at(4, 1) = d.at(4, 2) = d.at(3, 3) = d.at(4, 3) = d.at(5, 2) = 1;
    const sam::polygon_set pd = sam::mask_to_polygons(d, 0.0);
    CHECK(pd.polygons.size() == 3);
    CHECK(sam::polygons_to_mask(pd.polygons, 5, 6).data == fill_holes(d).data);
}

TEST_CASE("polygon: a lone pixel is its corner square") {
    sam::binary_mask m(7, 6);
    m.at(3, 4) = 1;
    const sam::polygon_set ps = sam::mask_to_polygons(m, 0.0);
    REQUIRE(ps.polygons.size() == 1);
    CHECK(ps.polygons[0].xy == std::vector<float>{4, 4, 4, 5, 3, 5, 3, 4});
    CHECK(sam::polygons_to_mask(ps.polygons, 6, 7).data == m.data);
}

TEST_CASE("polygon: 1 px Douglas-Peucker round trip keeps IoU >= 0.98 on reference blobs") {
    struct named {
        std::string name;
        sam::binary_mask m;
    };
    const named cases[] = {{"blobs_120x160", mask_from(load_reference("masks", "blobs_120x160"))},
                           {"long_runs_300x400", mask_from(load_reference("masks", "long_runs_300x400"))},
                           {"amg rsr_input", mask_from(load_reference("amg", "rsr_input"))}};
    for (const auto &c : cases) {
        CAPTURE(c.name);
        const sam::polygon_set exact = sam::mask_to_polygons(c.m, 0.0);
        const sam::polygon_set ps = sam::mask_to_polygons(c.m, 1.0);
        size_t n_exact = 0, n_simple = 0;
        for (const auto &p : exact.polygons) n_exact += p.xy.size() / 2;
        for (const auto &p : ps.polygons) n_simple += p.xy.size() / 2;
        const double v = iou(sam::polygons_to_mask(ps.polygons, c.m.height, c.m.width), fill_holes(c.m));
        MESSAGE(c.name << ": " << n_exact << " corners -> " << n_simple << " points, IoU " << v);
        CHECK(v >= 0.98);
        CHECK(n_simple <= n_exact);
        if (n_exact > 100) CHECK(n_simple < n_exact);  // simplification did something
        CHECK(ps.polygons.size() == exact.polygons.size());  // no component lost
        // Kept points are border points: corners or midpoints of unit border edges.
        for (const auto &p : ps.polygons)
            for (size_t i = 0; i < p.xy.size(); i++) CHECK(2 * p.xy[i] == std::floor(2 * p.xy[i]));
    }
}

TEST_CASE("polygon: axis-aligned shapes stay exact when simplified") {
    // Rectangles, an L and a plus: real corners are kept, so tolerance does not cut them.
    sam::binary_mask m(60, 40);
    for (int y = 3; y < 15; y++)
        for (int x = 2; x < 30; x++) m.at(x, y) = 1;
    for (int y = 20; y < 38; y++)
        for (int x = 5; x < 9; x++) m.at(x, y) = 1;
    for (int x = 5; x < 25; x++) m.at(x, 37) = m.at(x, 36) = 1;
    for (int y = 18; y < 35; y++) m.at(45, y) = m.at(46, y) = 1;
    for (int x = 38; x < 54; x++) m.at(x, 25) = m.at(x, 26) = 1;
    for (double tol : {0.5, 1.0, 2.0, 5.0}) {
        CAPTURE(tol);
        const sam::polygon_set ps = sam::mask_to_polygons(m, tol);
        CHECK(ps.polygons.size() == 3);
        CHECK(sam::polygons_to_mask(ps.polygons, 40, 60).data == m.data);
        size_t n = 0;
        for (const auto &p : ps.polygons) n += p.xy.size() / 2;
        CHECK(n == 4 + 6 + 12);
    }
}

TEST_CASE("polygon: disk, ring and several components") {
    // Disk: few points, nearly exact.
    const sam::binary_mask d = disk(200, 150, 90.3, 70.7, 52.0);
    sam::polygon_set ps = sam::mask_to_polygons(d, 1.0);
    REQUIRE(ps.polygons.size() == 1);
    CHECK_FALSE(ps.has_holes);
    CHECK(ps.polygons[0].xy.size() / 2 < 80);
    CHECK(iou(sam::polygons_to_mask(ps.polygons, 150, 200), d) >= 0.98);

    // Ring: the outer border fills the hole; the hole is reported and rasterises to it.
    const sam::binary_mask r = disk(200, 150, 100, 75, 60, 25);
    ps = sam::mask_to_polygons(r, 0.0);
    REQUIRE(ps.polygons.size() == 1);
    REQUIRE(ps.holes.size() == 1);
    CHECK(ps.has_holes);
    const sam::binary_mask outer = sam::polygons_to_mask(ps.polygons, 150, 200);
    const sam::binary_mask hole = sam::polygons_to_mask(ps.holes, 150, 200);
    CHECK(outer.data == fill_holes(r).data);
    for (size_t i = 0; i < r.data.size(); i++) {
        CHECK_MESSAGE(r.data[i] == (outer.data[i] && !hole.data[i]), "pixel " << i);
        if (r.data[i] != (outer.data[i] && !hole.data[i])) break;
    }
    CHECK(count_ones(hole) > 1800);  // pi * 25^2 ~ 1963

    // Several components (one inside the ring's hole) at 1 px.
    sam::binary_mask many = r;
    const sam::binary_mask extra[] = {disk(200, 150, 100, 75, 10), disk(200, 150, 15, 15, 9), disk(200, 150, 185, 135, 12)};
    for (const auto &e : extra)
        for (size_t i = 0; i < many.data.size(); i++) many.data[i] |= e.data[i];
    ps = sam::mask_to_polygons(many, 1.0);
    CHECK(ps.polygons.size() == 4);
    CHECK(ps.holes.size() == 1);
    CHECK(iou(sam::polygons_to_mask(ps.polygons, 150, 200), fill_holes(many)) >= 0.98);

    // Specks and one-pixel lines thinner than the tolerance are kept exactly, not lost.
    sam::binary_mask thin(120, 10);
    thin.at(5, 5) = 1;
    for (int x = 10; x < 110; x++) thin.at(x, 2) = 1;
    ps = sam::mask_to_polygons(thin, 1.5);
    CHECK(ps.polygons.size() == 2);
    CHECK(sam::polygons_to_mask(ps.polygons, 10, 120).data == thin.data);
}

TEST_CASE("polygon: polygons_to_mask follows pycocotools rleFrPoly on slanted and clipped edges") {
    // A right triangle with legs on pixel corners: pycocotools fills pixel (x, y) when its
    // centre (x+0.5, y+0.5) is strictly under the hypotenuse y = x (up to the 5x grid).
    sam::polygon tri{{0, 0, 10, 10, 0, 10}};
    sam::binary_mask m = sam::polygons_to_mask({tri}, 12, 12);
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 12; x++) {
            CAPTURE(x);
            CAPTURE(y);
            CHECK(m.at(x, y) == (y < 10 && x <= y));
        }
    // Clipping: a box larger than the image fills it; an empty or 2-point list gives nothing.
    sam::polygon big{{-5, -5, 30, -5, 30, 30, -5, 30}};
    CHECK(count_ones(sam::polygons_to_mask({big}, 8, 9)) == 72u);
    CHECK(count_ones(sam::polygons_to_mask({sam::polygon{}}, 8, 9)) == 0u);
    CHECK(count_ones(sam::polygons_to_mask({sam::polygon{{1, 1, 5, 5}}}, 8, 9)) == 0u);
    // Absurd coordinates and NaN do not hang or crash.
    sam::polygon wild{{-1e30f, 2, 1e30f, 3, NAN, 4e9f}};
    CHECK(sam::polygons_to_mask({wild}, 8, 9).data.size() == 72u);
    CHECK(sam::polygons_to_mask({big}, 0, 9).data.empty());
}

TEST_CASE("polygon: 2250x1500 blob (prints timings; not asserted)") {
    const int w = 2250, h = 1500;
    sam::binary_mask m(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const double dx = (x - 1100.0) / 900.0, dy = (y - 760.0) / 600.0;
            m.at(x, y) = std::sqrt(dx * dx + dy * dy) < 1.0 + 0.08 * std::sin(9.0 * std::atan2(dy, dx));
        }
    double best_trace = 1e9, best_raster = 1e9;
    sam::polygon_set ps;
    sam::binary_mask back;
    for (int rep = 0; rep < 3; rep++) {
        auto t0 = std::chrono::steady_clock::now();
        ps = sam::mask_to_polygons(m, 1.0);
        auto t1 = std::chrono::steady_clock::now();
        back = sam::polygons_to_mask(ps.polygons, h, w);
        auto t2 = std::chrono::steady_clock::now();
        best_trace = std::min(best_trace, std::chrono::duration<double, std::milli>(t1 - t0).count());
        best_raster = std::min(best_raster, std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
    REQUIRE(ps.polygons.size() == 1);
    const double v = iou(back, m);
    MESSAGE("mask_to_polygons 2250x1500 (tol 1): " << best_trace << " ms, " << ps.polygons[0].xy.size() / 2
                                                   << " points; polygons_to_mask: " << best_raster << " ms; IoU "
                                                   << v);
    CHECK(v >= 0.999);

    // Worst case for Douglas-Peucker: one ring around a comb of one-pixel teeth.
    sam::binary_mask comb(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) comb.at(x, y) = y < 4 || x % 2 == 0;
    auto t0 = std::chrono::steady_clock::now();
    ps = sam::mask_to_polygons(comb, 1.0);
    auto t1 = std::chrono::steady_clock::now();
    REQUIRE(ps.polygons.size() == 1);
    MESSAGE("mask_to_polygons 2250x1500 comb (tol 1): "
            << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms, "
            << ps.polygons[0].xy.size() / 2 << " points");
    CHECK(iou(sam::polygons_to_mask(ps.polygons, h, w), comb) >= 0.98);
}
