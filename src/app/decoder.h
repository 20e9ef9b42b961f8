// decoder.h - the one interface the app uses to run SAM's prompt encoder +
// mask decoder (the official ONNX decoder contract, see DESIGN.md). The
// browser implementation is a Web Worker running ONNX Runtime Web
// (src/platform/web/worker_decoder.cpp); tests may supply another.
//   d.load(url); d.set_embedding(e);  id = d.request(r);  ... d.poll(result)
// Latest request wins: while a decode runs, a newer request replaces the
// pending one (never a queue), so a result may skip intermediate requests.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sam {

struct decoder_request {
    std::vector<float> point_coords;  // N x 2 (x, y) in the 1024 frame (apply_coords)
    std::vector<float> point_labels;  // N: 1 positive, 0 negative, 2/3 box corners, -1 padding
    std::vector<float> mask_input;    // empty, or 256x256 low-res logits fed back (has_mask_input=1)
    int orig_h = 0, orig_w = 0;       // oriented image size in pixels (orig_im_size)
};

struct decoder_result {
    uint64_t request_id = 0;
    int mask_count = 0;                  // K: 4 for the official multimask export (0 = single-mask token)
    std::vector<float> iou_predictions;  // K
    std::vector<float> low_res_masks;    // K x 256 x 256 logits over the padded 1024x1024 frame / 4
    double decode_ms = 0;                // time spent in session.run, measured in the worker
    std::string error;                   // non-empty if this request failed
};

enum class decoder_status { idle, loading, ready, failed };

class decoder {
public:
    virtual ~decoder() = default;
    // Starts loading the decoder ONNX at `url` (asynchronous; see status()).
    virtual void load(const std::string &url) = 0;
    virtual decoder_status status() const = 0;
    virtual const std::string &error() const = 0;        // why loading failed
    virtual const std::string &description() const = 0;  // e.g. "wasm, 2 threads, outputs: ..."
    // image_embeddings [1,256,64,64] f32. Drops any pending request; results of
    // requests made before this call are never returned by poll().
    virtual void set_embedding(std::vector<float> embedding) = 0;
    // Returns the request id (increasing). Replaces a pending, not yet started request.
    virtual uint64_t request(decoder_request r) = 0;
    // Moves the newest finished result (if any) into `out`; older ones are discarded.
    virtual bool poll(decoder_result &out) = 0;
    virtual bool busy() const = 0;
};

}  // namespace sam
