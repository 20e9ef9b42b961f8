// prompt.h - the prompt being built on the shown image and the candidates it gave:
// points (full-resolution image pixels, integer pixel indices as the official
// predictor takes them; label 1 positive, 0 negative) and an optional box, mapped to
// the decoder's 1024 frame only when a request is built, with the transforms of the
// dataset's model (model_transforms.h: SAM 1's apply_coords / apply_boxes and padding
// point, or SAM 2.1's). Requests go through the decoder seam; the newest result is
// shown, the candidate preselected as SAM's ONNX select_masks rule does (the
// single-mask output by the model's rule: SAM 2.1's dynamic choice by stability). The
// prompt API (window.samAnnotator.prompt) and clicks end in the same functions, so the
// same prompt gives the same candidates.
//   prompt_send(p, scheduler, spec, kind, shape, ...);  prompt_take_result(p, r, ...)
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include "app/decoder_backend.h"
#include "app/decoder_scheduler.h"
#include "core/model_spec.h"

namespace sam {

enum class tool_kind { point, box, proposal };  // proposal: clicks select segment-everything proposals
enum class request_kind { hover, prompt };

struct click_point {
    double x = 0, y = 0;  // image pixels
    int label = 1;        // 1 positive, 0 negative
};

struct prompt_shape {
    std::vector<click_point> points;
    bool has_box = false;
    double box[4] = {0, 0, 0, 0};  // x0, y0, x1, y1 image pixels
    bool empty() const { return points.empty() && !has_box; }
};

struct prompt_state {
    tool_kind tool = tool_kind::point;
    prompt_shape shape;
    double hover_x = -1, hover_y = -1;  // last hovered image pixel sent (-1: re-armed)

    // the shown result and what it was asked with
    decoder_result result;
    bool has_result = false;
    request_kind result_kind = request_kind::hover;
    prompt_shape result_shape;
    int selected_output = -1;    // index into result (0..K-1)
    uint64_t mask_revision = 1;  // bumps whenever the shown mask changes (the renderer redraws it)

    // requests in flight and their timings
    struct request_info {
        request_kind kind = request_kind::prompt;
        double input_ms = 0, sent_ms = 0;  // the input event that caused it; when sent
        int n_points = 0;                  // point_labels length, padding and box corners included
        prompt_shape shape;
        single_mask_rule single_mask = single_mask_rule::token_0;  // the model's
    };
    std::map<uint64_t, request_info> in_flight;
    uint64_t last_request_id = 0, result_request_id = 0;
    int requests_sent = 0;
    bool last_request_has_mask_input = false;
    int decode_count = 0;
    double last_decode_ms = 0, last_round_trip_ms = 0;
    // latency probe: the newest result's input event, arrival and first frame drawn with it
    struct mask_frame {
        uint64_t request_id = 0;
        double input_ms = 0, result_ms = 0, frame_ms = 0;
    };
    mask_frame last_mask_frame;
    bool mask_frame_pending = false;
};

// The decoder request of `shape` on an image of orig_h x orig_w for the model `m`: points
// -> 1024 frame, box corners as labels 2/3, laid out by model_prompt (SAM 1: the padding
// point (0, 0, -1) without a box); mask_input as given.
decoder_request build_request(const model_spec &m, const prompt_shape &shape, int orig_h, int orig_w,
                              const float *mask_input);
// SAM's ONNX select_masks rule: with N prompt points (SAM 1's padding point and box
// corners included, for both families) N >= 3 takes the single-mask output (SAM 1: 0;
// SAM 2.1: model_single_mask), otherwise the best multimask output by IoU.
int default_output(const decoder_result &r, const prompt_shape &shape, single_mask_rule rule);

// Sends `shape` (hover: the preview; prompt: the user's). A prompt that extends the one
// whose result is shown (same points first, same or no box before) feeds that result's
// chosen low-res mask back as mask_input, as SAM's interactive refinement does.
uint64_t prompt_send(prompt_state &p, decoder_scheduler &s, const model_spec &m, request_kind kind,
                     const prompt_shape &shape, int orig_h, int orig_w, double input_ms, double now_ms);
// Takes a decoder result in; false (and nothing shown) if it is stale or malformed
// (`error` says why when it is malformed or failed).
bool prompt_take_result(prompt_state &p, decoder_result r, double now_ms, std::string &error);

void prompt_clear_result(prompt_state &p);  // nothing shown
void prompt_select_output(prompt_state &p, int index);
// Candidate 1..3 (the multimask outputs), as keys 1-3 pick them.
void prompt_select_candidate(prompt_state &p, int number);
// The low-res logits of the selected candidate (256x256), or nullptr.
const float *prompt_selected_logits(const prompt_state &p);
// Forgets everything about the image (another one opens).
void prompt_reset(prompt_state &p);

}  // namespace sam
