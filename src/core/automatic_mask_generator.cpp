// automatic_mask_generator.cpp - see automatic_mask_generator.h. Follows
// segment_anything/automatic_mask_generator.py (_process_batch, _process_crop,
// _generate_masks, postprocess_small_regions) step by step.
#include "core/automatic_mask_generator.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/resize_longest_side.h"
#include "core/sam2_transforms.h"
#include "core/upsample_bilinear.h"
#include "core/upsample_blocks.h"

namespace sam {

namespace {

// torch compares a float32 tensor with a Python float after casting it to float32.
inline float f32(double v) { return (float)v; }

// Stability score over the part of the 256x256 low-res logits that covers the
// resized crop (rows/cols of the 1024 frame below input_h/input_w).
float low_res_stability_score(const float *low_res, image_shape input, float mask_threshold, float offset) {
    const float hi = (float)((double)mask_threshold + (double)offset);
    const float lo = (float)((double)mask_threshold - (double)offset);
    const int L = low_res_mask_size, scale = encoder_image_size / L;
    const int rows = std::min(L, (input.height + scale - 1) / scale);
    const int cols = std::min(L, (input.width + scale - 1) / scale);
    int64_t inter = 0, uni = 0;
    for (int y = 0; y < rows; y++) {
        const float *r = low_res + (size_t)y * L;
        for (int x = 0; x < cols; x++) {
            inter += r[x] > hi;
            uni += r[x] > lo;
        }
    }
    return (float)inter / (float)uni;
}

int box_area(const box_xyxy &b) { return (b.x1 - b.x0) * (b.y1 - b.y0); }

// ---- the official stability score without upsampling every mask -----------------------
// Each upsampled logit (Sam.postprocess_masks: 256 -> 1024 bilinear, crop, -> crop size
// bilinear) is a convex combination of at most 3 x 3 neighbouring low-res logits. Where
// all of them lie clearly above (or below) a threshold, so do the upsampled values: such
// blocks are counted whole, and only blocks straddling a threshold are evaluated, pixel by
// pixel, with exactly the float operations of mask_postprocess.cpp's postprocess_stream.
// The counts (hence the score) are bit-identical to calculate_stability_score on
// postprocess_masks output (checked in tests/test_automatic_mask_generator.cpp) at a
// fraction of the cost: a mask's boundary instead of its area.

// Official calculate_stability_score of the postprocessed mask, from the low-res logits.
float fast_stability_score(const float *s, const upsample_plan &p, lowx_cache &lx, float mask_threshold,
                           float offset) {
    const float hi = (float)((double)mask_threshold + (double)offset);
    const float lo = (float)((double)mask_threshold - (double)offset);
    const int L = low_res_mask_size;
    lx.reset(s, p.in_w);
    const float m = block_margin(s, p);
    // Per low-res column over a run's rows: 0 all > hi, 1 all in (lo, hi], 2 all <= lo,
    // 3 undecided; a block of output pixels is decided when its columns agree.
    enum : uint8_t { above = 0, between = 1, below = 2, mixed = 3 };
    std::vector<uint8_t> code(p.n_cols);
    int64_t inter = 0, uni = 0;
    for (const upsample_plan::span &r : p.row_runs) {
        for (int c = 0; c < p.n_cols; c++) {
            float mn = s[r.lo * L + c], mx = mn;
            for (int y = r.lo + 1; y <= r.hi; y++) {
                mn = std::min(mn, s[y * L + c]);
                mx = std::max(mx, s[y * L + c]);
            }
            code[c] = mn > hi + m ? above
                    : (mn > lo + m && mx < hi - m) ? between
                    : mx < lo - m ? below : mixed;
        }
        const int64_t rows = r.end - r.begin;
        for (const upsample_plan::span &cs : p.col_runs) {
            uint8_t k = code[cs.lo];
            for (int c = cs.lo + 1; c <= cs.hi; c++)
                if (code[c] != k) k = mixed;
            const int64_t n = rows * (cs.end - cs.begin);
            if (k == above) {
                inter += n;
                uni += n;
            } else if (k == between) {
                uni += n;
            } else if (k == mixed) {
                for (int Y = r.begin; Y < r.end; Y++)
                    for (int X = cs.begin; X < cs.end; X++) {
                        const float v = upsampled_at(lx, p, Y, X);
                        inter += v > hi;
                        uni += v > lo;
                    }
            }
        }
    }
    return (float)inter / (float)uni;
}

bool all_finite(const float *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!std::isfinite(s[i])) return false;
    return true;
}

}  // namespace

status amg_params_validate(const amg_params &p) {
    if (p.points_per_side < 1 || p.points_per_side > 1024)
        return status::failure("amg params: points_per_side must be in 1..1024, got " + std::to_string(p.points_per_side));
    if (p.points_per_batch < 1)
        return status::failure("amg params: points_per_batch must be positive, got " + std::to_string(p.points_per_batch));
    if (p.crop_n_layers < 0 || p.crop_n_layers > 4)
        return status::failure("amg params: crop_n_layers must be in 0..4, got " + std::to_string(p.crop_n_layers));
    if (p.crop_n_points_downscale_factor < 1)
        return status::failure("amg params: crop_n_points_downscale_factor must be >= 1");
    if (p.crop_n_layers > 0 &&
        p.points_per_side / (int)std::pow(p.crop_n_points_downscale_factor, p.crop_n_layers) < 1)
        return status::failure("amg params: points_per_side is too small for crop_n_layers and crop_n_points_downscale_factor");
    auto unit = [](double v) { return std::isfinite(v) && v >= 0.0 && v <= 1.0; };
    if (!unit(p.pred_iou_thresh)) return status::failure("amg params: pred_iou_thresh must be in [0, 1]");
    if (!unit(p.stability_score_thresh)) return status::failure("amg params: stability_score_thresh must be in [0, 1]");
    if (!unit(p.box_nms_thresh)) return status::failure("amg params: box_nms_thresh must be in [0, 1]");
    if (!unit(p.crop_nms_thresh)) return status::failure("amg params: crop_nms_thresh must be in [0, 1]");
    if (!(p.crop_overlap_ratio >= 0.0 && p.crop_overlap_ratio < 1.0))
        return status::failure("amg params: crop_overlap_ratio must be in [0, 1)");
    if (!std::isfinite(p.stability_score_offset) || p.stability_score_offset < 0.0)
        return status::failure("amg params: stability_score_offset must be a non-negative number");
    if (!std::isfinite(p.mask_threshold)) return status::failure("amg params: mask_threshold must be finite");
    if (p.min_mask_region_area < 0) return status::failure("amg params: min_mask_region_area must be >= 0");
    return {};
}

amg_generator::amg_generator(const amg_params &params, int orig_h, int orig_w, preprocess_kind preprocess)
    : params_(params), orig_h_(orig_h), orig_w_(orig_w), preprocess_(preprocess) {
    // Invalid params or size leave no crops: add_batch then refuses every call.
    if (!amg_params_validate(params_) || orig_h < 1 || orig_w < 1) return;
    generate_crop_boxes(orig_h, orig_w, params_.crop_n_layers, params_.crop_overlap_ratio, crop_boxes_, layer_idxs_);
    point_grids_ = build_all_layer_point_grids(params_.points_per_side, params_.crop_n_layers,
                                               params_.crop_n_points_downscale_factor);
    per_crop_.resize(crop_boxes_.size());
}

image_shape amg_generator::crop_input_size(int crop_index) const {
    if (crop_index < 0 || (size_t)crop_index >= crop_boxes_.size()) return {};
    if (preprocess_ == preprocess_kind::square_1024) return image_shape{sam2::image_size, sam2::image_size};
    const box_xyxy &c = crop_boxes_[crop_index];
    return get_preprocess_shape(c.y1 - c.y0, c.x1 - c.x0);
}

std::vector<double> amg_generator::crop_points(int crop_index) const {
    if (crop_index < 0 || (size_t)crop_index >= crop_boxes_.size()) return {};
    const box_xyxy &c = crop_boxes_[crop_index];
    std::vector<double> p = point_grids_[layer_idxs_[crop_index]];
    const double w = c.x1 - c.x0, h = c.y1 - c.y0;  // points_scale = cropped_im_size[::-1]
    for (size_t i = 0; i + 1 < p.size(); i += 2) {
        p[i] *= w;
        p[i + 1] *= h;
    }
    return p;
}

std::vector<float> amg_generator::crop_points_1024(int crop_index) const {
    std::vector<double> p = crop_points(crop_index);
    if (p.empty()) return {};
    const box_xyxy &c = crop_boxes_[crop_index];
    const image_shape crop{c.y1 - c.y0, c.x1 - c.x0};
    if (preprocess_ == preprocess_kind::square_1024) sam2::apply_coords(p.data(), p.size() / 2, crop);
    else apply_coords(p.data(), p.size() / 2, crop);
    return std::vector<float>(p.begin(), p.end());
}

status amg_generator::add_batch(int crop_index, size_t first_point, size_t n, const float *iou_predictions,
                                const float *low_res_masks, int channels) {
    status ok = amg_params_validate(params_);
    if (!ok) return ok;
    if (crop_index < 0 || (size_t)crop_index >= crop_boxes_.size())
        return status::failure("amg add_batch: crop index " + std::to_string(crop_index) + " out of range (" +
                               std::to_string(crop_boxes_.size()) + " crops)");
    const size_t n_points = point_grids_[layer_idxs_[crop_index]].size() / 2;
    if (first_point > n_points || n > n_points - first_point)
        return status::failure("amg add_batch: points [" + std::to_string(first_point) + ", " +
                               std::to_string(first_point + n) + ") out of range (crop has " +
                               std::to_string(n_points) + " points)");
    if (channels != 1 && channels != 3 && channels != 4)
        return status::failure("amg add_batch: expected 1, 3 or 4 masks per point, got " + std::to_string(channels));
    if (n > 0 && (!iou_predictions || !low_res_masks)) return status::failure("amg add_batch: missing outputs");

    const box_xyxy crop = crop_boxes_[crop_index];
    const int crop_h = crop.y1 - crop.y0, crop_w = crop.x1 - crop.x0;
    const bool square = preprocess_ == preprocess_kind::square_1024;
    const image_shape input = crop_input_size(crop_index);
    const box_xyxy orig_box{0, 0, orig_w_, orig_h_};
    const bool whole_image = crop.x0 == 0 && crop.y0 == 0 && crop_w == orig_w_ && crop_h == orig_h_;
    const std::vector<double> points = crop_points(crop_index);
    // multimask_output=True drops the single-mask token's output (index 0).
    const int first_channel = channels == 4 ? 1 : 0;
    const size_t plane = (size_t)low_res_mask_size * low_res_mask_size;
    const float iou_thresh = f32(params_.pred_iou_thresh), stab_thresh = f32(params_.stability_score_thresh);
    const bool exact = !params_.stability_score_on_low_res;
    upsample_plan plan;
    lowx_cache lowx;
    if (exact) plan = make_plan(input, crop_h, crop_w, preprocess_);

    for (size_t i = 0; i < n; i++) {
        for (int m = first_channel; m < channels; m++) {
            stats_.masks_seen++;
            const float iou = iou_predictions[i * channels + m];
            if (params_.pred_iou_thresh > 0.0 && !(iou > iou_thresh)) continue;
            stats_.passed_iou++;

            const float *low = low_res_masks + (i * channels + m) * plane;
            float stab;
            binary_mask mask;
            if (exact && all_finite(low, plane)) {
                stab = fast_stability_score(low, plan, lowx, params_.mask_threshold, f32(params_.stability_score_offset));
            } else if (exact) {  // NaN/inf logits: the plain way, whatever torch would count
                logits_.resize((size_t)crop_h * crop_w);
                if (square) sam2::postprocess_masks(low, crop_h, crop_w, logits_.data());
                else postprocess_masks(low, input.height, input.width, crop_h, crop_w, logits_.data());
                stab = calculate_stability_score(logits_.data(), logits_.size(), params_.mask_threshold,
                                                 f32(params_.stability_score_offset));
            } else {
                stab = low_res_stability_score(low, input, params_.mask_threshold, f32(params_.stability_score_offset));
            }
            if (params_.stability_score_thresh > 0.0 && !(stab >= stab_thresh)) continue;
            stats_.passed_stability++;

            // Same values as postprocess_masks (see mask_postprocess.h), thresholded.
            mask = square ? sam2::postprocess_to_mask(low, crop_h, crop_w, params_.mask_threshold)
                          : postprocess_to_mask(low, input.height, input.width, crop_h, crop_w, params_.mask_threshold);
            const box_xyxy box = mask_to_box(mask);
            if (is_box_near_crop_edge(box, crop, orig_box)) continue;
            stats_.passed_crop_edge++;

            candidate c;
            c.segmentation = mask_to_rle(whole_image ? mask : uncrop_mask(mask, crop, orig_h_, orig_w_));
            c.box = box;
            c.predicted_iou = iou;
            c.stability_score = stab;
            c.point[0] = points[2 * (first_point + i)];
            c.point[1] = points[2 * (first_point + i) + 1];
            per_crop_[crop_index].push_back(std::move(c));
        }
    }
    return {};
}

std::vector<amg_record> amg_generator::finish() {
    std::vector<amg_record> out;
    std::vector<box_xyxy> boxes;  // original frame, parallel to out

    for (size_t ci = 0; ci < per_crop_.size(); ci++) {
        std::vector<candidate> &cands = per_crop_[ci];
        const box_xyxy &crop = crop_boxes_[ci];
        std::vector<float> b(cands.size() * 4), s(cands.size());
        std::vector<int> cat(cands.size(), 0);
        for (size_t k = 0; k < cands.size(); k++) {
            b[4 * k] = (float)cands[k].box.x0;
            b[4 * k + 1] = (float)cands[k].box.y0;
            b[4 * k + 2] = (float)cands[k].box.x1;
            b[4 * k + 3] = (float)cands[k].box.y1;
            s[k] = cands[k].predicted_iou;
        }
        std::vector<int> keep = batched_nms(b.data(), s.data(), cat.data(), cands.size(), params_.box_nms_thresh);
        for (int k : keep) {
            candidate &c = cands[k];
            amg_record r;
            r.segmentation = std::move(c.segmentation);
            r.predicted_iou = c.predicted_iou;
            r.stability_score = c.stability_score;
            r.point_coords[0] = c.point[0];
            r.point_coords[1] = c.point[1];
            uncrop_points(r.point_coords, 1, crop);
            r.crop_box = box_xyxy_to_xywh(crop);
            boxes.push_back(uncrop_box_xyxy(c.box, crop));
            out.push_back(std::move(r));
        }
        cands.clear();
        cands.shrink_to_fit();
    }

    auto apply_keep = [&](const std::vector<int> &keep) {
        std::vector<amg_record> o;
        std::vector<box_xyxy> bx;
        o.reserve(keep.size());
        for (int k : keep) {
            o.push_back(std::move(out[k]));
            bx.push_back(boxes[k]);
        }
        out.swap(o);
        boxes.swap(bx);
    };
    auto box_floats = [&]() {
        std::vector<float> b(boxes.size() * 4);
        for (size_t k = 0; k < boxes.size(); k++) {
            b[4 * k] = (float)boxes[k].x0;
            b[4 * k + 1] = (float)boxes[k].y0;
            b[4 * k + 2] = (float)boxes[k].x1;
            b[4 * k + 3] = (float)boxes[k].y1;
        }
        return b;
    };

    if (crop_boxes_.size() > 1) {
        // Prefer masks from smaller crops: score 1 / crop area.
        std::vector<float> s(out.size());
        for (size_t k = 0; k < out.size(); k++) {
            const amg_record &r = out[k];
            box_xyxy c{(int)r.crop_box.x, (int)r.crop_box.y, (int)(r.crop_box.x + r.crop_box.w),
                       (int)(r.crop_box.y + r.crop_box.h)};
            s[k] = 1.0f / (float)box_area(c);
        }
        std::vector<int> cat(out.size(), 0);
        std::vector<float> b = box_floats();
        apply_keep(batched_nms(b.data(), s.data(), cat.data(), out.size(), params_.crop_nms_thresh));
    }

    if (params_.min_mask_region_area > 0 && !out.empty()) {
        // One mask decoded at a time; only changed masks get a new RLE.
        std::vector<float> s(out.size());
        std::vector<rle> changed_rle(out.size());
        for (size_t k = 0; k < out.size(); k++) {
            binary_mask m = rle_to_mask(out[k].segmentation);
            bool changed = remove_small_regions(m, params_.min_mask_region_area, small_region_mode::holes);
            changed = remove_small_regions(m, params_.min_mask_region_area, small_region_mode::islands) || changed;
            s[k] = changed ? 0.0f : 1.0f;
            if (changed) {
                boxes[k] = mask_to_box(m);
                changed_rle[k] = mask_to_rle(m);
            }
        }
        std::vector<int> cat(out.size(), 0);
        std::vector<float> b = box_floats();
        std::vector<int> keep = batched_nms(b.data(), s.data(), cat.data(), out.size(),
                                            std::max(params_.box_nms_thresh, params_.crop_nms_thresh));
        for (int k : keep)
            if (s[k] == 0.0f) out[k].segmentation = std::move(changed_rle[k]);
        apply_keep(keep);
    }

    for (size_t k = 0; k < out.size(); k++) {
        out[k].area = rle_area(out[k].segmentation);
        out[k].bbox = box_xyxy_to_xywh(boxes[k]);
    }
    return out;
}

}  // namespace sam
