// everything.h - segment everything in the browser, when the dataset has no proposals
// for the image: SAM's automatic mask generator in the core (official parameters; the
// whole image, no crop layers) fed batches of grid points (<= k_max_batch per decoder
// message, two batches queued so the worker never waits) through the decoder seam;
// finish() turns its records into the image's proposals. The dataset's model decides the
// point map, the prompt layout and the mask upsampling (SAM 1 or SAM 2.1: the core's
// generator with that preprocessing; README's "Segment everything" says how this differs
// from the official generators).
//   everything_start(e, p, spec, h, w, image_id, file, now);  each frame: everything_tick(e, s);
//   a batch result: everything_take(e, p, r, m, now)
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "app/decoder_scheduler.h"
#include "app/messages.h"
#include "app/proposals.h"
#include "core/automatic_mask_generator.h"

namespace sam {

struct everything_state {
    std::unique_ptr<amg_generator> generator;  // non-null while a pass runs
    std::vector<float> points_1024;            // the grid, decoder frame
    size_t sent = 0, done = 0, total = 0;      // grid points sent, decoded, in all
    int batches_sent = 0;
    struct batch_job {
        uint64_t id = 0;
        size_t first = 0, count = 0;
    };
    std::deque<batch_job> outstanding;
    int image_h = 0, image_w = 0;
    model_family family = model_family::sam1;  // the dataset's, when the pass started
    int64_t image_id = 0;
    std::string image_file;
    double start_ms = 0;
    std::string previous_status;  // proposals status to restore on cancel
    int points_per_side = 16;     // the official default is 32 (1024 decodes)
    float pred_iou_thresh = 0.88f, stability_thresh = 0.95f;
};

bool everything_active(const everything_state &e);
status everything_start(everything_state &e, proposals_state &p, const model_spec &model, int image_h, int image_w,
                        int64_t image_id, const std::string &image_file, double now_ms);
void everything_cancel(everything_state &e, proposals_state &p, decoder_scheduler &s);
// Keeps up to two batches queued in the seam.
void everything_tick(everything_state &e, decoder_scheduler &s);
// A batch result; false if it is not this pass's. Finishes the pass after the last point.
bool everything_take(everything_state &e, proposals_state &p, decoder_scheduler &s, const decoder_batch_result &r,
                     app_messages &m, double now_ms);

}  // namespace sam
