// simd.h - the decoder's portable SIMD layer: 4 x float32 vectors (GCC/Clang vector
// extensions), compiled to SSE natively and to WebAssembly SIMD128 by Emscripten
// (-msimd128), from this one source. Multiply and add stay separate operations
// (no FMA: SIMD128 has none), so a product rounds the same natively and in wasm.
//   f32x4 v = load(p); store(q, gelu(v) * splat(2.f));
// exp() is for x <= 88 (softmax and erf use it at x <= 0); erf() is within 2.4 ulp (1.3e-7).
#pragma once
#include <cstdint>
#include <cstring>

namespace sam::simd {

typedef float f32x4 __attribute__((vector_size(16)));
typedef int32_t i32x4 __attribute__((vector_size(16)));

constexpr int k_lanes = 4;

inline f32x4 load(const float *p) {
    f32x4 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline void store(float *p, f32x4 v) { std::memcpy(p, &v, sizeof v); }
inline f32x4 splat(float x) { return f32x4{x, x, x, x}; }
inline f32x4 zero() { return f32x4{0.f, 0.f, 0.f, 0.f}; }

inline i32x4 bits(f32x4 v) { return (i32x4)v; }
inline f32x4 from_bits(i32x4 v) { return (f32x4)v; }
// Written as vector ?: so that SSE gets minps/maxps/blend and SIMD128 pmin/pmax/bitselect.
// mask lanes are all ones (true) or all zeros, as vector comparisons give them.
inline f32x4 select(i32x4 mask, f32x4 a, f32x4 b) { return mask ? a : b; }
inline f32x4 max(f32x4 a, f32x4 b) { return a < b ? b : a; }
inline f32x4 min(f32x4 a, f32x4 b) { return b < a ? b : a; }
inline f32x4 abs(f32x4 v) { return from_bits(bits(v) & i32x4{0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff}); }
inline float hsum(f32x4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }
inline float hmax(f32x4 v) {
    float a = v[0] > v[1] ? v[0] : v[1], b = v[2] > v[3] ? v[2] : v[3];
    return a > b ? a : b;
}

// e^x for x in [-87.3, 88]: x = n ln2 + r (|r| <= ln2/2, Cody-Waite split of ln2), e^r by
// Cephes' expf polynomial (public domain), 2^n from the exponent bits.
inline f32x4 exp_in_range(f32x4 x) {
    const f32x4 magic = splat(12582912.f);  // 1.5 * 2^23: adding it rounds to an integer
    f32x4 t = x * splat(1.44269504088896341f) + magic;
    f32x4 n = t - magic;
    i32x4 ni = bits(t) - bits(magic);
    f32x4 r = x - n * splat(0.693359375f);
    r = r - n * splat(-2.12194440e-4f);
    f32x4 p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    p = p * (r * r) + r + splat(1.f);
    return p * from_bits((ni + 127) << 23);
}

// e^x; below -87.3 it gives ~1e-38 instead of a denormal (a softmax term that small adds nothing).
inline f32x4 exp(f32x4 x) { return exp_in_range(min(max(x, splat(-87.3f)), splat(88.0f))); }

// erf(x) in two pieces, fitted by scripts/model/fit_erf.py (Lawson minimax):
// |x| < 1: x P(x^2); 1 <= |x| < 3.92: 1 - exp(-x^2 + Q(|x| - 2.46)) (the erfc form keeps
// the absolute error near 1 at an ulp; no division); beyond, +-1.
inline f32x4 erf(f32x4 x) {
    const f32x4 ax = min(abs(x), splat(3.92f));
    const f32x4 z = ax * ax;
    f32x4 p = splat(-5.66038885e-04f);
    p = p * z + splat(4.92484262e-03f);
    p = p * z + splat(-2.67177485e-02f);
    p = p * z + splat(1.12804130e-01f);
    p = p * z + splat(-3.76123548e-01f);
    p = p * z + splat(1.12837911e+00f);
    const f32x4 small = ax * p;
    const f32x4 t = max(ax, splat(1.f)) - splat(2.46f);
    f32x4 q = splat(1.63199877e-06f);
    q = q * t + splat(-1.38004953e-05f);
    q = q * t + splat(8.11234495e-05f);
    q = q * t + splat(-4.39258700e-04f);
    q = q * t + splat(2.25116033e-03f);
    q = q * t + splat(-1.12116830e-02f);
    q = q * t + splat(5.74304089e-02f);
    q = q * t + splat(-3.57221901e-01f);
    q = q * t + splat(-1.54261756e+00f);
    const f32x4 large = splat(1.f) - exp_in_range(q - z);
    const f32x4 r = select(ax < splat(1.f), small, large);
    return from_bits(bits(r) | (bits(x) & i32x4{INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN}));
}

// GELU as torch.nn.GELU() (approximate='none'): x/2 (1 + erf(x / sqrt 2)).
inline f32x4 gelu(f32x4 x) { return splat(0.5f) * x * (splat(1.f) + erf(x * splat(0.70710678118654752f))); }

// Scalar forms of the same arithmetic (same results as one lane of the vector forms).
inline float exp(float x) { return exp(splat(x))[0]; }
inline float erf(float x) { return erf(splat(x))[0]; }
inline float gelu(float x) { return gelu(splat(x))[0]; }

}  // namespace sam::simd
