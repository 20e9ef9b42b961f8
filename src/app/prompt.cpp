#include "app/prompt.h"

#include <utility>

#include "core/resize_longest_side.h"

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

decoder_request build_request(const prompt_shape &shape, int orig_h, int orig_w, const float *mask_input) {
    const image_shape original{orig_h, orig_w};
    decoder_request r;
    for (const click_point &p : shape.points) {
        double xy[2] = {p.x, p.y};
        apply_coords(xy, 1, original);
        r.point_coords.push_back((float)xy[0]);
        r.point_coords.push_back((float)xy[1]);
        r.point_labels.push_back((float)p.label);
    }
    if (shape.has_box) {
        double b[4] = {shape.box[0], shape.box[1], shape.box[2], shape.box[3]};
        apply_boxes(b, 1, original);
        r.point_coords.insert(r.point_coords.end(), {(float)b[0], (float)b[1], (float)b[2], (float)b[3]});
        r.point_labels.insert(r.point_labels.end(), {2.0f, 3.0f});
    } else {
        r.point_coords.insert(r.point_coords.end(), {0.0f, 0.0f});
        r.point_labels.push_back(-1.0f);
    }
    if (mask_input) r.mask_input.assign(mask_input, mask_input + k_low_res_count);
    r.orig_h = orig_h;
    r.orig_w = orig_w;
    return r;
}

int default_output(const decoder_result &r, int n_points) {
    if (r.mask_count <= 1) return 0;
    const int first = r.mask_count == 4 ? 1 : 0;
    if (r.mask_count == 4 && n_points >= 3) return 0;
    int best = first;
    for (int i = first; i < r.mask_count; ++i)
        if (r.iou_predictions[(size_t)i] > r.iou_predictions[(size_t)best]) best = i;
    return best;
}

uint64_t prompt_send(prompt_state &p, decoder_scheduler &s, request_kind kind, const prompt_shape &shape, int orig_h,
                     int orig_w, double input_ms, double now_ms) {
    const float *mask = nullptr;
    if (kind == request_kind::prompt && p.has_result && p.result_kind == request_kind::prompt &&
        extends(shape, p.result_shape))
        mask = prompt_selected_logits(p);
    decoder_request r = build_request(shape, orig_h, orig_w, mask);
    const int n_points = (int)r.point_labels.size();
    p.last_request_has_mask_input = mask != nullptr;
    const uint64_t id = s.request(std::move(r));
    p.last_request_id = id;
    p.requests_sent++;
    p.in_flight[id] = prompt_state::request_info{kind, input_ms, now_ms, n_points, shape};
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
    p.selected_output = default_output(p.result, info.n_points);
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
