// Automatic-mask-generator helpers against segment_anything/utils/amg.py
// outputs in shared/sam-reference/amg (OpenCV 4.6 for remove_small_regions).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/amg.h"
#include "reference_data.h"

static sam::binary_mask mask_from(const sam::npy_array &a) {
    sam::binary_mask m((int)a.shape[1], (int)a.shape[0]);
    for (size_t k = 0; k < m.data.size(); k++) m.data[k] = a.data[k] ? 1 : 0;
    return m;
}

TEST_CASE("amg: point grids equal build_point_grid / build_all_layer_point_grids") {
    std::vector<double> ref = load_reference("amg", "point_grid_32").to_f64();
    CHECK(sam::build_point_grid(32) == ref);  // same float64 ops: exact

    for (int n_layers : {1, 2}) {
        CAPTURE(n_layers);
        std::vector<std::vector<double>> g = sam::build_all_layer_point_grids(32, n_layers, 2);
        REQUIRE(g.size() == (size_t)n_layers + 1);
        for (int i = 0; i <= n_layers; i++) {
            std::string key = "all_layer_grids_32_" + std::to_string(n_layers) + "_2.layer" + std::to_string(i);
            CHECK(g[i] == load_reference("amg", key).to_f64());
        }
    }
    std::vector<double> one = sam::build_point_grid(1);
    REQUIRE(one.size() == 2);
    CHECK(one[0] == 0.5);
    CHECK(one[1] == 0.5);
    CHECK(sam::build_point_grid(0).empty());
}

TEST_CASE("amg: generate_crop_boxes equals the official boxes and layer indices") {
    for (int n : {1, 2}) {
        CAPTURE(n);
        std::vector<sam::box_xyxy> boxes;
        std::vector<int> layers;
        sam::generate_crop_boxes(1500, 2250, n, 512.0 / 1500, boxes, layers);
        std::vector<int64_t> rb = load_reference("amg", "crop_boxes_1500x2250_n" + std::to_string(n)).to_i64();
        std::vector<int64_t> rl = load_reference("amg", "crop_layer_idxs_1500x2250_n" + std::to_string(n)).to_i64();
        REQUIRE(boxes.size() == rl.size());
        REQUIRE(layers.size() == rl.size());
        for (size_t i = 0; i < boxes.size(); i++) {
            CAPTURE(i);
            CHECK(boxes[i].x0 == rb[4 * i]);
            CHECK(boxes[i].y0 == rb[4 * i + 1]);
            CHECK(boxes[i].x1 == rb[4 * i + 2]);
            CHECK(boxes[i].y1 == rb[4 * i + 3]);
            CHECK(layers[i] == rl[i]);
        }
    }
}

TEST_CASE("amg: remove_small_regions equals the official holes/islands results") {
    sam::binary_mask input = mask_from(load_reference("amg", "rsr_input"));
    for (std::string mode : {"holes", "islands"})
        for (int thresh : {20, 200}) {
            std::string key = "rsr_" + mode + "_" + std::to_string(thresh);
            CAPTURE(key);
            sam::binary_mask m = input;
            bool changed = sam::remove_small_regions(
                m, thresh, mode == "holes" ? sam::small_region_mode::holes : sam::small_region_mode::islands);
            sam::binary_mask ref = mask_from(load_reference("amg", key));
            bool ref_changed = load_reference("amg", key + "_changed").data[0] != 0;
            CHECK(changed == ref_changed);
            size_t diff = 0, vs_input = 0;
            for (size_t k = 0; k < m.data.size(); k++) {
                diff += m.data[k] != ref.data[k];
                vs_input += input.data[k] != ref.data[k];
            }
            CHECK(diff == 0);
            CHECK(vs_input > 0);  // the reference case really changes the mask
        }
}

TEST_CASE("amg: remove_small_regions edge cases of the official rule") {
    // Two islands touching only diagonally are one 8-connected region of 2 pixels.
    sam::binary_mask m(6, 5);
    m.at(1, 1) = 1;
    m.at(2, 2) = 1;
    m.at(4, 3) = 1;  // a lone pixel
    sam::binary_mask a = m;
    CHECK(sam::remove_small_regions(a, 2, sam::small_region_mode::islands));
    CHECK(a.at(1, 1) == 1);
    CHECK(a.at(2, 2) == 1);
    CHECK(a.at(4, 3) == 0);
    // All islands small: the largest one is kept (not an empty mask).
    sam::binary_mask b = m;
    CHECK(sam::remove_small_regions(b, 100, sam::small_region_mode::islands));
    CHECK(b.at(1, 1) == 1);
    CHECK(b.at(2, 2) == 1);
    CHECK(b.at(4, 3) == 0);
    // Nothing small: unchanged and reported as such.
    sam::binary_mask c = m;
    CHECK(!sam::remove_small_regions(c, 1, sam::small_region_mode::islands));
    CHECK(c.data == m.data);
    // Holes: a 1-pixel hole inside a ring is filled; the outside (also a "hole"
    // region of the inverted mask) is large and stays empty.
    sam::binary_mask r(7, 7);
    for (int y = 1; y <= 3; y++)
        for (int x = 1; x <= 3; x++) r.at(x, y) = (x == 2 && y == 2) ? 0 : 1;
    CHECK(sam::remove_small_regions(r, 5, sam::small_region_mode::holes));
    CHECK(r.at(2, 2) == 1);
    CHECK(r.at(0, 0) == 0);
    CHECK(r.at(5, 5) == 0);
}

TEST_CASE("amg: box conversions, uncropping and crop-edge test") {
    sam::box_xywh w = sam::box_xyxy_to_xywh({10, 20, 15, 40});
    CHECK(w.x == 10);
    CHECK(w.y == 20);
    CHECK(w.w == 5);
    CHECK(w.h == 20);

    sam::box_xyxy crop{100, 50, 400, 300};
    sam::box_xyxy u = sam::uncrop_box_xyxy({1, 2, 3, 4}, crop);
    CHECK(u.x0 == 101);
    CHECK(u.y0 == 52);
    CHECK(u.x1 == 103);
    CHECK(u.y1 == 54);
    double pts[4] = {0.5, 1.5, 10, 20};
    sam::uncrop_points(pts, 2, crop);
    CHECK(pts[0] == 100.5);
    CHECK(pts[1] == 51.5);
    CHECK(pts[3] == 70);

    sam::binary_mask cm(300, 250);
    cm.at(0, 0) = 1;
    cm.at(299, 249) = 1;
    sam::binary_mask full = sam::uncrop_mask(cm, crop, 600, 800);
    REQUIRE(full.width == 800);
    REQUIRE(full.height == 600);
    CHECK(full.at(100, 50) == 1);
    CHECK(full.at(399, 299) == 1);
    int64_t area = 0;
    for (uint8_t v : full.data) area += v;
    CHECK(area == 2);
    sam::binary_mask same = sam::uncrop_mask(cm, {0, 0, 300, 250}, 250, 300);
    CHECK(same.data == cm.data);

    // Image 800x600, crop x 100..400, y 50..300 (crop-frame boxes).
    sam::box_xyxy orig{0, 0, 800, 600};
    CHECK(!sam::is_box_near_crop_edge({50, 50, 100, 100}, crop, orig));   // interior
    CHECK(sam::is_box_near_crop_edge({5, 50, 100, 100}, crop, orig));     // near the crop's left edge
    CHECK(sam::is_box_near_crop_edge({50, 50, 280, 100}, crop, orig));    // within 20 of x1 = 400
    CHECK(!sam::is_box_near_crop_edge({50, 50, 279, 100}, crop, orig));   // 21 away
    sam::box_xyxy corner{0, 0, 300, 250};
    CHECK(!sam::is_box_near_crop_edge({0, 0, 100, 100}, corner, orig));   // crop edge = image edge
    CHECK(!sam::is_box_near_crop_edge({0, 0, 800, 600}, orig, orig));
}

TEST_CASE("amg: batched_nms keeps greedy-by-score boxes per category") {
    // Hand case: B overlaps A with IoU 0.6 (dropped at 0.5, kept at 0.7); C is disjoint;
    // D equals A but belongs to another category.
    const float boxes[] = {0, 0, 10, 10,   0, 2.5f, 10, 12.5f,   20, 20, 30, 30,   0, 0, 10, 10};
    const float scores[] = {0.9f, 0.95f, 0.5f, 0.7f};
    const int cats[] = {0, 0, 0, 1};
    std::vector<int> k = sam::batched_nms(boxes, scores, cats, 4, 0.5);
    CHECK(k == std::vector<int>{1, 3, 2});  // A suppressed by the higher-scored B
    k = sam::batched_nms(boxes, scores, cats, 4, 0.7);
    CHECK(k == std::vector<int>{1, 0, 3, 2});
    // IoU exactly equal to the threshold is kept (strictly greater suppresses).
    const float two[] = {0, 0, 10, 10, 0, 0, 10, 5};
    const float s2[] = {1.f, 0.5f};
    const int c2[] = {0, 0};
    CHECK(sam::batched_nms(two, s2, c2, 2, 0.5).size() == 2);
    CHECK(sam::batched_nms(two, s2, c2, 2, 0.49).size() == 1);
    // Ties in score keep input order.
    const float s3[] = {0.5f, 0.5f};
    CHECK(sam::batched_nms(two, s3, c2, 2, 0.9) == std::vector<int>{0, 1});

    // Random boxes: the result is exactly greedy NMS, checked by its defining properties.
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.f, 100.f);
    const int n = 300;
    std::vector<float> b(4 * n), s(n);
    std::vector<int> c(n);
    for (int i = 0; i < n; i++) {
        float x = u(rng), y = u(rng), w = 5 + u(rng) / 4, h = 5 + u(rng) / 4;
        b[4 * i] = x;
        b[4 * i + 1] = y;
        b[4 * i + 2] = x + w;
        b[4 * i + 3] = y + h;
        s[i] = u(rng);
        c[i] = i % 3;
    }
    auto iou = [&](int i, int j) {
        float xx1 = std::max(b[4 * i], b[4 * j]), yy1 = std::max(b[4 * i + 1], b[4 * j + 1]);
        float xx2 = std::min(b[4 * i + 2], b[4 * j + 2]), yy2 = std::min(b[4 * i + 3], b[4 * j + 3]);
        float inter = std::max(0.f, xx2 - xx1) * std::max(0.f, yy2 - yy1);
        float ai = (b[4 * i + 2] - b[4 * i]) * (b[4 * i + 3] - b[4 * i + 1]);
        float aj = (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]);
        return inter / (ai + aj - inter);
    };
    std::vector<int> keep = sam::batched_nms(b.data(), s.data(), c.data(), n, 0.3);
    std::vector<char> kept(n, 0);
    for (size_t i = 0; i < keep.size(); i++) {
        kept[keep[i]] = 1;
        if (i) CHECK(s[keep[i - 1]] >= s[keep[i]]);
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        // A box is dropped iff some kept, higher-scored box of its category overlaps it > 0.3.
        bool has_suppressor = false;
        for (int j : keep)
            if (j != i && c[j] == c[i] && s[j] > s[i] && iou(j, i) > 0.3f) has_suppressor = true;
        if ((bool)kept[i] == has_suppressor) bad++;
    }
    CHECK(bad == 0);
    CHECK(keep.size() > 10);
    CHECK(keep.size() < (size_t)n);
}
