// sam2_transforms.cpp - see sam2_transforms.h.
#include "core/sam2_transforms.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/upsample_bilinear.h"

namespace sam {
namespace sam2 {

const float image_mean[3] = {0.485f, 0.456f, 0.406f};
const float image_std[3] = {0.229f, 0.224f, 0.225f};

namespace {

// _compute_indices_weights_aa (UpSampleKernel.cpp, torch 1.13) for the bilinear
// (triangle) filter, with its mix of float (scalar_t) and double (the literals)
// arithmetic kept: center and weights are float, the index bounds and filter
// argument are formed in double.
struct aa_axis {
    int ksize = 0;
    std::vector<int> xmin, xsize;
    std::vector<float> w;  // out_size * ksize, zero beyond xsize
};

float aa_filter(float x) {
    if (x < 0.0f) x = -x;
    if (x < 1.0f) return (float)(1.0 - x);
    return 0.0f;
}

aa_axis make_aa_axis(int in_size, int out_size) {
    aa_axis a;
    const float scale = (float)in_size / (float)out_size;
    const float support = scale >= 1.0f ? (float)(2 * 0.5 * scale) : (float)(2 * 0.5);
    a.ksize = (int)std::ceil(support) * 2 + 1;
    const float invscale = scale >= 1.0f ? (float)(1.0 / scale) : 1.0f;
    a.xmin.resize(out_size);
    a.xsize.resize(out_size);
    a.w.assign((size_t)out_size * a.ksize, 0.0f);
    for (int i = 0; i < out_size; i++) {
        const float center = (float)(scale * (i + 0.5));
        const int xmin = std::max((int)(int64_t)(center - support + 0.5), 0);
        const int xsize = std::min((int)(int64_t)(center + support + 0.5), in_size) - xmin;
        float *w = &a.w[(size_t)i * a.ksize];
        float total = 0.0f;
        for (int j = 0; j < xsize; j++) {
            w[j] = aa_filter((float)(((float)(j + xmin) - center + 0.5) * invscale));
            total += w[j];
        }
        if (total != 0.0f)
            for (int j = 0; j < xsize; j++) w[j] /= total;
        a.xmin[i] = xmin;
        a.xsize[i] = xsize;
    }
    return a;
}

// out[k] = sum_j in[(xmin + j) * stride] * w[j], accumulated in float from j = 0.
inline float aa_tap(const float *in, ptrdiff_t stride, const aa_axis &a, int i) {
    const float *w = &a.w[(size_t)i * a.ksize];
    const float *p = in + (ptrdiff_t)a.xmin[i] * stride;
    float s = p[0] * w[0];
    for (int j = 1; j < a.xsize[i]; j++) s += p[j * stride] * w[j];
    return s;
}

}  // namespace

void resize_antialias(const float *src, int channels, int in_h, int in_w, int out_h, int out_w, float *dst) {
    if (in_h == out_h && in_w == out_w) {  // torch copies
        std::copy(src, src + (size_t)channels * in_h * in_w, dst);
        return;
    }
    const aa_axis ax = make_aa_axis(in_w, out_w);
    const aa_axis ay = make_aa_axis(in_h, out_h);
    std::vector<float> tmp((size_t)in_h * out_w);
    for (int c = 0; c < channels; c++) {
        const float *plane = src + (size_t)c * in_h * in_w;
        for (int y = 0; y < in_h; y++) {
            const float *row = plane + (size_t)y * in_w;
            float *t = &tmp[(size_t)y * out_w];
            for (int x = 0; x < out_w; x++) t[x] = aa_tap(row, 1, ax, x);
        }
        float *out = dst + (size_t)c * out_h * out_w;
        for (int y = 0; y < out_h; y++)
            for (int x = 0; x < out_w; x++) out[(size_t)y * out_w + x] = aa_tap(&tmp[x], out_w, ay, y);
    }
}

status preprocess(const image_u8 &img, float *out) {
    status st = check_preprocess_input(img, "preprocess (SAM 2)");
    if (!st) return st;
    image_u8 storage;
    const image_u8 &rgb = as_rgb(img, storage);
    const int w = rgb.width, h = rgb.height;
    const size_t n = (size_t)w * h;
    std::vector<float> planes(3 * n);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) planes[c * n + i] = (float)rgb.pixels[i * 3 + c] / 255.0f;
    resize_antialias(planes.data(), 3, h, w, image_size, image_size, out);
    const size_t plane = (size_t)image_size * image_size;
    for (int c = 0; c < 3; c++) {
        float *p = out + c * plane;
        for (size_t i = 0; i < plane; i++) p[i] = (p[i] - image_mean[c]) / image_std[c];
    }
    return status::success();
}

void apply_coords(double *xy, size_t n, image_shape original) {
    const float w = (float)original.width, h = (float)original.height;
    for (size_t i = 0; i < n; i++) {
        xy[2 * i] = (double)(((float)xy[2 * i] / w) * (float)image_size);
        xy[2 * i + 1] = (double)(((float)xy[2 * i + 1] / h) * (float)image_size);
    }
}

void apply_boxes(double *xyxy, size_t n, image_shape original) { sam2::apply_coords(xyxy, 2 * n, original); }

void unapply_coords(double *xy, size_t n, image_shape original) {
    for (size_t i = 0; i < n; i++) {
        xy[2 * i] = xy[2 * i] * original.width / image_size;
        xy[2 * i + 1] = xy[2 * i + 1] * original.height / image_size;
    }
}

void unapply_boxes(double *xyxy, size_t n, image_shape original) { sam2::unapply_coords(xyxy, 2 * n, original); }

namespace {

// torch's upsample_bilinear2d evaluates each output as (row y0 interpolated in x)
// * wy0 + (row y1 interpolated in x) * wy1; the x-interpolated low-res rows are
// made once each, on first use. row_out(Y) gets output row Y (orig_w floats).
template <class RowOut>
void postprocess_rows(const float *low_res, int orig_h, int orig_w, RowOut row_out) {
    const int L = low_res_size;
    const bilinear_axis ax = make_bilinear_axis(L, orig_w), ay = make_bilinear_axis(L, orig_h);
    std::vector<float> rows((size_t)L * orig_w);
    std::vector<char> have(L, 0);
    auto row = [&](int r) -> const float * {
        float *d = &rows[(size_t)r * orig_w];
        if (!have[r]) {
            const float *s = low_res + (size_t)r * L;
            for (int x = 0; x < orig_w; x++) d[x] = s[ax.i0[x]] * ax.w0[x] + s[ax.i1[x]] * ax.w1[x];
            have[r] = 1;
        }
        return d;
    };
    std::vector<float> out_row(orig_w);
    for (int y = 0; y < orig_h; y++) {
        const float *r0 = row(ay.i0[y]);
        const float *r1 = row(ay.i1[y]);
        const float w0 = ay.w0[y], w1 = ay.w1[y];
        for (int x = 0; x < orig_w; x++) out_row[x] = r0[x] * w0 + r1[x] * w1;
        row_out(y, out_row.data());
    }
}

}  // namespace

void postprocess_masks(const float *low_res, int orig_h, int orig_w, float *out) {
    postprocess_rows(low_res, orig_h, orig_w,
                     [&](int y, const float *r) { std::copy(r, r + orig_w, out + (size_t)y * orig_w); });
}

binary_mask postprocess_to_mask(const float *low_res, int orig_h, int orig_w, float mask_threshold) {
    binary_mask m(orig_w, orig_h);
    postprocess_rows(low_res, orig_h, orig_w, [&](int y, const float *r) {
        uint8_t *d = &m.data[(size_t)y * orig_w];
        for (int x = 0; x < orig_w; x++) d[x] = r[x] > mask_threshold ? 1 : 0;
    });
    return m;
}

float stability_score(const float *logits, size_t n, float delta) {
    int64_t inter = 0, uni = 0;
    for (size_t i = 0; i < n; i++) {
        inter += logits[i] > delta;
        uni += logits[i] > -delta;
    }
    // torch: counts .float(), then a float32 division.
    return uni > 0 ? (float)inter / (float)uni : 1.0f;
}

int select_single_mask(const float *iou, const float *low_res, int channels) {
    if (channels < 2) return 0;
    int best = 1;
    for (int k = 2; k < channels; k++)
        if (iou[k] > iou[best]) best = k;
    const size_t n = (size_t)low_res_size * low_res_size;
    const float s = stability_score(low_res, n, dynamic_multimask_stability_delta);
    return s >= dynamic_multimask_stability_thresh ? 0 : best;
}

}  // namespace sam2
}  // namespace sam
