// decoder_backend.h - what runs SAM's prompt encoder + mask decoder for the app, and
// the requests and results that pass through it (the official ONNX decoder contract,
// DESIGN.md; the worker messages, /work/notes/decoder_worker_protocol.md). A backend
// only runs jobs, one at a time, in the order given, and reports to its
// decoder_events; which job runs when (latest request wins, one pending slot, batch
// jobs, stale results dropped) is decoder_scheduler's business, for every backend.
//   backend: load(url) -> on_loaded;  set_image(id, e) -> on_embedding;
//            decode(id, r) -> on_result;  decode_batch(id, b) -> on_batch_result (1+ parts)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sam {

constexpr int k_low_res = 256;                           // low_res_masks are K x 256 x 256
constexpr size_t k_low_res_count = 256 * 256;            // floats per low-res mask
constexpr size_t k_decoder_embedding_count = 256 * 64 * 64;  // image_embeddings [1,256,64,64]

// One interactive decode. Points in the 1024 frame (the model's apply_coords already
// applied), labels 1 positive / 0 negative / 2,3 box corners / -1 padding, laid out as
// the model family's predictor does (model_transforms.h: SAM 1's caller adds the padding
// point; SAM 2.1's decoder adds it itself).
struct decoder_request {
    std::vector<float> point_coords;  // N x 2 (x, y)
    std::vector<float> point_labels;  // N
    std::vector<float> mask_input;    // empty, or 256x256 low-res logits fed back (has_mask_input = 1)
    int orig_h = 0, orig_w = 0;       // oriented image size in pixels (orig_im_size)
};

// One prompt of a batch job (segment-everything grid points, detector boxes): no mask_input.
struct decoder_prompt {
    std::vector<float> point_coords;  // N x 2, 1024 frame
    std::vector<float> point_labels;  // N
};

struct decoder_batch {
    std::vector<decoder_prompt> prompts;  // at most k_max_batch (the worker's memory bound)
    bool multimask = true;
    int orig_h = 0, orig_w = 0;
};
constexpr size_t k_max_batch = 16;

struct decoder_result {
    uint64_t request_id = 0;
    int mask_count = 0;                  // K: 4 = the official export (0 single-mask token, 1-3 multimask)
    std::vector<float> iou_predictions;  // K
    std::vector<float> low_res_masks;    // K x 256 x 256 logits over the model's 1024 frame / 4
    double decode_ms = 0;                // measured inside the worker
    std::string error;                   // non-empty if this request failed
};

// Part of a batch job's results: prompts [offset, offset + count) of the job.
struct decoder_batch_result {
    uint64_t request_id = 0;
    size_t offset = 0, count = 0;
    int mask_count = 0;                  // K per prompt
    std::vector<float> iou_predictions;  // count x K
    std::vector<float> low_res_masks;    // count x K x 256 x 256
    double decode_ms = 0;
    bool done = true;  // the job's last part
    std::string error;
};

// One feature tensor of a model with several per image (SAM 2.1), fetched by URL.
struct decoder_feature {
    std::string input;           // the decoder input it feeds ("high_res_feats_0")
    std::string url;             // absolute
    std::string file;            // for messages ("embeddings/high_res_feats_0/cat.npy")
    std::vector<int64_t> shape;  // from the dataset's model spec, e.g. {1, 32, 256, 256}
};

// An image embedding for set_image: by URL (the worker fetches and parses the .npy
// itself, f32 or f16 [1,256,64,64]), as data computed or opened in the browser, or
// (SAM 2.1) as one URL per feature tensor, each .npy f32 or f16 of its spec shape.
struct decoder_embedding {
    std::string url;          // absolute, or empty when `data` or `features` is given
    std::string name;         // for messages ("embeddings/cat.npy")
    std::string dtype;        // "float32" / "float16" (a hint; the file's header decides)
    std::vector<float> data;  // 256*64*64 when url is empty
    std::vector<decoder_feature> features;  // non-empty: the model's feature files (url and data unused)
};

// What a backend reports; every call happens on the main thread, between frames.
class decoder_events {
public:
    virtual ~decoder_events() = default;
    // ok: message = "backend=<name>;threads=N;outputs=K[;variant=...]"; else why (names the file).
    virtual void on_loaded(bool ok, const std::string &message) = 0;
    virtual void on_embedding(uint64_t id, bool ok, const std::string &message) = 0;
    virtual void on_result(decoder_result r) = 0;
    virtual void on_batch_result(decoder_batch_result r) = 0;
};

class decoder_backend {
public:
    virtual ~decoder_backend() = default;
    virtual void load(const std::string &url) = 0;
    virtual void set_image(uint64_t id, decoder_embedding e) = 0;
    virtual void decode(uint64_t id, const decoder_request &r) = 0;
    virtual void decode_batch(uint64_t id, const decoder_batch &b) = 0;
};

}  // namespace sam
