// ResizeLongestSide + preprocessing against the official SAM outputs in
// shared/sam-reference/preprocess (Pillow 9.4 resize, torch normalisation).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/resize_longest_side.h"
#include "reference_data.h"

static sam::image_u8 to_image(const sam::npy_array &a) {
    sam::image_u8 im;
    im.height = (int)a.shape[0];
    im.width = (int)a.shape[1];
    im.channels = (int)a.shape[2];
    im.pixels = a.data;
    return im;
}

static sam::image_shape shape_of(const sam::npy_array &a) {
    std::vector<int64_t> v = a.to_i64();
    return {(int)v[0], (int)v[1]};
}

TEST_CASE("resize_longest_side: get_preprocess_shape matches the whole official shape table") {
    sam::npy_array t = load_reference("preprocess", "shape_table");
    REQUIRE(t.shape.size() == 2);
    std::vector<int64_t> v = t.to_i64();
    int mismatches = 0;
    for (int64_t r = 0; r < t.shape[0]; r++) {
        const int64_t *row = &v[(size_t)r * 6];
        sam::image_shape s = sam::get_preprocess_shape((int)row[0], (int)row[1]);
        if (s.height != row[2] || s.width != row[3]) {
            if (mismatches++ < 5) MESSAGE("mismatch at " << row[0] << "x" << row[1]);
        }
    }
    CHECK(t.shape[0] == 4099);
    CHECK(mismatches == 0);
    sam::image_shape z = sam::get_preprocess_shape(0, 10);
    CHECK(z.height == 0);
    CHECK(z.width == 0);
}

TEST_CASE("resize_longest_side: apply_coords / apply_boxes match official float64 results") {
    for (int i = 0; i < 4; i++) {
        CAPTURE(i);
        std::string p = "img" + std::to_string(i) + ".";
        sam::image_shape orig = shape_of(load_reference("preprocess", p + "original_size"));
        sam::image_shape in = shape_of(load_reference("preprocess", p + "input_size"));
        sam::image_shape s = sam::get_preprocess_shape(orig.height, orig.width);
        CHECK(s.height == in.height);
        CHECK(s.width == in.width);

        std::vector<double> c = load_reference("preprocess", p + "coords").to_f64();
        std::vector<double> c1024 = load_reference("preprocess", p + "coords_1024").to_f64();
        std::vector<double> orig_c = c;
        sam::apply_coords(c.data(), c.size() / 2, orig);
        for (size_t k = 0; k < c.size(); k++) CHECK(c[k] == c1024[k]);  // same float64 ops: exact
        sam::unapply_coords(c.data(), c.size() / 2, orig);
        for (size_t k = 0; k < c.size(); k++) CHECK(std::fabs(c[k] - orig_c[k]) < 1e-9);

        std::vector<double> b = load_reference("preprocess", p + "boxes").to_f64();
        std::vector<double> b1024 = load_reference("preprocess", p + "boxes_1024").to_f64();
        std::vector<double> orig_b = b;
        sam::apply_boxes(b.data(), b.size() / 4, orig);
        for (size_t k = 0; k < b.size(); k++) CHECK(b[k] == b1024[k]);
        sam::unapply_boxes(b.data(), b.size() / 4, orig);
        for (size_t k = 0; k < b.size(); k++) CHECK(std::fabs(b[k] - orig_b[k]) < 1e-9);
    }
}

TEST_CASE("resize_longest_side: resize_image equals Pillow's antialiased bilinear resize") {
    for (int i = 0; i < 4; i++) {
        CAPTURE(i);
        std::string p = "img" + std::to_string(i) + ".";
        sam::image_u8 img = to_image(load_reference("preprocess", p + "image"));
        sam::npy_array ref = load_reference("preprocess", p + "resized");
        sam::image_u8 r = sam::resize_image(img, (int)ref.shape[0], (int)ref.shape[1]);
        REQUIRE(r.height == ref.shape[0]);
        REQUIRE(r.width == ref.shape[1]);
        REQUIRE(r.channels == 3);
        int max_diff = 0;
        size_t differing = 0;
        for (size_t k = 0; k < ref.data.size(); k++) {
            int d = std::abs((int)r.pixels[k] - (int)ref.data[k]);
            if (d) differing++;
            if (d > max_diff) max_diff = d;
        }
        MESSAGE("img" << i << " " << img.height << "x" << img.width << " -> " << r.height << "x" << r.width
                      << ": max diff " << max_diff << ", differing values " << differing);
        CHECK(max_diff == 0);
    }
}

TEST_CASE("resize_longest_side: resize_image handles other channel counts and degenerate sizes") {
    sam::image_u8 img = to_image(load_reference("preprocess", "img2.image"));
    sam::image_u8 ref = sam::resize_image(img, 200, 77);
    // A 1-channel image made of channel 1 resizes to channel 1 of the RGB result.
    sam::image_u8 g;
    g.width = img.width;
    g.height = img.height;
    g.channels = 1;
    for (size_t k = 0; k < (size_t)img.width * img.height; k++) g.pixels.push_back(img.pixels[k * 3 + 1]);
    sam::image_u8 rg = sam::resize_image(g, 200, 77);
    REQUIRE(rg.pixels.size() == (size_t)200 * 77);
    bool same = true;
    for (size_t k = 0; k < rg.pixels.size(); k++) same = same && rg.pixels[k] == ref.pixels[k * 3 + 1];
    CHECK(same);
    CHECK(sam::resize_image(img, 0, 10).pixels.empty());
    sam::image_u8 one = sam::resize_image(img, 1, 1);
    CHECK(one.pixels.size() == 3);
}

TEST_CASE("resize_longest_side: preprocess gives the official encoder input") {
    sam::npy_array lut = load_reference("preprocess", "norm_lut");
    std::vector<float> mean = load_reference("preprocess", "pixel_mean").to_f32();
    std::vector<float> stdv = load_reference("preprocess", "pixel_std").to_f32();
    for (int c = 0; c < 3; c++) {
        CHECK(mean[c] == sam::pixel_mean[c]);
        CHECK(stdv[c] == sam::pixel_std[c]);
    }
    std::vector<float> lutv = lut.to_f32();
    int lut_bad = 0;
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++)
            if (((float)v - sam::pixel_mean[c]) / sam::pixel_std[c] != lutv[(size_t)c * 256 + v]) lut_bad++;
    CHECK(lut_bad == 0);

    std::vector<float> out((size_t)3 * 1024 * 1024);
    for (int i = 0; i < 4; i++) {
        CAPTURE(i);
        std::string p = "img" + std::to_string(i) + ".";
        sam::image_u8 img = to_image(load_reference("preprocess", p + "image"));
        std::vector<float> ref = load_reference("preprocess", p + "encoder_input").to_f32();
        REQUIRE(ref.size() == out.size());
        sam::image_shape in;
        std::fill(out.begin(), out.end(), 7.f);  // padding must be overwritten
        REQUIRE(sam::preprocess(img, out.data(), &in).ok());
        sam::image_shape ref_in = shape_of(load_reference("preprocess", p + "input_size"));
        CHECK(in.height == ref_in.height);
        CHECK(in.width == ref_in.width);
        double max_diff = 0;
        for (size_t k = 0; k < out.size(); k++) max_diff = std::max(max_diff, (double)std::fabs(out[k] - ref[k]));
        MESSAGE("img" << i << " encoder_input max |diff| " << max_diff);
        CHECK(max_diff == 0.0);
    }
}

TEST_CASE("resize_longest_side: preprocess accepts grey and RGBA, refuses bad input") {
    sam::image_u8 img = to_image(load_reference("preprocess", "img2.image"));
    std::vector<float> want((size_t)3 * 1024 * 1024), got(want.size());

    // RGBA: alpha is dropped, so the result equals the RGB one.
    sam::image_u8 rgba = img;
    rgba.channels = 4;
    rgba.pixels.clear();
    for (size_t k = 0; k < (size_t)img.width * img.height; k++) {
        for (int c = 0; c < 3; c++) rgba.pixels.push_back(img.pixels[k * 3 + c]);
        rgba.pixels.push_back((uint8_t)(k * 7));
    }
    REQUIRE(sam::preprocess(img, want.data()).ok());
    REQUIRE(sam::preprocess(rgba, got.data()).ok());
    CHECK(want == got);

    // Grey: each plane is the grey value normalised with that channel's mean/std.
    sam::image_u8 g = img;
    g.channels = 1;
    g.pixels.clear();
    for (size_t k = 0; k < (size_t)img.width * img.height; k++) g.pixels.push_back(img.pixels[k * 3]);
    sam::image_u8 g3 = img;
    for (size_t k = 0; k < (size_t)img.width * img.height; k++)
        g3.pixels[k * 3 + 1] = g3.pixels[k * 3 + 2] = g3.pixels[k * 3];
    REQUIRE(sam::preprocess(g3, want.data()).ok());
    REQUIRE(sam::preprocess(g, got.data()).ok());
    CHECK(want == got);

    sam::image_u8 two = img;
    two.channels = 2;
    sam::status st = sam::preprocess(two, got.data());
    CHECK(!st.ok());
    CHECK(st.message.find("2 channels") != std::string::npos);
    sam::image_u8 empty;
    CHECK(!sam::preprocess(empty, got.data()).ok());
    sam::image_u8 short_buf = img;
    short_buf.pixels.resize(10);
    CHECK(!sam::preprocess(short_buf, got.data()).ok());
}

TEST_CASE("resize_longest_side: preprocess of a 2250x1500 image is fast") {
    sam::image_u8 img = to_image(load_reference("preprocess", "img1.image"));
    std::vector<float> out((size_t)3 * 1024 * 1024);
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        auto t0 = std::chrono::steady_clock::now();
        REQUIRE(sam::preprocess(img, out.data()).ok());
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        best = std::min(best, ms);
    }
    MESSAGE("preprocess 1500x2250: " << best << " ms");
    // Generous bound: the machine is shared; typical is well below this.
    CHECK(best < 250.0);
}
