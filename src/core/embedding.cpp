#include "core/embedding.h"

#include <cmath>
#include <cstring>

namespace sam {

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

status feature_from_array(const npy_array &a, const std::string &name, const std::vector<int64_t> &want,
                          std::vector<float> &out) {
    const std::string expected = npy_shape_string(want) + " float32 or float16";
    size_t count = 1;
    for (int64_t d : want) count *= (size_t)d;
    bool dtype_ok = a.dtype == npy_dtype::f32 || a.dtype == npy_dtype::f16;
    if (a.shape != want || !dtype_ok)
        return status::failure(name + ": shape " + npy_shape_string(a.shape) + " " + npy_dtype_name(a.dtype) +
                               ", expected " + expected);
    if (a.data.size() != count * npy_dtype_size(a.dtype))
        return status::failure(name + ": embedding data has " + std::to_string(a.data.size()) + " bytes, expected " +
                               std::to_string(count * npy_dtype_size(a.dtype)));

    std::vector<float> v(count);
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
            std::string at;
            size_t rest = i;
            for (size_t k = want.size(); k-- > 0;) {
                at = std::to_string(rest % (size_t)want[k]) + (at.empty() ? "" : ", " + at);
                rest /= (size_t)want[k];
            }
            return status::failure(name + ": embedding holds " + (std::isnan(v[i]) ? "NaN" : "Inf") + " at [" + at +
                                   "] (corrupt embedding)");
        }
    }
    out = std::move(v);
    return status::success();
}

status feature_from_npy(const uint8_t *bytes, size_t n, const std::string &name, const std::vector<int64_t> &shape,
                        std::vector<float> &out) {
    npy_array a;
    status st = npy_parse(bytes, n, name, a);
    if (!st)
        return status::failure(st.message + "; expected a little-endian C-order " + npy_shape_string(shape) +
                               " float32 or float16 array");
    return feature_from_array(a, name, shape, out);
}

status embedding_from_array(const npy_array &a, const std::string &name, std::vector<float> &out) {
    return feature_from_array(a, name, {1, k_embedding_channels, k_embedding_size, k_embedding_size}, out);
}

status embedding_from_npy(const uint8_t *bytes, size_t n, const std::string &name, std::vector<float> &out) {
    return feature_from_npy(bytes, n, name, {1, k_embedding_channels, k_embedding_size, k_embedding_size}, out);
}

}  // namespace sam
