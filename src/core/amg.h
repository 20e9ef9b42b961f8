// amg.h - automatic mask generator helpers, as segment_anything/utils/amg.py.
// Point grids are (x, y) pairs in [0,1]^2 (multiply by the crop's w, h); crop
// boxes are integer XYXY in original-image pixels; masks are binary_mask in
// the frame named by each function. batched_nms follows torchvision.
//
//   std::vector<sam::box_xyxy> crops; std::vector<int> layers;
//   sam::generate_crop_boxes(h, w, 1, 512.0 / 1500, crops, layers);
#pragma once
#include <cstddef>
#include <vector>

#include "core/image.h"
#include "core/mask_postprocess.h"

namespace sam {

// n_per_side^2 points, row-major over y then x, as n x 2 doubles (x, y).
std::vector<double> build_point_grid(int n_per_side);

// One grid per layer 0..n_layers; layer i has int(n_per_side / scale^i) per side.
std::vector<std::vector<double>> build_all_layer_point_grids(int n_per_side, int n_layers, int scale_per_layer);

// The whole image (layer 0), then (2^i)^2 overlapping crops for layer i = 1..n_layers.
void generate_crop_boxes(int im_h, int im_w, int n_layers, double overlap_ratio, std::vector<box_xyxy> &crop_boxes,
                         std::vector<int> &layer_idxs);

enum class small_region_mode { holes, islands };

// Official remove_small_regions on `mask` in place, 8-connectivity like OpenCV's
// connectedComponentsWithStats: holes mode fills holes smaller than area_thresh,
// islands mode removes islands smaller than it (keeping the largest when all
// are small). Returns whether the official code reports a change.
bool remove_small_regions(binary_mask &mask, double area_thresh, small_region_mode mode);

// Official box_xyxy_to_xywh: w = x1 - x0 (SAM's inclusive boxes lose a pixel).
box_xywh box_xyxy_to_xywh(const box_xyxy &b);

// Crop frame -> original frame.
box_xyxy uncrop_box_xyxy(const box_xyxy &b, const box_xyxy &crop_box);
void uncrop_points(double *xy, size_t n, const box_xyxy &crop_box);
// Pads a crop-sized mask with zeros to orig_h x orig_w at the crop's offset.
binary_mask uncrop_mask(const binary_mask &m, const box_xyxy &crop_box, int orig_h, int orig_w);

// True when the (crop-frame) box lies within atol of a crop edge that is not
// also an edge of the original image (orig_box = {0, 0, w, h}).
bool is_box_near_crop_edge(const box_xyxy &box, const box_xyxy &crop_box, const box_xyxy &orig_box,
                           double atol = 20.0);

// torchvision.ops.batched_nms: boxes n x 4 XYXY float, one score and one
// category per box; boxes of different categories never suppress each other.
// Returns the kept indices by decreasing score (stable for ties); a box is
// dropped when its IoU with a kept, higher-scored box is > iou_threshold.
std::vector<int> batched_nms(const float *boxes, const float *scores, const int *idxs, size_t n, double iou_threshold);

}  // namespace sam
