// core_bench.cpp - Google Benchmark of the src/core hot paths of "accept a mask" for a
// 2250x1500 image (the benchmark image of scripts/bench): upsample + threshold of the
// 256x256 low-res logits (postprocess_to_mask), COCO RLE encode + string, and contour
// tracing + Douglas-Peucker (mask_to_polygons at the COCO export's 1 px tolerance).
//
//   sam_core_bench [google-benchmark flags] [--logits=PATH.npy]
//
// Two masks, because the cost of contours depends on the shape:
//   decoder: a real decoder output (official SAM decoder, random weights: reference case
//            a, a 300x450 image, so the same 3:2 frame). Random weights give a fragmented
//            mask (~100 components), a worst case for contours.
//   smooth:  one blob with a wavy border, the kind of mask a trained model gives.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/mask_postprocess.h"
#include "core/npy.h"
#include "core/polygon.h"
#include "core/resize_longest_side.h"
#include "core/rle.h"

namespace {

constexpr int orig_w = 2250;
constexpr int orig_h = 1500;
constexpr double polygon_tolerance_px = 1.0;  // coco_json's default

#ifndef SAM_BENCH_LOGITS
#define SAM_BENCH_LOGITS ""
#endif
std::string logits_path = SAM_BENCH_LOGITS;

std::vector<float> decoder_logits;  // 256x256
std::vector<float> smooth_logits;   // 256x256

bool load_decoder_logits() {
    std::ifstream f(logits_path, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    sam::npy_array a;
    sam::status st = sam::npy_parse(bytes.data(), bytes.size(), logits_path, a);
    if (!st.ok()) {
        std::fprintf(stderr, "core_bench: %s\n", st.message.c_str());
        return false;
    }
    if (a.count() < (size_t)sam::low_res_mask_size * sam::low_res_mask_size) {
        std::fprintf(stderr, "core_bench: %s holds %zu values, need 256x256\n", logits_path.c_str(), a.count());
        return false;
    }
    std::vector<float> v = a.to_f32();
    decoder_logits.assign(v.begin(), v.begin() + sam::low_res_mask_size * sam::low_res_mask_size);
    return true;
}

// A blob of about a fifth of the image inside the resized 1024x683 region of the
// 1024 frame (low-res 256x171), with a border that wiggles at a few frequencies.
void make_smooth_logits() {
    const int n = sam::low_res_mask_size;
    smooth_logits.resize((size_t)n * n);
    const double cx = 120, cy = 80, r = 45;
    for (int y = 0; y < n; ++y)
        for (int x = 0; x < n; ++x) {
            double dx = x - cx, dy = (y - cy) * 1.3;
            double a = std::atan2(dy, dx);
            double rr = r * (1 + 0.12 * std::sin(5 * a) + 0.05 * std::sin(13 * a + 1));
            smooth_logits[(size_t)y * n + x] = (float)((rr - std::sqrt(dx * dx + dy * dy)) * 0.5);
        }
}

const std::vector<float> &logits_for(int which) { return which == 0 ? decoder_logits : smooth_logits; }

sam::binary_mask make_mask(int which) {
    sam::image_shape in = sam::get_preprocess_shape(orig_h, orig_w, 1024);
    return sam::postprocess_to_mask(logits_for(which).data(), in.height, in.width, orig_h, orig_w);
}

void label(benchmark::State &state, const sam::binary_mask &m) {
    state.SetLabel(state.range(0) == 0 ? "decoder" : "smooth");
    state.counters["area_frac"] = (double)sam::mask_area(m) / ((double)m.width * m.height);
}

void BM_postprocess_to_mask(benchmark::State &state) {
    sam::image_shape in = sam::get_preprocess_shape(orig_h, orig_w, 1024);
    const std::vector<float> &lr = logits_for((int)state.range(0));
    sam::binary_mask m;
    for (auto _ : state) {
        m = sam::postprocess_to_mask(lr.data(), in.height, in.width, orig_h, orig_w);
        benchmark::DoNotOptimize(m.data.data());
    }
    label(state, m);
}

// The official path for comparison: the full float image, then a threshold.
void BM_postprocess_masks_float(benchmark::State &state) {
    sam::image_shape in = sam::get_preprocess_shape(orig_h, orig_w, 1024);
    const std::vector<float> &lr = logits_for((int)state.range(0));
    std::vector<float> out((size_t)orig_w * orig_h);
    sam::binary_mask m(orig_w, orig_h);
    for (auto _ : state) {
        sam::postprocess_masks(lr.data(), in.height, in.width, orig_h, orig_w, out.data());
        for (size_t i = 0; i < out.size(); ++i) m.data[i] = out[i] > 0.0f;
        benchmark::DoNotOptimize(m.data.data());
    }
    label(state, m);
}

void BM_mask_to_rle(benchmark::State &state) {
    sam::binary_mask m = make_mask((int)state.range(0));
    size_t runs = 0;
    for (auto _ : state) {
        sam::rle r = sam::mask_to_rle(m);
        std::string s = sam::rle_to_string(r);
        runs = r.counts.size();
        benchmark::DoNotOptimize(s.data());
    }
    label(state, m);
    state.counters["runs"] = (double)runs;
}

void BM_mask_to_polygons(benchmark::State &state) {
    sam::binary_mask m = make_mask((int)state.range(0));
    size_t rings = 0, points = 0;
    for (auto _ : state) {
        sam::polygon_set ps = sam::mask_to_polygons(m, polygon_tolerance_px);
        rings = ps.polygons.size() + ps.holes.size();
        points = 0;
        for (const sam::polygon &p : ps.polygons) points += p.xy.size() / 2;
        benchmark::DoNotOptimize(ps.polygons.data());
    }
    label(state, m);
    state.counters["rings"] = (double)rings;
    state.counters["outer_points"] = (double)points;
}

// Everything "accept" does to one mask in C++: upsample + threshold, RLE, polygons.
void BM_accept_total(benchmark::State &state) {
    sam::image_shape in = sam::get_preprocess_shape(orig_h, orig_w, 1024);
    const std::vector<float> &lr = logits_for((int)state.range(0));
    sam::binary_mask m;
    for (auto _ : state) {
        m = sam::postprocess_to_mask(lr.data(), in.height, in.width, orig_h, orig_w);
        sam::rle r = sam::mask_to_rle(m);
        std::string s = sam::rle_to_string(r);
        sam::polygon_set ps = sam::mask_to_polygons(m, polygon_tolerance_px);
        benchmark::DoNotOptimize(s.data());
        benchmark::DoNotOptimize(ps.polygons.data());
    }
    label(state, m);
}

#define SAM_BENCH(fn) BENCHMARK(fn)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)
SAM_BENCH(BM_postprocess_to_mask);
SAM_BENCH(BM_postprocess_masks_float);
SAM_BENCH(BM_mask_to_rle);
SAM_BENCH(BM_mask_to_polygons);
SAM_BENCH(BM_accept_total);

}  // namespace

int main(int argc, char **argv) {
    benchmark::Initialize(&argc, argv);
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--logits=", 9) == 0) {
            logits_path = argv[i] + 9;
        } else {
            std::fprintf(stderr, "core_bench: unknown argument %s\nusage: sam_core_bench [--benchmark_*] [--logits=PATH.npy]\n",
                         argv[i]);
            return 2;
        }
    }
    if (!load_decoder_logits()) return 1;
    make_smooth_logits();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
