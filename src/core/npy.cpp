#include "core/npy.h"

#include <cmath>
#include <cstring>

namespace sam {

namespace {

struct dtype_info {
    npy_dtype type;
    const char *descr;
    size_t size;
};

const dtype_info k_dtypes[] = {
    {npy_dtype::f16, "<f2", 2}, {npy_dtype::f32, "<f4", 4},  {npy_dtype::f64, "<f8", 8},
    {npy_dtype::u8, "|u1", 1},  {npy_dtype::i8, "|i1", 1},   {npy_dtype::bool_, "|b1", 1},
    {npy_dtype::i16, "<i2", 2}, {npy_dtype::u16, "<u2", 2},  {npy_dtype::i32, "<i4", 4},
    {npy_dtype::u32, "<u4", 4}, {npy_dtype::i64, "<i8", 8},  {npy_dtype::u64, "<u8", 8},
};

const dtype_info *find_descr(const std::string &d) {
    for (const auto &info : k_dtypes) {
        if (d == info.descr) return &info;
        // one-byte types may also be written with '<' or '=' by some writers
        if (info.size == 1 && d.size() == 3 && (d[0] == '<' || d[0] == '=') && d.substr(1) == std::string(info.descr).substr(1))
            return &info;
    }
    return nullptr;
}

void skip_ws(const std::string &s, size_t &i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
}

// Reads a Python string literal at s[i] ('...' or "...").
bool read_str(const std::string &s, size_t &i, std::string &out) {
    skip_ws(s, i);
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) return false;
    char q = s[i++];
    size_t end = s.find(q, i);
    if (end == std::string::npos) return false;
    out = s.substr(i, end - i);
    i = end + 1;
    return true;
}

template <typename T>
T load(const uint8_t *p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

}  // namespace

const char *npy_dtype_descr(npy_dtype t) {
    for (const auto &info : k_dtypes)
        if (info.type == t) return info.descr;
    return "?";
}

size_t npy_dtype_size(npy_dtype t) {
    for (const auto &info : k_dtypes)
        if (info.type == t) return info.size;
    return 0;
}

size_t npy_array::count() const {
    size_t n = 1;
    for (int64_t d : shape) n *= (size_t)d;
    return n;
}

double npy_array::get_f64(size_t i) const {
    const uint8_t *p = data.data() + i * npy_dtype_size(dtype);
    switch (dtype) {
        case npy_dtype::f16: return half_to_float(load<uint16_t>(p));
        case npy_dtype::f32: return load<float>(p);
        case npy_dtype::f64: return load<double>(p);
        case npy_dtype::u8: return *p;
        case npy_dtype::bool_: return *p ? 1 : 0;
        case npy_dtype::i8: return (int8_t)*p;
        case npy_dtype::i16: return load<int16_t>(p);
        case npy_dtype::u16: return load<uint16_t>(p);
        case npy_dtype::i32: return load<int32_t>(p);
        case npy_dtype::u32: return load<uint32_t>(p);
        case npy_dtype::i64: return (double)load<int64_t>(p);
        case npy_dtype::u64: return (double)load<uint64_t>(p);
    }
    return 0;
}

std::vector<float> npy_array::to_f32() const {
    std::vector<float> v(count());
    if (dtype == npy_dtype::f32) {
        std::memcpy(v.data(), data.data(), v.size() * 4);
        return v;
    }
    for (size_t i = 0; i < v.size(); i++) v[i] = (float)get_f64(i);
    return v;
}

std::vector<double> npy_array::to_f64() const {
    std::vector<double> v(count());
    for (size_t i = 0; i < v.size(); i++) v[i] = get_f64(i);
    return v;
}

// Float to int64 without undefined behaviour: NaN gives 0, out-of-range values saturate
// (u64 values above INT64_MAX too).
static int64_t saturate_i64(double x) {
    if (!(x == x)) return 0;
    if (x >= 9223372036854775807.0) return INT64_MAX;
    if (x <= -9223372036854775808.0) return INT64_MIN;
    return (int64_t)x;
}

std::vector<int64_t> npy_array::to_i64() const {
    std::vector<int64_t> v(count());
    for (size_t i = 0; i < v.size(); i++)
        v[i] = dtype == npy_dtype::i64 ? load<int64_t>(data.data() + i * 8) : saturate_i64(get_f64(i));
    return v;
}

status npy_parse(const uint8_t *bytes, size_t size, const std::string &name, npy_array &out) {
    static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (size < 10 || std::memcmp(bytes, magic, 6) != 0)
        return status::failure(name + ": not a .npy file (missing \\x93NUMPY magic)");
    int major = bytes[6];
    size_t header_len = 0, header_start = 0;
    if (major == 1) {
        header_len = load<uint16_t>(bytes + 8);
        header_start = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) return status::failure(name + ": truncated .npy header");
        header_len = load<uint32_t>(bytes + 8);
        header_start = 12;
    } else {
        return status::failure(name + ": unsupported .npy format version " + std::to_string(major) + "." +
                               std::to_string(bytes[7]));
    }
    if (header_len > size - header_start) return status::failure(name + ": truncated .npy header");
    const std::string h((const char *)bytes + header_start, header_len);

    std::string descr;
    bool have_descr = false, have_order = false, have_shape = false, fortran = false;
    std::vector<int64_t> shape;
    size_t i = h.find('{');
    if (i == std::string::npos) return status::failure(name + ": malformed .npy header (no dict)");
    i++;
    for (;;) {
        skip_ws(h, i);
        if (i < h.size() && h[i] == '}') break;
        std::string key;
        if (!read_str(h, i, key)) return status::failure(name + ": malformed .npy header");
        skip_ws(h, i);
        if (i >= h.size() || h[i] != ':') return status::failure(name + ": malformed .npy header");
        i++;
        skip_ws(h, i);
        if (key == "descr") {
            if (!read_str(h, i, descr))
                return status::failure(name + ": structured dtypes are not supported");
            have_descr = true;
        } else if (key == "fortran_order") {
            if (h.compare(i, 4, "True") == 0) {
                fortran = true;
                i += 4;
            } else if (h.compare(i, 5, "False") == 0) {
                i += 5;
            } else {
                return status::failure(name + ": malformed fortran_order in .npy header");
            }
            have_order = true;
        } else if (key == "shape") {
            if (i >= h.size() || h[i] != '(') return status::failure(name + ": malformed shape in .npy header");
            i++;
            for (;;) {
                skip_ws(h, i);
                if (i < h.size() && h[i] == ')') {
                    i++;
                    break;
                }
                if (i >= h.size() || h[i] < '0' || h[i] > '9')
                    return status::failure(name + ": malformed shape in .npy header");
                int64_t v = 0;
                while (i < h.size() && h[i] >= '0' && h[i] <= '9') {
                    v = v * 10 + (h[i] - '0');
                    if (v > (int64_t(1) << 40)) return status::failure(name + ": dimension too large in .npy header");
                    i++;
                }
                if (i < h.size() && h[i] == 'L') i++;
                shape.push_back(v);
                if (shape.size() > 32) return status::failure(name + ": too many dimensions in .npy header");
                skip_ws(h, i);
                if (i < h.size() && h[i] == ',') i++;
            }
            have_shape = true;
        } else {
            return status::failure(name + ": unknown key '" + key + "' in .npy header");
        }
        skip_ws(h, i);
        if (i < h.size() && h[i] == ',') i++;
        if (i >= h.size()) return status::failure(name + ": malformed .npy header (unterminated dict)");
    }
    if (!have_descr || !have_order || !have_shape)
        return status::failure(name + ": .npy header lacks descr, fortran_order or shape");

    const dtype_info *info = find_descr(descr);
    if (!info) {
        std::string why = descr.size() && descr[0] == '>' ? " (big-endian)" : "";
        return status::failure(name + ": dtype " + descr + why + " is not supported");
    }
    if (fortran) {
        bool trivial = true;  // 0-d and 1-d arrays are the same in both orders
        int big = 0;
        for (int64_t d : shape) big += d > 1;
        trivial = big <= 1;
        if (!trivial) return status::failure(name + ": Fortran-order arrays are not supported (expected C order)");
    }
    // count with overflow guard
    size_t n = 1;
    for (int64_t d : shape) {
        if (d != 0 && n > (SIZE_MAX / 16) / (size_t)d) return status::failure(name + ": shape too large");
        n *= (size_t)d;
    }
    size_t data_start = header_start + header_len;
    size_t need = n * info->size;
    if (size - data_start < need)
        return status::failure(name + ": truncated data (" + std::to_string(size - data_start) + " bytes, expected " +
                               std::to_string(need) + ")");
    out.dtype = info->type;
    out.shape = shape;
    out.data.assign(bytes + data_start, bytes + data_start + need);
    return status::success();
}

std::vector<uint8_t> npy_serialize(const npy_array &a) {
    std::string h = "{'descr': '";
    h += npy_dtype_descr(a.dtype);
    h += "', 'fortran_order': False, 'shape': (";
    for (size_t i = 0; i < a.shape.size(); i++) {
        h += std::to_string(a.shape[i]);
        if (a.shape.size() == 1 || i + 1 < a.shape.size()) h += ", ";
    }
    if (a.shape.size() == 1) h.pop_back();
    h += "), }";
    size_t total = 10 + h.size() + 1;
    size_t pad = (64 - total % 64) % 64;
    h.append(pad, ' ');
    h += '\n';
    std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    out.push_back((uint8_t)(h.size() & 0xff));
    out.push_back((uint8_t)(h.size() >> 8));
    out.insert(out.end(), h.begin(), h.end());
    out.insert(out.end(), a.data.begin(), a.data.end());
    return out;
}

npy_array npy_from_f32(const std::vector<int64_t> &shape, const float *values) {
    npy_array a;
    a.dtype = npy_dtype::f32;
    a.shape = shape;
    a.data.resize(a.count() * 4);
    std::memcpy(a.data.data(), values, a.data.size());
    return a;
}

float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while ((mant & 0x400) == 0);
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t float_to_half(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffff;
    if (absx >= 0x7f800000) return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000 ? 0x200 : 0));
    if (absx >= 0x477ff000) return (uint16_t)(sign | 0x7c00);  // overflow -> inf
    if (absx < 0x38800000) {                                    // subnormal or zero
        if (absx < 0x33000000) return (uint16_t)sign;
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e;  // 14 + (113 - e) - 1
        uint32_t half_m = m >> (shift);
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (half_m & 1))) half_m++;
        return (uint16_t)(sign | half_m);
    }
    uint32_t e = (absx >> 23) - 127 + 15;
    uint32_t m = absx & 0x7fffff;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

}  // namespace sam
