// embedding.h - checks that a .npy file is a SAM image embedding and reads it.
// An embedding is what the image encoder writes for one image: shape
// (1, 256, 64, 64), float32 or float16, little-endian, C order, all finite.
// embedding_from_npy() returns it as 1*256*64*64 float32 in C order (the
// decoder's `image_embeddings` input); anything else fails with a message
// naming the file, what was found and what is expected. feature_from_npy()
// does the same for any feature tensor of a model spec (model_spec.h), e.g.
// SAM 2.1's high_res_feats_0 (1, 32, 256, 256).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/npy.h"
#include "core/status.h"

namespace sam {

constexpr int64_t k_embedding_channels = 256;
constexpr int64_t k_embedding_size = 64;  // height and width of the feature map
constexpr size_t k_embedding_count = 1 * 256 * 64 * 64;

// "(1, 256, 32, 32)" - NumPy's spelling of a shape, for messages.
std::string npy_shape_string(const std::vector<int64_t> &shape);
// "float32", "int64", ... - NumPy's dtype names, for messages.
const char *npy_dtype_name(npy_dtype t);

// Validates an already parsed array; `name` is used in messages.
status embedding_from_array(const npy_array &a, const std::string &name, std::vector<float> &out);

// Parses and validates a whole .npy file held in memory.
status embedding_from_npy(const uint8_t *bytes, size_t n, const std::string &name, std::vector<float> &out);

// The same checks for a feature tensor of shape `shape` (float32 or float16, all
// finite): out gets its values as float32 in C order.
status feature_from_array(const npy_array &a, const std::string &name, const std::vector<int64_t> &shape,
                          std::vector<float> &out);
status feature_from_npy(const uint8_t *bytes, size_t n, const std::string &name, const std::vector<int64_t> &shape,
                        std::vector<float> &out);

}  // namespace sam
