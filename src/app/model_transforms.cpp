#include "app/model_transforms.h"

#include <algorithm>

#include "core/mask_postprocess.h"
#include "core/rle.h"
#include "core/sam2_transforms.h"

namespace sam {

void model_apply_coords(preprocess_kind p, double *xy, size_t n, image_shape original) {
    if (p == preprocess_kind::square_1024) return sam2::apply_coords(xy, n, original);
    apply_coords(xy, n, original);
}

void model_apply_boxes(preprocess_kind p, double *xyxy, size_t n, image_shape original) {
    if (p == preprocess_kind::square_1024) return sam2::apply_boxes(xyxy, n, original);
    apply_boxes(xyxy, n, original);
}

void model_frame_scale(preprocess_kind p, int orig_w, int orig_h, float scale[2]) {
    const float w = (float)std::max(1, orig_w), h = (float)std::max(1, orig_h);
    if (p == preprocess_kind::square_1024) {
        scale[0] = (float)sam2::image_size / w;
        scale[1] = (float)sam2::image_size / h;
        return;
    }
    scale[0] = scale[1] = (float)encoder_image_size / std::max(w, h);
}

void model_prompt(model_family f, const std::vector<float> &xy, const std::vector<float> &labels,
                  const float *box_1024, std::vector<float> &point_coords, std::vector<float> &point_labels) {
    point_coords.clear();
    point_labels.clear();
    auto add_box = [&] {
        point_coords.insert(point_coords.end(), box_1024, box_1024 + 4);
        point_labels.insert(point_labels.end(), {2.0f, 3.0f});
    };
    if (f == model_family::sam2_1 && box_1024) add_box();
    point_coords.insert(point_coords.end(), xy.begin(), xy.end());
    point_labels.insert(point_labels.end(), labels.begin(), labels.end());
    if (f == model_family::sam2_1) return;
    if (box_1024) {
        add_box();
    } else {
        point_coords.insert(point_coords.end(), {0.0f, 0.0f});
        point_labels.push_back(-1.0f);
    }
}

rle model_postprocess_to_rle(preprocess_kind p, const float *low_res, int orig_h, int orig_w) {
    if (p == preprocess_kind::square_1024) return mask_to_rle(sam2::postprocess_to_mask(low_res, orig_h, orig_w));
    const image_shape resized = get_preprocess_shape(orig_h, orig_w);
    return postprocess_to_rle(low_res, resized.height, resized.width, orig_h, orig_w);
}

int model_single_mask(single_mask_rule rule, const float *iou, const float *low_res, int k) {
    if (k != 4 || rule == single_mask_rule::token_0) return 0;
    return sam2::select_single_mask(iou, low_res, k);
}

}  // namespace sam
