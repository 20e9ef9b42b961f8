// resize_longest_side.cpp - see resize_longest_side.h.
#include "core/resize_longest_side.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace sam {

const float pixel_mean[3] = {123.675f, 116.28f, 103.53f};
const float pixel_std[3] = {58.395f, 57.12f, 57.375f};

image_shape get_preprocess_shape(int old_h, int old_w, int long_side) {
    if (old_h <= 0 || old_w <= 0) return {};
    double scale = long_side * 1.0 / std::max(old_h, old_w);
    // Python's int() truncates; the values are positive, so a cast does the same.
    image_shape s;
    s.height = (int)(old_h * scale + 0.5);
    s.width = (int)(old_w * scale + 0.5);
    return s;
}

void apply_coords(double *xy, size_t n, image_shape original, int long_side) {
    image_shape r = get_preprocess_shape(original.height, original.width, long_side);
    // Official: coords[..., 0] * (new_w / old_w): the ratio is formed first.
    double sx = (double)r.width / original.width;
    double sy = (double)r.height / original.height;
    for (size_t i = 0; i < n; i++) {
        xy[2 * i] *= sx;
        xy[2 * i + 1] *= sy;
    }
}

void apply_boxes(double *xyxy, size_t n, image_shape original, int long_side) {
    apply_coords(xyxy, 2 * n, original, long_side);
}

void unapply_coords(double *xy, size_t n, image_shape original, int long_side) {
    image_shape r = get_preprocess_shape(original.height, original.width, long_side);
    // Dividing by the same ratio undoes apply_coords to within one rounding.
    double sx = (double)r.width / original.width;
    double sy = (double)r.height / original.height;
    for (size_t i = 0; i < n; i++) {
        xy[2 * i] /= sx;
        xy[2 * i + 1] /= sy;
    }
}

void unapply_boxes(double *xyxy, size_t n, image_shape original, int long_side) {
    unapply_coords(xyxy, 2 * n, original, long_side);
}

namespace {

// Pillow's Resample.c: 32 bits - 8 for the pixel - 2 for the coefficient sum overshoot.
constexpr int precision_bits = 32 - 8 - 2;

struct resample_coeffs {
    int ksize = 0;
    std::vector<int> bounds;      // per output: first input index, number of taps
    std::vector<int32_t> kk;      // per output: ksize fixed-point weights
};

// precompute_coeffs() + normalize_coeffs_8bpc() for the bilinear (triangle)
// filter, support 1, over the box [0, in_size).
resample_coeffs precompute_coeffs(int in_size, int out_size) {
    resample_coeffs c;
    const float in0 = 0.f, in1 = (float)in_size;  // Pillow's box is float
    double scale = (double)(in1 - in0) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 1.0 * filterscale;
    c.ksize = (int)std::ceil(support) * 2 + 1;
    c.bounds.resize((size_t)out_size * 2);
    c.kk.assign((size_t)out_size * c.ksize, 0);
    std::vector<double> k((size_t)c.ksize);
    for (int xx = 0; xx < out_size; xx++) {
        double center = in0 + (xx + 0.5) * scale;
        double ww = 0.0;
        double ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            double t = (x + xmin - center + 0.5) * ss;
            if (t < 0.0) t = -t;
            double w = t < 1.0 ? 1.0 - t : 0.0;
            k[x] = w;
            ww += w;
        }
        int32_t *dst = &c.kk[(size_t)xx * c.ksize];
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? k[x] / ww : k[x];
            dst[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << precision_bits)) : (int32_t)(0.5 + v * (1 << precision_bits));
        }
        c.bounds[2 * xx] = xmin;
        c.bounds[2 * xx + 1] = xmax;
    }
    return c;
}

inline uint8_t clip8(int32_t in) {
    if (in >= (1 << precision_bits << 8)) return 255;
    if (in <= 0) return 0;
    return (uint8_t)(in >> precision_bits);
}

template <int C>
void resample_horizontal(const uint8_t *src, int src_w, int rows, int dst_w, const resample_coeffs &c, uint8_t *dst) {
    (void)src_w;
    for (int y = 0; y < rows; y++) {
        const uint8_t *srow = src + (size_t)y * src_w * C;
        uint8_t *drow = dst + (size_t)y * dst_w * C;
        for (int xx = 0; xx < dst_w; xx++) {
            const int xmin = c.bounds[2 * xx], xmax = c.bounds[2 * xx + 1];
            const int32_t *k = &c.kk[(size_t)xx * c.ksize];
            int32_t ss[C];
            for (int ch = 0; ch < C; ch++) ss[ch] = 1 << (precision_bits - 1);
            const uint8_t *p = srow + (size_t)xmin * C;
            for (int x = 0; x < xmax; x++)
                for (int ch = 0; ch < C; ch++) ss[ch] += p[x * C + ch] * k[x];
            for (int ch = 0; ch < C; ch++) drow[xx * C + ch] = clip8(ss[ch]);
        }
    }
}

// Rows of `src` start at input row `row0` (only the rows the vertical pass reads).
void resample_vertical(const uint8_t *src, int row0, int row_len, int dst_h, const resample_coeffs &c, uint8_t *dst) {
    std::vector<int32_t> acc((size_t)row_len);
    for (int yy = 0; yy < dst_h; yy++) {
        const int ymin = c.bounds[2 * yy] - row0, ymax = c.bounds[2 * yy + 1];
        const int32_t *k = &c.kk[(size_t)yy * c.ksize];
        std::fill(acc.begin(), acc.end(), 1 << (precision_bits - 1));
        for (int y = 0; y < ymax; y++) {
            const uint8_t *s = src + (size_t)(ymin + y) * row_len;
            const int32_t w = k[y];
            for (int i = 0; i < row_len; i++) acc[i] += s[i] * w;
        }
        uint8_t *d = dst + (size_t)yy * row_len;
        for (int i = 0; i < row_len; i++) d[i] = clip8(acc[i]);
    }
}

void resample_horizontal_any(const uint8_t *src, int src_w, int rows, int dst_w, int channels, const resample_coeffs &c,
                             uint8_t *dst) {
    switch (channels) {
    case 1: resample_horizontal<1>(src, src_w, rows, dst_w, c, dst); break;
    case 2: resample_horizontal<2>(src, src_w, rows, dst_w, c, dst); break;
    case 3: resample_horizontal<3>(src, src_w, rows, dst_w, c, dst); break;
    default: resample_horizontal<4>(src, src_w, rows, dst_w, c, dst); break;
    }
}

}  // namespace

image_u8 resize_image(const image_u8 &in, int new_h, int new_w) {
    image_u8 out;
    if (new_h <= 0 || new_w <= 0 || in.width <= 0 || in.height <= 0 || in.channels < 1 || in.channels > 4 ||
        in.pixels.size() < (size_t)in.width * in.height * in.channels)
        return out;
    const int C = in.channels;
    out.width = new_w;
    out.height = new_h;
    out.channels = C;
    if (new_w == in.width && new_h == in.height) {  // Pillow returns a copy
        out.pixels.assign(in.pixels.begin(), in.pixels.begin() + (size_t)in.width * in.height * C);
        return out;
    }
    const bool need_h = new_w != in.width;
    const bool need_v = new_h != in.height;
    resample_coeffs ch = precompute_coeffs(in.width, new_w);
    resample_coeffs cv = precompute_coeffs(in.height, new_h);

    const uint8_t *src = in.pixels.data();
    int row0 = 0;
    std::vector<uint8_t> tmp;
    if (need_h) {
        // Like Pillow, filter only the input rows the vertical pass will read.
        int first = need_v ? cv.bounds[0] : 0;
        int last = need_v ? cv.bounds[2 * (new_h - 1)] + cv.bounds[2 * (new_h - 1) + 1] : in.height;
        tmp.resize((size_t)(last - first) * new_w * C);
        resample_horizontal_any(src + (size_t)first * in.width * C, in.width, last - first, new_w, C, ch, tmp.data());
        src = tmp.data();
        row0 = first;
    }
    out.pixels.resize((size_t)new_w * new_h * C);
    if (need_v) {
        resample_vertical(src, row0, new_w * C, new_h, cv, out.pixels.data());
    } else {
        out.pixels.assign(tmp.begin(), tmp.end());
    }
    return out;
}

const image_u8 &as_rgb(const image_u8 &img, image_u8 &storage) {
    if (img.channels == 3) return img;
    storage.width = img.width;
    storage.height = img.height;
    storage.channels = 3;
    const size_t n = (size_t)img.width * img.height;
    storage.pixels.resize(n * 3);
    const int C = img.channels;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = &img.pixels[i * C];
        uint8_t *q = &storage.pixels[i * 3];
        if (C == 1) {
            q[0] = q[1] = q[2] = p[0];
        } else {
            q[0] = p[0];
            q[1] = p[1];
            q[2] = p[2];
        }
    }
    return storage;
}

status check_preprocess_input(const image_u8 &img, const char *who) {
    const std::string w = who;
    if (img.width <= 0 || img.height <= 0)
        return status::failure(w + ": empty image (" + std::to_string(img.width) + "x" + std::to_string(img.height) + ")");
    if (img.channels != 1 && img.channels != 3 && img.channels != 4)
        return status::failure(w + ": " + std::to_string(img.channels) + " channels not supported (expected 1, 3 or 4)");
    if (img.pixels.size() < (size_t)img.width * img.height * img.channels)
        return status::failure(w + ": pixel buffer smaller than width * height * channels");
    return status::success();
}

status preprocess(const image_u8 &img, float *out, image_shape *input_size) {
    status st = check_preprocess_input(img, "preprocess");
    if (!st) return st;

    image_u8 storage;
    const image_u8 *src = &as_rgb(img, storage);

    image_shape s = get_preprocess_shape(src->height, src->width);
    if (input_size) *input_size = s;
    image_u8 resized = resize_image(*src, s.height, s.width);

    // torch: uint8 tensor - float32 mean, then / float32 std, both in float32.
    float lut[3][256];
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) lut[c][v] = ((float)v - pixel_mean[c]) / pixel_std[c];

    const int S = encoder_image_size;
    const size_t plane = (size_t)S * S;
    std::memset(out, 0, sizeof(float) * 3 * plane);
    for (int y = 0; y < s.height; y++) {
        const uint8_t *row = &resized.pixels[(size_t)y * s.width * 3];
        float *o0 = out + (size_t)y * S, *o1 = o0 + plane, *o2 = o1 + plane;
        for (int x = 0; x < s.width; x++) {
            o0[x] = lut[0][row[3 * x]];
            o1[x] = lut[1][row[3 * x + 1]];
            o2[x] = lut[2][row[3 * x + 2]];
        }
    }
    return status::success();
}

}  // namespace sam
