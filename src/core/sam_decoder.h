// sam_decoder.h - SAM's prompt encoder + mask decoder in C++ (SamOnnxModel's meaning),
// for every SAM-architecture decoder (ViT-B/L/H, MobileSAM, ours), from a .samw file.
//   sam::sam_decoder dec;  dec.load(bytes, n, "decoder.samw");
//   dec.set_image(embedding, dec.embedding_count());  // f32 [1,256,64,64] C order: image_embeddings
//   dec.predict({coords, labels, n, mask_or_null}, iou /*[K]*/, low_res_masks /*[K][256][256]*/);
// Points (x, y) in the 1024 frame (ResizeLongestSide.apply_coords); labels 1/0 points, 2/3 box
// corners, -1 the padding point (the caller adds it as the predictor does). K = 4: 0 single-mask,
// 1..3 multimask. set_image does the prompt-independent work once per image. One caller at a time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/decoder_weights.h"
#include "core/parallel_for.h"
#include "core/status.h"
#include "core/two_way_transformer.h"

namespace sam {

constexpr int k_max_points = 256;             // per prompt (memory grows with the token count)
constexpr float k_max_input_magnitude = 1e6f;  // larger embedding/mask/coordinate values are refused

// Every value finite and within k_max_input_magnitude, else the first bad one, named
// "what[i] = v is not finite" (the decoders' input check, SAM's and SAM 2.1's).
status check_decoder_values(const float *v, size_t n, const std::string &what);

struct sam_prompt {
    const float *point_coords = nullptr;  // [num_points][2] (x, y), 1024 frame
    const float *point_labels = nullptr;  // [num_points]
    int num_points = 0;
    const float *mask_input = nullptr;    // [4h][4w] low-res logits (has_mask_input = 1), or null
};

class sam_decoder {
public:
    sam_decoder();
    ~sam_decoder();
    sam_decoder(const sam_decoder &) = delete;
    sam_decoder &operator=(const sam_decoder &) = delete;

    // Parses the weights (decoder_weights_parse) and prepares them; the message names `name`.
    status load(const uint8_t *bytes, size_t size, const std::string &name);
    status load(const decoder_weights &weights);
    bool loaded() const;
    const sam_decoder_config &config() const;
    int num_outputs() const;        // K
    size_t embedding_count() const;  // embed_dim * h * w
    size_t mask_count() const;       // values per low-res mask: 4h * 4w

    void set_parallel(parallel_for *pf);  // null: one thread
    void set_attention_order(attention_order order);

    // image_embeddings [1][embed_dim][h][w]; refused (status) when the count differs or a
    // value is not finite or beyond k_max_input_magnitude.
    status set_image(const float *embedding, size_t count);
    void reset_image();
    bool is_image_set() const;

    // iou_predictions [K], low_res_masks [K][4h][4w]. Refuses bad prompts with a message.
    status predict(const sam_prompt &prompt, float *iou_predictions, float *low_res_masks);
    // n prompts on the same image: iou [n][K], masks [n][K][4h][4w]; stops at the first bad one.
    status predict_batch(const sam_prompt *prompts, size_t n, float *iou_predictions, float *low_res_masks);

private:
    struct state;
    std::unique_ptr<state> s_;
};

// The official single-mask rule (SamOnnxModel.select_masks): argmax of
// iou + (num_points - 2.5) * [1000, 0, 0, ...].
int select_single_mask(const float *iou, int k, int num_points);

}  // namespace sam
