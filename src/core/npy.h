// npy.h - NumPy .npy read/write (format versions 1.0, 2.0 and 3.0 headers).
// npy_parse() accepts any little-endian C-order array of the dtypes below and
// refuses everything else (big-endian, Fortran order, object arrays, truncated
// data, absurd shapes) with a message naming what it found. Embedding files
// are further checked by embedding_from_npy() in embedding.h.
//
//   sam::npy_array a;
//   sam::status st = sam::npy_parse(bytes, size, "cat.npy", a);
//   if (!st) show(st.message);
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace sam {

enum class npy_dtype { f16, f32, f64, u8, i8, bool_, i16, u16, i32, u32, i64, u64 };

// "<f4", "|u1", "|b1", ...
const char *npy_dtype_descr(npy_dtype t);
size_t npy_dtype_size(npy_dtype t);

struct npy_array {
    npy_dtype dtype = npy_dtype::f32;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;  // raw little-endian element bytes, C order

    size_t count() const;  // product of shape (1 for a 0-d array)

    // Element i converted to float/double/int64; valid for every dtype.
    double get_f64(size_t i) const;
    std::vector<float> to_f32() const;
    std::vector<double> to_f64() const;
    std::vector<int64_t> to_i64() const;  // floats truncated; NaN -> 0, out of range saturates
};

// Parses a whole .npy file held in memory. `name` is used in error messages.
status npy_parse(const uint8_t *bytes, size_t size, const std::string &name, npy_array &out);

// Serialises to .npy bytes (version 1.0 header, padded to 64 bytes).
std::vector<uint8_t> npy_serialize(const npy_array &a);

// Convenience builders.
npy_array npy_from_f32(const std::vector<int64_t> &shape, const float *values);

// IEEE half <-> float (round-to-nearest-even), used for f16 embeddings.
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);

}  // namespace sam
