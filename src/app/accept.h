// accept.h - a candidate becomes an annotation: the selected low-res logits (256x256,
// the model's 1024 frame / 4) are upsampled to the full image as the model family's
// official postprocessing does (SAM 1's postprocess_masks, SAM 2.1's one bilinear
// resize; model_transforms.h), thresholded at 0 and run-length coded (SAM 1 in one pass:
// postprocess_to_rle upsamples only the blocks the threshold crosses), and added
// to the document or merged into the selected annotation
// (rle_merge). Nothing else on this path: no polygons (made at export), no redraw of
// other annotations (the overlay repaints the changed one).
//   accept_outcome o = accept_candidate(doc, {logits, w, h, image_id, score, prompts, merge});
#pragma once
#include <cstdint>
#include <string>

#include "app/document.h"
#include "core/model_spec.h"

namespace sam {

enum class accept_merge { none, add, subtract };

struct accept_input {
    const float *low_res = nullptr;  // 256 x 256 logits
    int image_w = 0, image_h = 0;    // the oriented image, pixels
    preprocess_kind preprocess = preprocess_kind::longest_side_1024;  // the dataset's model spec
    int64_t image_id = 0;
    double score = 0;                // the candidate's predicted IoU
    annotation_prompts prompts;      // image pixels
    accept_merge merge = accept_merge::none;
};

struct accept_outcome {
    status st;                  // failure: an edit was refused (the document is unchanged)
    bool accepted = false;      // the document changed
    std::string notice;         // why nothing was accepted (empty mask, nothing selected to merge into)
    int64_t annotation_id = 0;  // the new or edited annotation (0 if it went away)
};

accept_outcome accept_candidate(document_state &d, const accept_input &in);

}  // namespace sam
