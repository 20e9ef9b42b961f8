// decoder_cases.h - the .npy prompt cases sam_decode and sam2_decode read (decoder.onnx's
// input names) and the outputs they write. Header-only: each tool is one translation unit.
//   DIR/<case>.point_labels.npy [1,N]     (its presence makes <case> a case)
//   DIR/<case>.point_coords.npy [1,N,2]   1024 frame
//   DIR/<case>.mask_input.npy [1,1,256,256] with DIR/<case>.has_mask_input.npy [1] (used when 1)
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/npy.h"
#include "core/status.h"

namespace sam_tools {

inline std::vector<uint8_t> read_bytes(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline sam::status read_npy(const std::string &path, sam::npy_array &out) {
    std::vector<uint8_t> bytes = read_bytes(path);
    if (bytes.empty()) return sam::status::failure(path + ": cannot read");
    return sam::npy_parse(bytes.data(), bytes.size(), path, out);
}

inline sam::status write_npy(const std::string &path, const std::vector<int64_t> &shape, const float *v) {
    std::vector<uint8_t> bytes = sam::npy_serialize(sam::npy_from_f32(shape, v));
    std::ofstream f(path, std::ios::binary);
    f.write((const char *)bytes.data(), (std::streamsize)bytes.size());
    return f ? sam::status::success() : sam::status::failure(path + ": cannot write");
}

// The case names in dir, sorted (empty when there are none).
inline std::vector<std::string> list_cases(const std::string &dir) {
    std::vector<std::string> names;
    const std::string suffix = ".point_labels.npy";
    for (const auto &e : std::filesystem::directory_iterator(dir)) {
        const std::string f = e.path().filename().string();
        if (f.size() > suffix.size() && f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0)
            names.push_back(f.substr(0, f.size() - suffix.size()));
    }
    std::sort(names.begin(), names.end());
    return names;
}

struct decoder_case {
    std::vector<float> coords, labels, mask_input;  // mask_input empty: none
};

// Reads case `name` of dir; mask_values is the decoder's mask_input size (256 x 256).
inline sam::status read_case(const std::string &dir, const std::string &name, size_t mask_values, decoder_case &c) {
    const std::string base = dir + "/" + name + ".";
    sam::npy_array coords, labels, mask, has_mask;
    if (sam::status s = read_npy(base + "point_coords.npy", coords); !s) return s;
    if (sam::status s = read_npy(base + "point_labels.npy", labels); !s) return s;
    c.coords = coords.to_f32();
    c.labels = labels.to_f32();
    c.mask_input.clear();
    if (c.coords.size() != 2 * c.labels.size())
        return sam::status::failure(name + ": point_coords has " + std::to_string(c.coords.size()) + " values for " +
                                    std::to_string(c.labels.size()) + " labels");
    if (std::filesystem::exists(base + "mask_input.npy") && std::filesystem::exists(base + "has_mask_input.npy")) {
        if (sam::status s = read_npy(base + "has_mask_input.npy", has_mask); !s) return s;
        if (has_mask.count() == 1 && has_mask.get_f64(0) != 0) {
            if (sam::status s = read_npy(base + "mask_input.npy", mask); !s) return s;
            c.mask_input = mask.to_f32();
            if (c.mask_input.size() != mask_values)
                return sam::status::failure(name + ": mask_input has " + std::to_string(c.mask_input.size()) +
                                            " values");
        }
    }
    return sam::status::success();
}

}  // namespace sam_tools
