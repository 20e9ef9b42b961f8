// upsample_bilinear.h - one axis of torch's upsample_bilinear2d (align_corners=False,
// no antialias), as index/weight tables: output i = in[i0[i]] * w0[i] + in[i1[i]] * w1[i].
// Used by SAM 1's and SAM 2's mask postprocessing (mask_postprocess.h, sam2_transforms.h),
// which apply it along x, then y, in float32 as torch's CPU kernel does.
//   sam::bilinear_axis ax = sam::make_bilinear_axis(256, 1024);
#pragma once
#include <vector>

namespace sam {

struct bilinear_axis {
    std::vector<int> i0, i1;
    std::vector<float> w0, w1;
};

// compute_source_index_and_lambda (UpSample.h, torch 1.13): source index and
// lambda formed in double from the float ratio in/out, lambda stored as float;
// equal sizes copy (w0 = 1).
bilinear_axis make_bilinear_axis(int in_size, int out_size);

}  // namespace sam
