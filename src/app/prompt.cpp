#include "app/prompt.h"

#include <utility>

#include "app/model_transforms.h"

namespace sam {

namespace {

bool same_point(const click_point &a, const click_point &b) { return a.x == b.x && a.y == b.y && a.label == b.label; }

// `next` refines `shown`: its points start with shown's, its box is shown's or new.
bool extends(const prompt_shape &next, const prompt_shape &shown) {
    if (shown.empty() || next.points.size() < shown.points.size()) return false;
    for (size_t i = 0; i < shown.points.size(); ++i)
        if (!same_point(next.points[i], shown.points[i])) return false;
    if (shown.has_box) {
        if (!next.has_box) return false;
        for (int k = 0; k < 4; ++k)
            if (next.box[k] != shown.box[k]) return false;
    }
    return true;
}

}  // namespace

decoder_request build_request(const model_spec &m, const prompt_shape &shape, int orig_h, int orig_w,
                              const float *mask_input) {
    const image_shape original{orig_h, orig_w};
    std::vector<float> xy, labels;
    for (const click_point &p : shape.points) {
        double q[2] = {p.x, p.y};
        model_apply_coords(m.preprocess, q, 1, original);
        xy.insert(xy.end(), {(float)q[0], (float)q[1]});
        labels.push_back((float)p.label);
    }
    float box[4];
    if (shape.has_box) {
        double b[4] = {shape.box[0], shape.box[1], shape.box[2], shape.box[3]};
        model_apply_boxes(m.preprocess, b, 1, original);
        for (int k = 0; k < 4; ++k) box[k] = (float)b[k];
    }
    decoder_request r;
    model_prompt(m.family, xy, labels, shape.has_box ? box : nullptr, r.point_coords, r.point_labels);
    if (mask_input) r.mask_input.assign(mask_input, mask_input + k_low_res_count);
    r.orig_h = orig_h;
    r.orig_w = orig_w;
    return r;
}

int default_output(const decoder_result &r, const prompt_shape &shape, single_mask_rule rule) {
    if (r.mask_count <= 1) return 0;
    const int first = r.mask_count == 4 ? 1 : 0;
    const size_t n_points = shape.points.size() + (shape.has_box ? 2 : 1);
    if (r.mask_count == 4 && n_points >= 3)
        return model_single_mask(rule, r.iou_predictions.data(), r.low_res_masks.data(), r.mask_count);
    int best = first;
    for (int i = first; i < r.mask_count; ++i)
        if (r.iou_predictions[(size_t)i] > r.iou_predictions[(size_t)best]) best = i;
    return best;
}

uint64_t prompt_send(prompt_state &p, decoder_scheduler &s, const model_spec &m, request_kind kind,
                     const prompt_shape &shape, int orig_h, int orig_w, double input_ms, double now_ms) {
    const float *mask = nullptr;
    if (kind == request_kind::prompt && p.has_result && p.result_kind == request_kind::prompt &&
        extends(shape, p.result_shape))
        mask = prompt_selected_logits(p);
    decoder_request r = build_request(m, shape, orig_h, orig_w, mask);
    const int n_points = (int)r.point_labels.size();
    p.last_request_has_mask_input = mask != nullptr;
    const uint64_t id = s.request(std::move(r));
    p.last_request_id = id;
    p.requests_sent++;
    p.in_flight[id] = prompt_state::request_info{kind, input_ms, now_ms, n_points, shape, m.single_mask};
    return id;
}

bool prompt_take_result(prompt_state &p, decoder_result r, double now_ms, std::string &error) {
    auto it = p.in_flight.find(r.request_id);
    if (it == p.in_flight.end()) return false;  // not ours (another image, or forgotten)
    prompt_state::request_info info = std::move(it->second);
    p.in_flight.erase(p.in_flight.begin(), p.in_flight.upper_bound(r.request_id));
    if (!r.error.empty()) {
        error = r.error;
        return false;
    }
    // a click superseded the preview; a cleared or accepted prompt wants no late result
    if ((info.kind == request_kind::hover) != p.shape.empty()) return false;
    if (r.mask_count <= 0 || r.iou_predictions.size() != (size_t)r.mask_count ||
        r.low_res_masks.size() != (size_t)r.mask_count * k_low_res_count) {
        error = "unexpected low_res_masks size";
        return false;
    }
    p.last_round_trip_ms = now_ms - info.sent_ms;
    p.last_mask_frame = prompt_state::mask_frame{r.request_id, info.input_ms, now_ms, 0};
    p.mask_frame_pending = true;
    p.result_request_id = r.request_id;
    p.decode_count++;
    p.last_decode_ms = r.decode_ms;
    p.result = std::move(r);
    p.has_result = true;
    p.result_kind = info.kind;
    p.result_shape = std::move(info.shape);
    p.selected_output = default_output(p.result, p.result_shape, info.single_mask);
    p.mask_revision++;
    return true;
}

void prompt_clear_result(prompt_state &p) {
    if (!p.has_result && p.selected_output < 0) return;
    p.has_result = false;
    p.selected_output = -1;
    p.mask_revision++;
}

void prompt_select_output(prompt_state &p, int index) {
    if (!p.has_result || index < 0 || index >= p.result.mask_count || index == p.selected_output) return;
    p.selected_output = index;
    p.mask_revision++;
}

void prompt_select_candidate(prompt_state &p, int number) {
    if (!p.has_result) return;
    prompt_select_output(p, p.result.mask_count == 4 ? number : number - 1);
}

const float *prompt_selected_logits(const prompt_state &p) {
    if (!p.has_result || p.selected_output < 0 || p.selected_output >= p.result.mask_count) return nullptr;
    return p.result.low_res_masks.data() + (size_t)p.selected_output * k_low_res_count;
}

void prompt_reset(prompt_state &p) {
    p.shape = prompt_shape{};
    p.hover_x = p.hover_y = -1;
    p.in_flight.clear();
    prompt_clear_result(p);
}

}  // namespace sam
