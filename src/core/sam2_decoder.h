// sam2_decoder.h - SAM 2.1's prompt encoder + mask decoder in C++, with the meaning of our
// decoder.onnx (scripts/model/sam_model/sam2_onnx.py), from a SAM 2.1 .samw file.
//   sam::sam2_decoder dec;  dec.load(bytes, n, "decoder.samw");
//   dec.set_image({image_embed, high_res_feats_0, high_res_feats_1});  // f32 C order:
//       [1,256,64,64], [1,32,256,256], [1,64,128,128] (the encoder's outputs)
//   dec.predict({coords, labels, n, mask_or_null}, iou /*[4]*/, low_res_masks /*[4][256][256]*/);
// Points (x, y) in the 1024 frame (x * 1024 / W, y * 1024 / H); labels 1/0 points, 2/3 box
// corners (first, as SAM2ImagePredictor concatenates them), -1 not-a-point. The padding
// point (0, 0) / -1 is appended here, always, as the official prompt encoder does when the
// predictor passes boxes as points (and as decoder.onnx does inside its graph).
// Outputs: iou_predictions [4] after SAM 2.1's sigmoid; low_res_masks [4][4h][4w] clamped to
// +-32 (SAM2ImagePredictor._predict). Mask 0 is the single-mask output, 1-3 multimask.
// Like decoder.onnx (and SAM2ImagePredictor, which calls the mask decoder directly), the
// object-score token takes part in the transformer but no object-score masking is applied.
// Shares the two-way transformer, prompt encoder and kernels with sam_decoder.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/decoder_weights.h"
#include "core/parallel_for.h"
#include "core/sam_decoder.h"
#include "core/status.h"
#include "core/two_way_transformer.h"

namespace sam {

constexpr float k_sam2_logit_clamp = 32.f;

struct sam2_features {
    const float *image_embed = nullptr;       // [embed_dim][h][w]
    size_t image_embed_count = 0;
    const float *high_res_feats_0 = nullptr;  // [embed_dim/8][4h][4w]
    size_t high_res_feats_0_count = 0;
    const float *high_res_feats_1 = nullptr;  // [embed_dim/4][2h][2w]
    size_t high_res_feats_1_count = 0;
};

class sam2_decoder {
public:
    sam2_decoder();
    ~sam2_decoder();
    sam2_decoder(const sam2_decoder &) = delete;
    sam2_decoder &operator=(const sam2_decoder &) = delete;

    // Parses the weights (decoder_weights_parse) and prepares them; refuses SAM 1 weights.
    status load(const uint8_t *bytes, size_t size, const std::string &name);
    status load(const decoder_weights &weights);
    bool loaded() const;
    const sam_decoder_config &config() const;
    int num_outputs() const;               // K = 4
    size_t image_embed_count() const;       // embed_dim * h * w
    size_t high_res_feats_0_count() const;  // embed_dim/8 * 4h * 4w
    size_t high_res_feats_1_count() const;  // embed_dim/4 * 2h * 2w
    size_t mask_count() const;              // 4h * 4w

    void set_parallel(parallel_for *pf);  // null: one thread
    void set_attention_order(attention_order order);

    // Refused (status) when a count differs or a value is not finite or beyond 1e6.
    status set_image(const sam2_features &features);
    void reset_image();
    bool is_image_set() const;

    // iou_predictions [K], low_res_masks [K][4h][4w]. Refuses bad prompts with a message.
    // prompt.num_points may be 0 (only the padding point then); at most k_max_points - 1.
    status predict(const sam_prompt &prompt, float *iou_predictions, float *low_res_masks);
    status predict_batch(const sam_prompt *prompts, size_t n, float *iou_predictions, float *low_res_masks);

private:
    struct state;
    std::unique_ptr<state> s_;
};

}  // namespace sam
