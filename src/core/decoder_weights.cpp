// decoder_weights.cpp - parser and writer of the .samw decoder weights file.
#include "core/decoder_weights.h"

#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "core/npy.h"

namespace sam {

namespace {

constexpr char k_magic[4] = {'S', 'A', 'M', 'W'};
constexpr uint32_t k_version = 1;       // SAM: 16 config fields
constexpr uint32_t k_version_sam2 = 2;  // SAM 2.1: 17 (the family last)
constexpr size_t k_fixed_header = 20;  // magic, version, file size, header size
constexpr size_t k_align = 64;
constexpr int64_t k_max_dim = 1 << 16;

const char *const k_field_names[k_decoder_config_fields] = {
    "embed_dim", "image_embedding_h", "image_embedding_w", "input_image_size", "mask_in_chans",
    "num_multimask_outputs", "depth", "num_heads", "mlp_dim", "mlp_activation", "self_attention_dim",
    "cross_attention_dim", "iou_head_depth", "iou_head_hidden_dim", "hypernet_hidden_dim", "hypernet_depth"};

int *config_field(sam_decoder_config &c, int i) {
    if (i == k_decoder_config_fields) return &c.family;
    int *f[k_decoder_config_fields] = {&c.embed_dim, &c.image_embedding_h, &c.image_embedding_w,
                                       &c.input_image_size, &c.mask_in_chans, &c.num_multimask_outputs,
                                       &c.depth, &c.num_heads, &c.mlp_dim, &c.mlp_activation,
                                       &c.self_attention_dim, &c.cross_attention_dim, &c.iou_head_depth,
                                       &c.iou_head_hidden_dim, &c.hypernet_hidden_dim, &c.hypernet_depth};
    return f[i];
}

std::string shape_string(const std::vector<int64_t> &s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

// Little-endian reads with bounds: every read past the end is reported, never performed.
struct reader {
    const uint8_t *p;
    size_t size;
    size_t pos = 0;
    bool has(size_t n) const { return pos <= size && size - pos >= n; }
    uint64_t le(size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) v |= (uint64_t)p[pos + i] << (8 * i);
        pos += n;
        return v;
    }
};

void put_le(std::vector<uint8_t> &out, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out.push_back((uint8_t)(v >> (8 * i)));
}

void add_linear(std::vector<std::pair<std::string, std::vector<int64_t>>> &t, const std::string &name, int out,
                int in) {
    t.push_back({name + ".weight", {out, in}});
    t.push_back({name + ".bias", {out}});
}

void add_norm(std::vector<std::pair<std::string, std::vector<int64_t>>> &t, const std::string &name, int n) {
    t.push_back({name + ".weight", {n}});
    t.push_back({name + ".bias", {n}});
}

void add_attention(std::vector<std::pair<std::string, std::vector<int64_t>>> &t, const std::string &name, int dim,
                   int internal) {
    add_linear(t, name + ".q_proj", internal, dim);
    add_linear(t, name + ".k_proj", internal, dim);
    add_linear(t, name + ".v_proj", internal, dim);
    add_linear(t, name + ".out_proj", dim, internal);
}

void add_mlp(std::vector<std::pair<std::string, std::vector<int64_t>>> &t, const std::string &name, int in,
             int hidden, int out, int depth) {
    for (int j = 0; j < depth; ++j)
        add_linear(t, name + ".layers." + std::to_string(j), j == depth - 1 ? out : hidden, j == 0 ? in : hidden);
}

}  // namespace

const char *decoder_family_name(int family) {
    return family == k_family_sam ? "SAM" : family == k_family_sam2_1 ? "SAM 2.1" : "unknown";
}

std::string prompt_encoder_prefix(const sam_decoder_config &c) {
    return c.family == k_family_sam2_1 ? "sam_prompt_encoder." : "prompt_encoder.";
}

std::string mask_decoder_prefix(const sam_decoder_config &c) {
    return c.family == k_family_sam2_1 ? "sam_mask_decoder." : "mask_decoder.";
}

std::string transformer_mlp_name(const sam_decoder_config &c, int layer) {
    if (c.family == k_family_sam2_1) return "mlp.layers." + std::to_string(layer);
    return layer == 0 ? "mlp.lin1" : "mlp.lin2";
}

uint32_t crc32_ieee(const uint8_t *bytes, size_t size) {
    // A function-local static is initialised once, also when two threads parse at once.
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; ++i) c = table[(c ^ bytes[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

const decoder_tensor *decoder_weights::find(const std::string &name) const {
    for (const decoder_tensor &t : tensors)
        if (t.name == name) return &t;
    return nullptr;
}

status decoder_config_check(const sam_decoder_config &c_in) {
    sam_decoder_config c = c_in;
    struct range { int lo, hi; };
    const range ranges[k_decoder_config_fields] = {
        {8, 4096}, {1, 256}, {1, 256}, {1, k_max_dim}, {4, 4096}, {0, 16}, {1, 64}, {1, 256},
        {1, k_max_dim}, {0, 1}, {1, 4096}, {1, 4096}, {1, 16}, {1, k_max_dim}, {1, k_max_dim}, {1, 16}};
    for (int i = 0; i < k_decoder_config_fields; ++i) {
        int v = *config_field(c, i);
        if (v < ranges[i].lo || v > ranges[i].hi)
            return status::failure(std::string(k_field_names[i]) + " = " + std::to_string(v) + " is outside " +
                                   std::to_string(ranges[i].lo) + ".." + std::to_string(ranges[i].hi));
    }
    if (c.family != k_family_sam && c.family != k_family_sam2_1)
        return status::failure("family = " + std::to_string(c.family) + " is unknown (0 SAM, 1 SAM 2.1)");
    if (c.embed_dim % 8)
        return status::failure("embed_dim = " + std::to_string(c.embed_dim) +
                               " is not a multiple of 8 (the upscaling has embed_dim/4 and /8 channels)");
    if (c.mask_in_chans % 4)
        return status::failure("mask_in_chans = " + std::to_string(c.mask_in_chans) + " is not a multiple of 4");
    if (c.self_attention_dim % c.num_heads || c.cross_attention_dim % c.num_heads)
        return status::failure("num_heads = " + std::to_string(c.num_heads) +
                               " does not divide self_attention_dim " + std::to_string(c.self_attention_dim) +
                               " and cross_attention_dim " + std::to_string(c.cross_attention_dim));
    return status::success();
}

status decoder_weights_check_tensors(const decoder_weights &w) {
    for (const auto &e : decoder_expected_tensors(w.config)) {
        const decoder_tensor *t = w.find(e.first);
        if (!t) return status::failure("missing tensor " + e.first);
        if (t->shape != e.second) return status::failure(e.first + " has the wrong shape");
    }
    return status::success();
}

std::vector<std::pair<std::string, std::vector<int64_t>>> decoder_expected_tensors(const sam_decoder_config &c) {
    std::vector<std::pair<std::string, std::vector<int64_t>>> t;
    const int d = c.embed_dim, mc = c.mask_in_chans;
    const std::string pe = prompt_encoder_prefix(c);
    t.push_back({pe + "pe_layer.positional_encoding_gaussian_matrix", {2, d / 2}});
    for (int i = 0; i < 4; ++i) t.push_back({pe + "point_embeddings." + std::to_string(i) + ".weight", {1, d}});
    t.push_back({pe + "not_a_point_embed.weight", {1, d}});
    t.push_back({pe + "mask_downscaling.0.weight", {mc / 4, 1, 2, 2}});
    t.push_back({pe + "mask_downscaling.0.bias", {mc / 4}});
    add_norm(t, pe + "mask_downscaling.1", mc / 4);
    t.push_back({pe + "mask_downscaling.3.weight", {mc, mc / 4, 2, 2}});
    t.push_back({pe + "mask_downscaling.3.bias", {mc}});
    add_norm(t, pe + "mask_downscaling.4", mc);
    t.push_back({pe + "mask_downscaling.6.weight", {d, mc, 1, 1}});
    t.push_back({pe + "mask_downscaling.6.bias", {d}});
    t.push_back({pe + "no_mask_embed.weight", {1, d}});

    const std::string md = mask_decoder_prefix(c);
    const std::string tr = md + "transformer.";
    for (int i = 0; i < c.depth; ++i) {
        const std::string l = tr + "layers." + std::to_string(i) + ".";
        add_attention(t, l + "self_attn", d, c.self_attention_dim);
        add_norm(t, l + "norm1", d);
        add_attention(t, l + "cross_attn_token_to_image", d, c.cross_attention_dim);
        add_norm(t, l + "norm2", d);
        add_linear(t, l + transformer_mlp_name(c, 0), c.mlp_dim, d);
        add_linear(t, l + transformer_mlp_name(c, 1), d, c.mlp_dim);
        add_norm(t, l + "norm3", d);
        add_norm(t, l + "norm4", d);
        add_attention(t, l + "cross_attn_image_to_token", d, c.cross_attention_dim);
    }
    add_attention(t, tr + "final_attn_token_to_image", d, c.cross_attention_dim);
    add_norm(t, tr + "norm_final_attn", d);
    if (c.family == k_family_sam2_1) t.push_back({md + "obj_score_token.weight", {1, d}});
    t.push_back({md + "iou_token.weight", {1, d}});
    t.push_back({md + "mask_tokens.weight", {c.num_outputs(), d}});
    t.push_back({md + "output_upscaling.0.weight", {d, d / 4, 2, 2}});
    t.push_back({md + "output_upscaling.0.bias", {d / 4}});
    add_norm(t, md + "output_upscaling.1", d / 4);
    t.push_back({md + "output_upscaling.3.weight", {d / 4, d / 8, 2, 2}});
    t.push_back({md + "output_upscaling.3.bias", {d / 8}});
    for (int m = 0; m < c.num_outputs(); ++m)
        add_mlp(t, md + "output_hypernetworks_mlps." + std::to_string(m), d, c.hypernet_hidden_dim, d / 8,
                c.hypernet_depth);
    add_mlp(t, md + "iou_prediction_head", d, c.iou_head_hidden_dim, c.num_outputs(), c.iou_head_depth);
    return t;
}

status decoder_weights_parse(const uint8_t *bytes, size_t size, const std::string &name, decoder_weights &out) {
    auto fail = [&](const std::string &m) { return status::failure(name + ": " + m); };
    reader r{bytes, size};
    if (!r.has(4) || std::memcmp(bytes, k_magic, 4) != 0)
        return fail("not a decoder weights file (it does not start with \"SAMW\"; write one with "
                    "scripts/model/export)");
    if (!r.has(k_fixed_header)) return fail("truncated: " + std::to_string(size) + " bytes, less than the header");
    r.pos = 4;
    const uint32_t version = (uint32_t)r.le(4);
    if (version != k_version && version != k_version_sam2)
        return fail("version " + std::to_string(version) + " is not supported (this build reads versions " +
                    std::to_string(k_version) + " (SAM) and " + std::to_string(k_version_sam2) + " (SAM 2.1))");
    const int n_fields = version == k_version ? k_decoder_config_fields : k_decoder_config_fields + 1;
    const uint64_t file_size = r.le(8);
    const uint64_t header_size = r.le(4);
    if (file_size != size)
        return fail("the header says " + std::to_string(file_size) + " bytes but the file has " +
                    std::to_string(size) + (size < file_size ? " (truncated)" : " (trailing bytes)"));
    if (size < k_fixed_header + 4 || header_size < k_fixed_header || header_size > size - 4)
        return fail("header size " + std::to_string(header_size) + " does not fit a file of " +
                    std::to_string(size) + " bytes");
    const uint32_t stored_crc = (uint32_t)(bytes[size - 4] | bytes[size - 3] << 8 | bytes[size - 2] << 16 |
                                           (uint32_t)bytes[size - 1] << 24);
    if (crc32_ieee(bytes, size - 4) != stored_crc) return fail("checksum mismatch: the file is damaged");

    reader h{bytes, (size_t)header_size, k_fixed_header};
    if (!h.has(4)) return fail("header ends before the config");
    const uint32_t n_config = (uint32_t)h.le(4);
    if (n_config != (uint32_t)n_fields)
        return fail("config has " + std::to_string(n_config) + " fields, version " + std::to_string(version) +
                    " has " + std::to_string(n_fields));
    if (!h.has(4 * (size_t)n_config + 4)) return fail("header ends inside the config");
    decoder_weights w;
    for (int i = 0; i < n_fields; ++i) {
        const uint64_t v = h.le(4);
        const std::string field = i < k_decoder_config_fields ? k_field_names[i] : "family";
        if (v > (uint64_t)INT32_MAX) return fail(field + " = " + std::to_string(v) + " is too large");
        *config_field(w.config, i) = (int)v;
    }
    if (version == k_version_sam2 && w.config.family != k_family_sam2_1)
        return fail("a version-2 file must hold a SAM 2.1 decoder (family 1), this one says family " +
                    std::to_string(w.config.family));
    if (status st = decoder_config_check(w.config); !st) return fail(st.message);

    const auto expected = decoder_expected_tensors(w.config);
    std::map<std::string, const std::vector<int64_t> *> want;
    for (const auto &e : expected) want[e.first] = &e.second;
    const uint32_t count = (uint32_t)h.le(4);
    if (count != expected.size())
        return fail("has " + std::to_string(count) + " tensors, a decoder with these dimensions has " +
                    std::to_string(expected.size()));
    std::set<std::string> seen;
    for (uint32_t i = 0; i < count; ++i) {
        const std::string where = "tensor " + std::to_string(i);
        if (!h.has(2)) return fail("header ends inside the table at " + where);
        const size_t len = (size_t)h.le(2);
        if (len == 0 || !h.has(len + 2)) return fail(where + ": name of " + std::to_string(len) + " bytes does not fit");
        std::string tname((const char *)bytes + h.pos, len);
        h.pos += len;
        for (char ch : tname)
            if (ch < 0x20 || ch > 0x7e) return fail(where + ": name is not printable ASCII");
        const uint8_t dtype = (uint8_t)h.le(1), ndim = (uint8_t)h.le(1);
        if (dtype > 1) return fail(tname + ": dtype " + std::to_string(dtype) + " unknown (0 f32, 1 f16)");
        if (ndim < 1 || ndim > 4) return fail(tname + ": " + std::to_string(ndim) + " dimensions (expected 1 to 4)");
        if (!h.has(4 * (size_t)ndim + 16)) return fail(tname + ": header ends inside its entry");
        std::vector<int64_t> shape(ndim);
        for (auto &d : shape) d = (int64_t)h.le(4);
        const uint64_t offset = h.le(8), nbytes = h.le(8);
        auto it = want.find(tname);
        if (it == want.end()) return fail("unexpected tensor " + tname + " " + shape_string(shape) + " (not part of this decoder)");
        if (!seen.insert(tname).second) return fail(tname + " appears twice");
        if (shape != *it->second)
            return fail(tname + " has shape " + shape_string(shape) + ", these dimensions need " +
                        shape_string(*it->second));
        size_t n = 1;
        for (int64_t d : shape) n *= (size_t)d;  // bounded: shapes equal the config's, which is range-checked
        const uint64_t elem = dtype == 0 ? 4 : 2;
        if (nbytes != n * elem)
            return fail(tname + ": " + std::to_string(nbytes) + " bytes for " + std::to_string(n) + " values of " +
                        (dtype == 0 ? "f32" : "f16"));
        if (offset < header_size || offset > size - 4 || nbytes > size - 4 - offset)
            return fail(tname + ": data at " + std::to_string(offset) + " (+" + std::to_string(nbytes) +
                        " bytes) lies outside the data part of the file");
        decoder_tensor t{tname, shape, std::vector<float>(n)};
        const uint8_t *src = bytes + offset;
        for (size_t k = 0; k < n; ++k) {
            float v;
            if (dtype == 0) {
                uint32_t u = (uint32_t)src[4 * k] | (uint32_t)src[4 * k + 1] << 8 | (uint32_t)src[4 * k + 2] << 16 |
                             (uint32_t)src[4 * k + 3] << 24;
                std::memcpy(&v, &u, 4);
            } else {
                v = half_to_float((uint16_t)(src[2 * k] | src[2 * k + 1] << 8));
            }
            if (!std::isfinite(v)) return fail(tname + "[" + std::to_string(k) + "] is not finite");
            t.values[k] = v;
        }
        w.tensors.push_back(std::move(t));
    }
    // count == expected.size() and no duplicates or strangers: nothing is missing.
    out = std::move(w);
    return status::success();
}

std::vector<uint8_t> decoder_weights_serialize(const decoder_weights &w, weights_dtype dtype) {
    const size_t elem = dtype == weights_dtype::f32 ? 4 : 2;
    std::vector<uint8_t> table;
    sam_decoder_config c = w.config;
    const bool sam2 = c.family != k_family_sam;  // SAM files stay version 1, byte for byte
    const int n_fields = sam2 ? k_decoder_config_fields + 1 : k_decoder_config_fields;
    put_le(table, (uint64_t)n_fields, 4);
    for (int i = 0; i < n_fields; ++i) put_le(table, (uint32_t)*config_field(c, i), 4);
    put_le(table, w.tensors.size(), 4);
    size_t header = k_fixed_header + table.size();
    for (const decoder_tensor &t : w.tensors) header += 2 + t.name.size() + 2 + 4 * t.shape.size() + 16;
    size_t offset = (header + k_align - 1) / k_align * k_align;
    std::vector<size_t> offsets;
    for (const decoder_tensor &t : w.tensors) {
        put_le(table, t.name.size(), 2);
        table.insert(table.end(), t.name.begin(), t.name.end());
        put_le(table, (uint8_t)dtype, 1);
        put_le(table, t.shape.size(), 1);
        for (int64_t d : t.shape) put_le(table, (uint64_t)d, 4);
        put_le(table, offset, 8);
        put_le(table, t.values.size() * elem, 8);
        offsets.push_back(offset);
        offset = (offset + t.values.size() * elem + k_align - 1) / k_align * k_align;
    }
    const size_t end = w.tensors.empty() ? header : offsets.back() + w.tensors.back().values.size() * elem;
    std::vector<uint8_t> out(k_magic, k_magic + 4);
    put_le(out, sam2 ? k_version_sam2 : k_version, 4);
    put_le(out, end + 4, 8);
    put_le(out, header, 4);
    out.insert(out.end(), table.begin(), table.end());
    for (size_t i = 0; i < w.tensors.size(); ++i) {
        out.resize(offsets[i], 0);
        for (float v : w.tensors[i].values) {
            if (dtype == weights_dtype::f32) {
                uint32_t u;
                std::memcpy(&u, &v, 4);
                put_le(out, u, 4);
            } else {
                put_le(out, float_to_half(v), 2);
            }
        }
    }
    put_le(out, crc32_ieee(out.data(), out.size()), 4);
    return out;
}

}  // namespace sam
