#include "core/embedding.h"

#include <cmath>
#include <cstring>

namespace sam {

namespace {

const char *k_expected = "(1, 256, 64, 64) float32 or float16";

}  // namespace

std::string npy_shape_string(const std::vector<int64_t> &shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); i++) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    if (shape.size() == 1) s += ",";
    return s + ")";
}

const char *npy_dtype_name(npy_dtype t) {
    switch (t) {
        case npy_dtype::f16: return "float16";
        case npy_dtype::f32: return "float32";
        case npy_dtype::f64: return "float64";
        case npy_dtype::u8: return "uint8";
        case npy_dtype::i8: return "int8";
        case npy_dtype::bool_: return "bool";
        case npy_dtype::i16: return "int16";
        case npy_dtype::u16: return "uint16";
        case npy_dtype::i32: return "int32";
        case npy_dtype::u32: return "uint32";
        case npy_dtype::i64: return "int64";
        case npy_dtype::u64: return "uint64";
    }
    return "?";
}

status embedding_from_array(const npy_array &a, const std::string &name, std::vector<float> &out) {
    const std::vector<int64_t> want = {1, k_embedding_channels, k_embedding_size, k_embedding_size};
    bool dtype_ok = a.dtype == npy_dtype::f32 || a.dtype == npy_dtype::f16;
    if (a.shape != want || !dtype_ok)
        return status::failure(name + ": shape " + npy_shape_string(a.shape) + " " + npy_dtype_name(a.dtype) +
                               ", expected " + k_expected);
    if (a.data.size() != k_embedding_count * npy_dtype_size(a.dtype))
        return status::failure(name + ": embedding data has " + std::to_string(a.data.size()) + " bytes, expected " +
                               std::to_string(k_embedding_count * npy_dtype_size(a.dtype)));

    std::vector<float> v(k_embedding_count);
    if (a.dtype == npy_dtype::f32) {
        std::memcpy(v.data(), a.data.data(), v.size() * sizeof(float));
    } else {
        for (size_t i = 0; i < v.size(); i++) {
            uint16_t h;
            std::memcpy(&h, a.data.data() + 2 * i, 2);
            v[i] = half_to_float(h);
        }
    }
    // A NaN or Inf in an embedding means the encoder or the file went wrong;
    // the decoder would silently turn it into an empty or full mask.
    for (size_t i = 0; i < v.size(); i++) {
        if (!std::isfinite(v[i])) {
            size_t x = i % 64, y = i / 64 % 64, c = i / (64 * 64);
            return status::failure(name + ": embedding holds " + (std::isnan(v[i]) ? "NaN" : "Inf") +
                                   " at [0, " + std::to_string(c) + ", " + std::to_string(y) + ", " +
                                   std::to_string(x) + "] (corrupt embedding)");
        }
    }
    out = std::move(v);
    return status::success();
}

status embedding_from_npy(const uint8_t *bytes, size_t n, const std::string &name, std::vector<float> &out) {
    npy_array a;
    status st = npy_parse(bytes, n, name, a);
    if (!st) return status::failure(st.message + "; expected a little-endian C-order " + k_expected + " array");
    return embedding_from_array(a, name, out);
}

}  // namespace sam
