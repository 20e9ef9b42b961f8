// decoder_weights.h - the C++ decoder's weights file (.samw), parsed and checked.
// One file holds SAM's prompt encoder + mask decoder: the dimensions (config) and
// every tensor under its official state-dict name, f32 or f16, C order. The layout
// is documented in scripts/model/sam_model/decoder_weights.py (its writer).
// Two families: SAM (version-1 files: prompt_encoder.*, mask_decoder.*) and SAM 2.1
// (version-2 files, whose config ends with the family: sam_prompt_encoder.*,
// sam_mask_decoder.* as SAM2Base names them, with the object-score token; the
// encoder-side conv_s0/conv_s1 and the unused object-score head are left out).
//   sam::decoder_weights w; sam::status st = sam::decoder_weights_parse(bytes, n, "decoder.samw", w);
// A truncated, malformed or mismatched file fails with the name and what is wrong.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace sam {

// Dimensions of one SAM-architecture decoder (names as in the writer's CONFIG_FIELDS).
struct sam_decoder_config {
    int embed_dim = 256;              // transformer_dim = prompt encoder embed_dim
    int image_embedding_h = 64;       // image embedding grid
    int image_embedding_w = 64;
    int input_image_size = 1024;      // points are divided by it (the 1024 frame)
    int mask_in_chans = 16;
    int num_multimask_outputs = 3;    // outputs K = num_multimask_outputs + 1
    int depth = 2;                    // two-way transformer blocks
    int num_heads = 8;
    int mlp_dim = 2048;
    int mlp_activation = 0;           // 0 ReLU (SAM), 1 GELU
    int self_attention_dim = 256;     // internal width of the token self-attention
    int cross_attention_dim = 128;    // internal width of the token<->image attentions
    int iou_head_depth = 3;
    int iou_head_hidden_dim = 256;
    int hypernet_hidden_dim = 256;
    int hypernet_depth = 3;
    int family = 0;                   // k_family_sam (version-1 file) or k_family_sam2_1 (version 2)

    int num_outputs() const { return num_multimask_outputs + 1; }
    int mask_h() const { return 4 * image_embedding_h; }  // low_res_masks height (256)
    int mask_w() const { return 4 * image_embedding_w; }
};
constexpr int k_decoder_config_fields = 16;  // version 1; version 2 adds `family` (17)
constexpr int k_family_sam = 0, k_family_sam2_1 = 1;

// "SAM" / "SAM 2.1" (messages).
const char *decoder_family_name(int family);
// State-dict prefixes: "prompt_encoder." / "mask_decoder." (SAM), "sam_prompt_encoder." /
// "sam_mask_decoder." (SAM 2.1); the token MLP's layers: "mlp.lin1"/"mlp.lin2" (SAM),
// "mlp.layers.0"/"mlp.layers.1" (SAM 2.1).
std::string prompt_encoder_prefix(const sam_decoder_config &c);
std::string mask_decoder_prefix(const sam_decoder_config &c);
std::string transformer_mlp_name(const sam_decoder_config &c, int layer);

enum class weights_dtype : uint8_t { f32 = 0, f16 = 1 };

struct decoder_tensor {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values;  // converted to f32
};

struct decoder_weights {
    sam_decoder_config config;
    std::vector<decoder_tensor> tensors;  // in file order
    const decoder_tensor *find(const std::string &name) const;
};

// Every tensor a decoder with this config has (official names) and its shape.
std::vector<std::pair<std::string, std::vector<int64_t>>> decoder_expected_tensors(const sam_decoder_config &c);

// Every tensor decoder_expected_tensors names is in `w` with its shape (weights built in
// memory, not parsed from a file, are checked before a decoder takes them).
status decoder_weights_check_tensors(const decoder_weights &w);

// Checks the dimensions are usable (positive, within limits, divisible as the
// architecture needs); the message names the field.
status decoder_config_check(const sam_decoder_config &c);

// Parses a whole file held in memory; `name` is used in messages. `out` is only
// written on success. Refuses: bad magic/version, sizes that disagree, a bad
// checksum, tensors missing, unexpected or of the wrong shape, non-finite values.
status decoder_weights_parse(const uint8_t *bytes, size_t size, const std::string &name, decoder_weights &out);

// The file bytes for these weights (the writer in C++, for tests and fuzz seeds).
std::vector<uint8_t> decoder_weights_serialize(const decoder_weights &w, weights_dtype dtype);

// CRC-32 as zlib computes it (the file's trailer).
uint32_t crc32_ieee(const uint8_t *bytes, size_t size);

}  // namespace sam
