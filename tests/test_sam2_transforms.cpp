// SAM 2's transforms on known values (the comparison with the official code and
// torchvision is tests/python/test_sam2_oracle.py, which drives the same functions
// through sam_preprocess --preprocess square_1024 and sam2_masks).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "core/mask_postprocess.h"
#include "core/sam2_transforms.h"
#include "core/upsample_bilinear.h"

namespace {

namespace s2 = sam::sam2;

sam::image_u8 solid(int w, int h, int channels, const std::vector<uint8_t> &px) {
    sam::image_u8 img;
    img.width = w;
    img.height = h;
    img.channels = channels;
    img.pixels.resize((size_t)w * h * channels);
    for (size_t i = 0; i < img.pixels.size(); i++) img.pixels[i] = px[i % channels];
    return img;
}

float normalised(uint8_t v, int c) { return ((float)v / 255.0f - s2::image_mean[c]) / s2::image_std[c]; }

}  // namespace

TEST_CASE("sam2 resize_antialias: halving is the [1,3,3,1]/8 triangle, growing is plain bilinear") {
    const int n = 64;
    std::vector<float> ramp(n);
    for (int i = 0; i < n; i++) ramp[i] = (float)i;
    SUBCASE("shrink by 2 along x") {
        std::vector<float> out(n / 2);
        s2::resize_antialias(ramp.data(), 1, 1, n, 1, n / 2, out.data());
        // Interior outputs average the four taps 2i-1..2i+2 around the centre 2i+0.5.
        for (int i = 1; i < n / 2 - 1; i++) CHECK(out[i] == doctest::Approx(2 * i + 0.5).epsilon(1e-6));
        // At the border the filter is cut and renormalised: taps 0, 1, 2 with 3:3:1.
        CHECK(out[0] == doctest::Approx((0 * 3 + 1 * 3 + 2 * 1) / 7.0).epsilon(1e-6));
    }
    SUBCASE("grow by 4 along y equals upsample_bilinear2d") {
        std::vector<float> out(4 * n);
        s2::resize_antialias(ramp.data(), 1, n, 1, 4 * n, 1, out.data());
        sam::bilinear_axis a = sam::make_bilinear_axis(n, 4 * n);
        for (int i = 0; i < 4 * n; i++)
            CHECK(out[i] == doctest::Approx(ramp[a.i0[i]] * a.w0[i] + ramp[a.i1[i]] * a.w1[i]).epsilon(1e-6));
    }
    SUBCASE("same size copies; a constant stays constant") {
        std::vector<float> c(3 * 5 * 7, 0.25f), out(3 * 5 * 7), big(3 * 11 * 2);
        s2::resize_antialias(c.data(), 3, 5, 7, 5, 7, out.data());
        CHECK(out == c);
        s2::resize_antialias(c.data(), 3, 5, 7, 11, 2, big.data());
        for (float v : big) CHECK(v == doctest::Approx(0.25f).epsilon(1e-6));
    }
}

TEST_CASE("sam2 preprocess: 1024 x 1024 stretch, ImageNet statistics on [0, 1]") {
    std::vector<float> x((size_t)3 * 1024 * 1024), y(x.size());
    const size_t plane = (size_t)1024 * 1024;
    SUBCASE("a solid colour, any aspect") {
        REQUIRE(s2::preprocess(solid(300, 40, 3, {200, 100, 7}), x.data()).ok());
        for (int c = 0; c < 3; c++) {
            const float want = normalised(std::vector<uint8_t>{200, 100, 7}[c], c);
            CHECK(x[c * plane] == doctest::Approx(want).epsilon(1e-6));
            CHECK(x[c * plane + plane - 1] == doctest::Approx(want).epsilon(1e-6));  // no padding
            CHECK(x[c * plane + 777 * 1024 + 3] == doctest::Approx(want).epsilon(1e-6));
        }
    }
    SUBCASE("a 1024 x 1024 image is normalised pixel by pixel") {
        sam::image_u8 img = solid(1024, 1024, 3, {0, 0, 0});
        for (size_t i = 0; i < img.pixels.size(); i++) img.pixels[i] = (uint8_t)(i * 7 % 251);
        REQUIRE(s2::preprocess(img, x.data()).ok());
        for (size_t p : {(size_t)0, (size_t)5000, plane - 1})
            for (int c = 0; c < 3; c++) CHECK(x[c * plane + p] == normalised(img.pixels[p * 3 + c], c));
    }
    SUBCASE("grey and RGBA read as RGB") {
        REQUIRE(s2::preprocess(solid(33, 17, 1, {90}), x.data()).ok());
        REQUIRE(s2::preprocess(solid(33, 17, 3, {90, 90, 90}), y.data()).ok());
        CHECK(x == y);
        REQUIRE(s2::preprocess(solid(33, 17, 4, {90, 90, 90, 3}), x.data()).ok());
        CHECK(x == y);
    }
    SUBCASE("bad images are refused with a message") {
        sam::status st = s2::preprocess(sam::image_u8{}, x.data());
        CHECK_FALSE(st.ok());
        CHECK(st.message.find("empty image") != std::string::npos);
        CHECK_FALSE(s2::preprocess(solid(4, 4, 2, {1, 2}), x.data()).ok());
    }
}

TEST_CASE("sam2 coordinates: x * 1024 / W, y * 1024 / H and back") {
    double xy[4] = {100, 150, 399.5, 0};
    s2::apply_coords(xy, 2, {300, 400});
    CHECK(xy[0] == 256.0);
    CHECK(xy[1] == 512.0);
    CHECK(xy[2] == doctest::Approx(399.5 * 1024 / 400));
    CHECK(xy[3] == 0.0);
    s2::unapply_coords(xy, 2, {300, 400});
    CHECK(xy[0] == doctest::Approx(100));
    CHECK(xy[1] == doctest::Approx(150));
    double box[4] = {10, 20, 30, 40};
    s2::apply_boxes(box, 1, {1000, 500});
    CHECK(box[0] == doctest::Approx(10 * 1024 / 500.0));
    CHECK(box[3] == doctest::Approx(40 * 1024 / 1000.0));
}

TEST_CASE("sam2 postprocess_masks: one bilinear resize of the 256 x 256 logits") {
    std::vector<float> low(256 * 256);
    for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++) low[y * 256 + x] = (float)(x - 100) + 0.5f * (float)(y - 60);
    SUBCASE("256 x 256 is the identity") {
        std::vector<float> out(low.size());
        s2::postprocess_masks(low.data(), 256, 256, out.data());
        CHECK(out == low);
    }
    SUBCASE("a plane stays a plane (interior), and the mask is its threshold") {
        const int h = 600, w = 800;
        std::vector<float> out((size_t)h * w);
        s2::postprocess_masks(low.data(), h, w, out.data());
        const sam::bilinear_axis ax = sam::make_bilinear_axis(256, w), ay = sam::make_bilinear_axis(256, h);
        for (int y : {10, 300, 590})
            for (int x : {5, 400, 790}) {
                const float sx = ax.i0[x] * ax.w0[x] + ax.i1[x] * ax.w1[x];
                const float sy = ay.i0[y] * ay.w0[y] + ay.i1[y] * ay.w1[y];
                CHECK(out[(size_t)y * w + x] == doctest::Approx((sx - 100) + 0.5 * (sy - 60)).epsilon(1e-5));
            }
        sam::binary_mask m = s2::postprocess_to_mask(low.data(), h, w);
        REQUIRE(m.width == w);
        REQUIRE(m.height == h);
        size_t wrong = 0, set = 0;
        for (size_t i = 0; i < out.size(); i++) {
            wrong += m.data[i] != (out[i] > 0.0f ? 1 : 0);
            set += m.data[i];
        }
        CHECK(wrong == 0);
        CHECK(set > 0);
        CHECK(set < out.size());
    }
    SUBCASE("not SAM 1's path: no 1024 stage, no crop") {
        std::vector<float> wavy(256 * 256), a(300 * 400), b(300 * 400);
        for (size_t i = 0; i < wavy.size(); i++) wavy[i] = std::sin(0.7f * (float)(i % 256)) * std::cos(0.3f * (float)(i / 256));
        s2::postprocess_masks(wavy.data(), 300, 400, a.data());
        sam::postprocess_masks(wavy.data(), 1024, 1024, 300, 400, b.data());  // SAM 1's two resizes
        float diff = 0;
        for (size_t i = 0; i < a.size(); i++) diff = std::max(diff, std::fabs(a[i] - b[i]));
        CHECK(diff > 1e-4f);
    }
}

TEST_CASE("sam2 single-mask choice: token 0 when stable, else the best multimask output") {
    const size_t n = 256 * 256;
    std::vector<float> low(4 * n, -1.0f);
    float iou[4] = {0.9f, 0.2f, 0.7f, 0.5f};
    SUBCASE("stable token 0 wins whatever the IoUs") {
        for (size_t i = 0; i < 5000; i++) low[i] = 10.0f;
        CHECK(s2::stability_score(low.data(), n, 0.05f) == 1.0f);
        CHECK(s2::select_single_mask(iou, low.data()) == 0);
    }
    SUBCASE("unstable: logits within +-delta") {
        for (size_t i = 0; i < 5000; i++) low[i] = i < 4000 ? 0.02f : 0.2f;  // 1000 above +0.05 of 5000 above -0.05
        CHECK(s2::stability_score(low.data(), n, 0.05f) == doctest::Approx(0.2f));
        CHECK(s2::select_single_mask(iou, low.data()) == 2);
        float tie[4] = {0.0f, 0.6f, 0.6f, 0.1f};
        CHECK(s2::select_single_mask(tie, low.data()) == 1);  // the first maximum, as torch.argmax
    }
    SUBCASE("exactly at the threshold (float32 0.98) is stable") {
        for (size_t i = 0; i < 4900; i++) low[i] = 1.0f;
        for (size_t i = 4900; i < 5000; i++) low[i] = 0.0f;
        CHECK(s2::stability_score(low.data(), n, 0.05f) == 0.98f);
        CHECK(s2::select_single_mask(iou, low.data()) == 0);
        low[4899] = 0.0f;
        CHECK(s2::select_single_mask(iou, low.data()) == 2);
    }
    SUBCASE("an empty mask 0 scores 1 (not NaN) and is kept") {
        CHECK(s2::stability_score(low.data(), n, 0.05f) == 1.0f);
        CHECK(s2::select_single_mask(iou, low.data()) == 0);
    }
    SUBCASE("a single-mask decoder has nothing to choose") { CHECK(s2::select_single_mask(iou, low.data(), 1) == 0); }
}
