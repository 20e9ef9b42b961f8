// reference_data.h - test access to ../shared/sam-reference.
// The build unpacks each reference .npz into build/<preset>/reference/<npz name>/<key>.npy;
// load_reference("preprocess", "img0.image") reads one array with the core's npy parser.
#pragma once
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "core/npy.h"

inline std::vector<uint8_t> read_file_bytes(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline std::string reference_path(const std::string &rel) { return std::string(SAM_REFERENCE_DIR) + "/" + rel; }

inline sam::npy_array load_reference(const std::string &npz, const std::string &key) {
    std::string path = std::string(SAM_REFERENCE_NPY_DIR) + "/" + npz + "/" + key + ".npy";
    std::vector<uint8_t> bytes = read_file_bytes(path);
    REQUIRE_MESSAGE(!bytes.empty(), "missing reference array " << path);
    sam::npy_array a;
    sam::status st = sam::npy_parse(bytes.data(), bytes.size(), path, a);
    REQUIRE_MESSAGE(st.ok(), st.message);
    return a;
}
