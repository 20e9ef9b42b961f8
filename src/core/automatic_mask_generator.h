// automatic_mask_generator.h - "segment everything": SamAutomaticMaskGenerator as an
// incremental accumulator, so the decoder can run anywhere (onnxruntime-node behind
// the sam_amg tool, ONNX Runtime Web in the app's worker) and feed it batch by batch.
// For each crop (crop_boxes(); XYXY original pixels; crop 0 is the whole image) embed
// the crop, take crop_points(c) (x, y crop pixels) / crop_points_1024(c) (the same in the
// 1024 frame of that crop's embedding), decode them in batches of single positive points
// and call add_batch(); then finish() returns the records (masks as COCO RLE, orig frame).
// The preprocessing kind picks the model family's transforms: SAM 1's ResizeLongestSide
// frame and two-stage postprocess_masks (default), or SAM 2.1's stretched 1024 x 1024
// frame and one bilinear resize (sam2_transforms.h), as SAM2AutomaticMaskGenerator
// (sam2/automatic_mask_generator.py) maps points and upsamples masks.
//
//   sam::amg_generator g(sam::amg_params{}, h, w);
//   std::vector<float> p = g.crop_points_1024(0);   // n x 2, decode rows [i, i + B)
//   g.add_batch(0, i, B, iou_predictions /*B x 4*/, low_res_masks /*B x 4 x 256 x 256*/);
//   std::vector<sam::amg_record> out = g.finish();
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/amg.h"
#include "core/image.h"
#include "core/mask_postprocess.h"
#include "core/model_spec.h"
#include "core/resize_longest_side.h"
#include "core/rle.h"
#include "core/status.h"

namespace sam {

// The official constructor arguments, names and defaults (points_per_batch only
// advises the caller how many points to decode per call: add_batch takes any count).
struct amg_params {
    int points_per_side = 32;
    int points_per_batch = 64;
    double pred_iou_thresh = 0.88;
    double stability_score_thresh = 0.95;
    double stability_score_offset = 1.0;
    double box_nms_thresh = 0.7;
    int crop_n_layers = 0;
    double crop_nms_thresh = 0.7;
    double crop_overlap_ratio = 512.0 / 1500.0;
    int crop_n_points_downscale_factor = 1;
    int min_mask_region_area = 0;
    float mask_threshold = 0.0f;  // Sam.mask_threshold
    // The official score (default) is computed exactly, bit for bit, without upsampling
    // whole masks: only the blocks of the crop-size image where an upsampled logit can
    // fall on either side of a threshold are evaluated (~1 ms per mask at 2250x1500 vs
    // ~3-5 ms upsampling, one core). Deviation for more speed (not in the official
    // code): the score of the 256x256 low-res logits covering the crop (~0.03 ms);
    // scores move by ~3e-3 on the synthetic scene of tests/test_automatic_mask_generator.cpp.
    // Either way, only masks passing both thresholds are upsampled.
    bool stability_score_on_low_res = false;
};

// Checks ranges (positive sizes, thresholds in [0, 1] where the official asserts or
// the maths need it); the message names the field.
status amg_params_validate(const amg_params &p);

// One output mask, the official record: segmentation in the original image frame,
// bbox = box_xyxy_to_xywh(mask box) (SAM's convention, one pixel smaller than
// pycocotools' toBbox), point_coords the prompt in original pixels, crop_box XYWH.
struct amg_record {
    rle segmentation;
    uint64_t area = 0;
    box_xywh bbox;
    float predicted_iou = 0.f;
    double point_coords[2] = {0, 0};
    float stability_score = 0.f;
    box_xywh crop_box;
};

// Counters for progress and for tests of the filtering chain (official order:
// predicted IoU, stability score, crop edge; then NMS in finish()).
struct amg_stats {
    size_t masks_seen = 0;
    size_t passed_iou = 0;
    size_t passed_stability = 0;
    size_t passed_crop_edge = 0;  // survivors held before NMS
};

class amg_generator {
public:
    // orig_h x orig_w: the (EXIF-oriented) image. Params must pass amg_params_validate.
    // preprocess: how the encoder saw each crop (model_spec.h).
    amg_generator(const amg_params &params, int orig_h, int orig_w,
                  preprocess_kind preprocess = preprocess_kind::longest_side_1024);

    const amg_params &params() const { return params_; }
    const std::vector<box_xyxy> &crop_boxes() const { return crop_boxes_; }
    const std::vector<int> &crop_layers() const { return layer_idxs_; }
    // Shape of the resized crop inside its 1024 frame (SamPredictor.input_size; SAM 2.1:
    // always 1024 x 1024).
    image_shape crop_input_size(int crop_index) const;
    // The crop's grid points, n x 2 (x, y): in crop pixels (float64, as the official
    // code keeps them) and through apply_coords into the crop embedding's 1024 frame
    // (float32, what the decoder's point_coords takes).
    std::vector<double> crop_points(int crop_index) const;
    std::vector<float> crop_points_1024(int crop_index) const;

    // Decoder outputs for points [first_point, first_point + n) of crop_points(crop_index):
    // iou_predictions n x channels, low_res_masks n x channels x 256 x 256 (float32,
    // row-major). channels 4 (SAM's batch export: index 0 is the single-mask output,
    // 1..3 the multimask ones, which are used as multimask_output=True does) or 3
    // (multimask outputs only). Keeps only the surviving masks, as RLE.
    status add_batch(int crop_index, size_t first_point, size_t n, const float *iou_predictions,
                     const float *low_res_masks, int channels = 4);

    // NMS within each crop (box_nms_thresh, by predicted IoU), across crops
    // (crop_nms_thresh, preferring smaller crops), then small-region removal when
    // min_mask_region_area > 0. Records in the official output order.
    std::vector<amg_record> finish();

    const amg_stats &stats() const { return stats_; }

private:
    struct candidate {
        rle segmentation;       // original frame
        box_xyxy box;           // crop frame (used for NMS within the crop)
        float predicted_iou;
        float stability_score;
        double point[2];        // crop pixels
    };

    amg_params params_;
    int orig_h_, orig_w_;
    preprocess_kind preprocess_;
    std::vector<box_xyxy> crop_boxes_;
    std::vector<int> layer_idxs_;
    std::vector<std::vector<double>> point_grids_;
    std::vector<std::vector<candidate>> per_crop_;
    std::vector<float> logits_;  // one crop-size upsampled mask, only for non-finite logits
    amg_stats stats_;
};

}  // namespace sam
