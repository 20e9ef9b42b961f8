// mask_shapes.h - generated test masks for the polygon-based exports (holes, several parts,
// thin parts, masks touching the image border) and independent rasterisers to check them.
// Every mask is a sam::binary_mask (HxW, row-major, 0/1); shapes are deterministic (fixed
// seeds). The rasterisers sample pixel centres (x + 0.5, y + 0.5) with the even-odd or the
// non-zero winding rule: for polygons on the pixel-corner grid both are exact, and neither
// shares code with the core's pycocotools-style polygons_to_mask. polygon_test_masks() adds
// the reference masks that tests/test_polygon.cpp uses (../shared/sam-reference).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/image.h"
#include "core/polygon.h"
#include "reference_data.h"

namespace mask_shapes {

inline double iou(const sam::binary_mask &a, const sam::binary_mask &b) {
    size_t inter = 0, uni = 0;
    for (size_t i = 0; i < a.data.size() && i < b.data.size(); i++)
        inter += a.data[i] && b.data[i], uni += a.data[i] || b.data[i];
    return uni ? (double)inter / uni : (a.data.size() == b.data.size() ? 1.0 : 0.0);
}

inline void paint_disk(sam::binary_mask &m, double cx, double cy, double r, uint8_t v = 1) {
    for (int y = 0; y < m.height; y++)
        for (int x = 0; x < m.width; x++)
            if (std::hypot(x + 0.5 - cx, y + 0.5 - cy) < r) m.at(x, y) = v;
}

inline void paint_rect(sam::binary_mask &m, int x0, int y0, int x1, int y1, uint8_t v = 1) {
    for (int y = std::max(0, y0); y < std::min(m.height, y1); y++)
        for (int x = std::max(0, x0); x < std::min(m.width, x1); x++) m.at(x, y) = v;
}

// Small deterministic generator (numbers only depend on the seed).
struct lcg {
    uint64_t s;
    double next() {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return (double)(s >> 11) / (double)(1ull << 53);
    }
};

struct named_mask {
    std::string name;
    sam::binary_mask m;
};

// Shapes that stress one-polygon-per-instance formats.
inline std::vector<named_mask> generated_masks() {
    std::vector<named_mask> out;
    auto add = [&](const char *name, const sam::binary_mask &m) { out.push_back({name, m}); };
    sam::binary_mask m(200, 150);
    paint_disk(m, 90.3, 70.7, 52.0);
    add("disk", m);
    paint_disk(m, 90.3, 70.7, 20.0, 0);
    add("ring (one hole)", m);
    paint_disk(m, 90.3, 70.7, 8.0);
    paint_disk(m, 175, 20, 14);
    paint_rect(m, 150, 110, 195, 145);
    add("ring with an island in its hole, two more parts", m);

    sam::binary_mask nested(160, 160);
    for (int k = 0; k < 4; k++) paint_disk(nested, 80, 80, 75 - 18 * k, k % 2 == 0);
    add("nested rings (hole, island, hole)", nested);

    sam::binary_mask holes(300, 200);
    paint_rect(holes, 20, 20, 280, 180);
    lcg g{7};
    for (int k = 0; k < 25; k++) paint_disk(holes, 40 + 220 * g.next(), 40 + 120 * g.next(), 3 + 9 * g.next(), 0);
    add("rectangle with 25 random holes", holes);

    sam::binary_mask parts(320, 240);
    lcg p{11};
    for (int k = 0; k < 40; k++) {
        const double x = 320 * p.next(), y = 240 * p.next(), r = 2 + 10 * p.next();
        if (k % 2) paint_disk(parts, x, y, r);
        else paint_rect(parts, (int)x, (int)y, (int)(x + r * 1.5), (int)(y + r));
    }
    add("40 random parts", parts);

    sam::binary_mask thin(220, 120);
    thin.at(5, 5) = 1;                                          // a speck
    for (int x = 10; x < 210; x++) thin.at(x, 20) = 1;          // 1-px horizontal line
    for (int y = 30; y < 115; y++) thin.at(15, y) = 1;          // 1-px vertical line
    for (int k = 0; k < 80; k++) thin.at(40 + k, 30 + k) = 1;   // 1-px diagonal: corner contacts only
    for (int k = 0; k < 80; k++) thin.at(130 + k, 30 + k) = thin.at(131 + k, 30 + k) = 1;  // 2-px diagonal
    for (int x = 60; x < 200; x++) thin.at(x, 112) = thin.at(x, 113) = 1;  // 2-px bar
    add("thin parts (specks, 1-px lines, diagonals)", thin);

    sam::binary_mask border(180, 120);
    paint_rect(border, 0, 0, 180, 3);
    paint_rect(border, 0, 117, 180, 120);
    paint_rect(border, 0, 0, 3, 120);
    paint_rect(border, 177, 0, 180, 120);
    paint_disk(border, 0, 60, 30);  // cut by the left edge
    paint_rect(border, 100, 40, 140, 80);
    paint_rect(border, 110, 50, 130, 70, 0);
    add("frame on all four borders, border-cut disk, square ring", border);

    sam::binary_mask full(64, 48);
    paint_rect(full, 0, 0, 64, 48);
    add("whole image", full);
    paint_rect(full, 20, 10, 40, 30, 0);
    add("whole image with a hole", full);

    sam::binary_mask spiral(200, 200);
    for (double t = 0; t < 6 * 3.14159265; t += 0.002) {
        const double r = 4 + 5.0 * t;
        const int x = (int)(100 + r * std::cos(t)), y = (int)(100 + r * std::sin(t));
        if (x >= 0 && y >= 0 && x < 200 && y < 200) spiral.at(x, y) = 1;
    }
    add("thin spiral", spiral);

    sam::binary_mask checker(23, 17);
    for (int y = 0; y < 17; y++)
        for (int x = 0; x < 23; x++) checker.at(x, y) = (x + y) % 2;
    add("checkerboard (every part touches others at corners only)", checker);

    sam::binary_mask comb(400, 100);
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 400; x++) comb.at(x, y) = y < 4 || (x % 2 == 0 && y < 90);
    add("comb of 1-px teeth", comb);
    return out;
}

inline sam::binary_mask reference_mask(const char *npz, const char *key) {
    const sam::npy_array a = load_reference(npz, key);
    REQUIRE(a.shape.size() == 2);
    sam::binary_mask m((int)a.shape[1], (int)a.shape[0]);
    for (size_t i = 0; i < m.data.size(); i++) m.data[i] = a.get_f64(i) != 0;
    return m;
}

// generated_masks() plus the non-empty coco_rle reference masks and AMG's rsr_input.
inline std::vector<named_mask> polygon_test_masks() {
    std::vector<named_mask> v = generated_masks();
    for (const char *k : {"all_one_31x7", "row_1x50", "col_40x1", "single_1x1_one", "sparse_64x48", "dense_48x64",
                          "blobs_120x160", "long_runs_300x400", "checker_9x11_starts_with_1"})
        v.push_back({std::string("coco_rle ") + k, reference_mask("masks", k)});
    v.push_back({"amg rsr_input", reference_mask("amg", "rsr_input")});
    return v;
}

// Pixel-centre rasterisers over one polygon (pixel-corner coordinates): per row, the
// edges crossing y + 0.5, then each pixel centre counts the crossings to its right.
inline sam::binary_mask rasterise_centres(const sam::polygon &p, int w, int h, bool nonzero) {
    sam::binary_mask m(w, h);
    const size_t n = p.xy.size() / 2;
    std::vector<std::pair<double, int>> xs;  // crossing x, edge direction
    for (int y = 0; y < h; y++) {
        const double cy = y + 0.5;
        xs.clear();
        for (size_t i = 0; i < n; i++) {
            const double x0 = p.xy[2 * i], y0 = p.xy[2 * i + 1];
            const double x1 = p.xy[2 * ((i + 1) % n)], y1 = p.xy[2 * ((i + 1) % n) + 1];
            if ((y0 <= cy) == (y1 <= cy)) continue;
            xs.push_back({x0 + (cy - y0) * (x1 - x0) / (y1 - y0), y1 > y0 ? 1 : -1});
        }
        std::sort(xs.begin(), xs.end());
        int winding = 0, crossings = (int)xs.size();  // of the crossings right of the centre
        for (const auto &c : xs) winding += c.second;
        size_t j = 0;
        for (int x = 0; x < w; x++) {
            for (; j < xs.size() && xs[j].first <= x + 0.5; j++) winding -= xs[j].second, crossings--;
            m.at(x, y) = nonzero ? winding != 0 : crossings % 2 == 1;
        }
    }
    return m;
}

}  // namespace mask_shapes
