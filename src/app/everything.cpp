#include "app/everything.h"

#include <cstdio>

#include "app/model_transforms.h"
#include "core/rle.h"

namespace sam {

namespace {

void finish(everything_state &e, proposals_state &p, app_messages &m, double now_ms) {
    std::vector<amg_record> records = e.generator->finish();
    const amg_stats stats = e.generator->stats();
    const double secs = (now_ms - e.start_ms) / 1000.0;
    mask_proposals made;
    made.image = e.image_file;
    made.width = e.image_w;
    made.height = e.image_h;
    for (amg_record &r : records) {
        mask_proposal q;
        q.segmentation = std::move(r.segmentation);
        q.area = rle_area(q.segmentation);
        q.bbox = rle_to_bbox(q.segmentation);
        q.predicted_iou = r.predicted_iou;
        q.stability_score = r.stability_score;
        q.has_point = true;
        q.point[0] = r.point_coords[0];
        q.point[1] = r.point_coords[1];
        made.proposals.push_back(std::move(q));
    }
    const size_t kept = made.proposals.size();
    e.generator.reset();
    e.outstanding.clear();
    proposals_set(p, std::move(made), "generated");
    char line[200];
    std::snprintf(line, sizeof line,
                  "Segment everything: %d masks from %d points (%d passed IoU, %d stable) in %.1f s, %d batches",
                  (int)kept, (int)e.total, (int)stats.passed_iou, (int)stats.passed_stability, secs, e.batches_sent);
    add_notice(m, line);
}

}  // namespace

bool everything_active(const everything_state &e) { return e.generator != nullptr; }

status everything_start(everything_state &e, proposals_state &p, const model_spec &model, int image_h, int image_w,
                        int64_t image_id, const std::string &image_file, double now_ms) {
    if (everything_active(e)) return status::failure("segment everything is already running");
    amg_params params;
    params.points_per_side = e.points_per_side;
    params.pred_iou_thresh = e.pred_iou_thresh;
    params.stability_score_thresh = e.stability_thresh;
    status st = amg_params_validate(params);
    if (!st) return status::failure("segment everything: " + st.message);
    e.generator = std::make_unique<amg_generator>(params, image_h, image_w, model.preprocess);
    e.family = model.family;
    e.points_1024 = e.generator->crop_points_1024(0);  // crop 0 = the whole image
    e.total = e.points_1024.size() / 2;
    e.sent = e.done = 0;
    e.batches_sent = 0;
    e.outstanding.clear();
    e.image_h = image_h;
    e.image_w = image_w;
    e.image_id = image_id;
    e.image_file = image_file;
    e.start_ms = now_ms;
    e.previous_status = p.status;
    p.status = "generating";
    return status::success();
}

void everything_cancel(everything_state &e, proposals_state &p, decoder_scheduler &s) {
    if (!everything_active(e)) return;
    e.generator.reset();
    e.outstanding.clear();
    s.cancel_batches();
    p.status = e.previous_status;
}

void everything_tick(everything_state &e, decoder_scheduler &s) {
    if (!everything_active(e) || s.status() != decoder_status::ready) return;
    while (e.outstanding.size() < 2 && e.sent < e.total) {
        decoder_batch b;
        b.multimask = true;
        b.orig_h = e.image_h;
        b.orig_w = e.image_w;
        const size_t n = std::min(k_max_batch, e.total - e.sent);
        for (size_t i = e.sent; i < e.sent + n; ++i) {
            // one positive point (SAM 1: and the padding point, as the official predictor pads)
            decoder_prompt q;
            model_prompt(e.family, {e.points_1024[2 * i], e.points_1024[2 * i + 1]}, {1.0f}, nullptr, q.point_coords,
                         q.point_labels);
            b.prompts.push_back(std::move(q));
        }
        e.outstanding.push_back(everything_state::batch_job{s.request_batch(std::move(b)), e.sent, n});
        e.sent += n;
        e.batches_sent++;
    }
}

bool everything_take(everything_state &e, proposals_state &p, decoder_scheduler &s, const decoder_batch_result &r,
                     app_messages &m, double now_ms) {
    if (!everything_active(e) || e.outstanding.empty() || r.request_id != e.outstanding.front().id) return false;
    const everything_state::batch_job job = e.outstanding.front();
    std::string problem;
    if (!r.error.empty()) problem = "decoder: " + r.error;
    else if (r.mask_count != 4 && r.mask_count != 3)
        problem = "the decoder gives " + std::to_string(r.mask_count) +
                  " masks per prompt; the multimask outputs are needed";
    else if (r.offset + r.count > job.count || r.iou_predictions.size() != r.count * (size_t)r.mask_count ||
             r.low_res_masks.size() != r.count * (size_t)r.mask_count * k_low_res_count)
        problem = "decoder: unexpected batch result size";
    if (problem.empty()) {
        status st = e.generator->add_batch(0, job.first + r.offset, r.count, r.iou_predictions.data(),
                                           r.low_res_masks.data(), r.mask_count);
        if (!st) problem = st.message;
    }
    if (!problem.empty()) {
        everything_cancel(e, p, s);
        add_error(m, "segment everything: " + problem);
        return true;
    }
    e.done += r.count;
    if (r.done) e.outstanding.pop_front();
    if (e.done >= e.total && e.outstanding.empty()) finish(e, p, m, now_ms);
    return true;
}

}  // namespace sam
