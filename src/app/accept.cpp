#include "app/accept.h"

#include <utility>

#include "app/model_transforms.h"
#include "core/rle.h"

namespace sam {

accept_outcome accept_candidate(document_state &d, const accept_input &in) {
    accept_outcome out;
    if (!in.low_res || in.image_w <= 0 || in.image_h <= 0) {
        out.notice = "Nothing to accept";
        return out;
    }
    // Full resolution only here: the official postprocessing, thresholded at 0.
    rle mask = model_postprocess_to_rle(in.preprocess, in.low_res, in.image_h, in.image_w);
    if (rle_area(mask) == 0) {
        out.notice = "The selected mask is empty: nothing accepted";
        return out;
    }
    if (in.merge == accept_merge::none) {
        annotation a;
        a.image_id = in.image_id;
        a.category_id = d.current_category;
        a.mask = std::move(mask);
        a.score = in.score;
        a.prompts = in.prompts;
        out.st = document_add_annotation(d, std::move(a), &out.annotation_id);
        out.accepted = (bool)out.st;
        if (out.accepted) d.selected_annotation = out.annotation_id;
        return out;
    }
    const annotation *a = d.doc.find_annotation(d.selected_annotation);
    if (!a || a->image_id != in.image_id) {
        out.notice = "Select an annotation of this image to merge into";
        return out;
    }
    rle merged = rle_merge(a->mask, mask, in.merge == accept_merge::add ? rle_merge_op::union_ : rle_merge_op::subtract);
    const int64_t id = a->id;
    if (rle_area(merged) == 0) {
        out.st = document_delete_annotation(d, id);  // subtracting everything leaves nothing
        if (out.st) d.selected_annotation = 0;
    } else {
        // a person edited it: a machine-made mask becomes theirs (one undo step)
        document_begin_group(d, "edit mask");
        out.st = document_replace_mask(d, id, std::move(merged));
        if (out.st) out.st = document_confirm(d, id);
        if (out.st) document_end_group(d);
        else document_cancel_group(d);
        out.annotation_id = id;
    }
    out.accepted = (bool)out.st;
    return out;
}

}  // namespace sam
