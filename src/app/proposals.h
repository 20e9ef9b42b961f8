// proposals.h - segment-everything proposals of the shown image: from
// DATASET/proposals/<embedding stem>.json (scripts/embed --everything) or made in the
// browser (everything.h). Drawn as outlines (proposal_outlines.h), picked with the
// proposals tool or the list, accepted one by one or all above a predicted IoU (one
// undo step) as machine-made annotations. A proposal counts as taken while an
// annotation of its image has exactly its mask (or is the one it was accepted as), so
// undo, redo, deleting and reloading keep the list right without bookkeeping.
//   proposals_load(p, dataset, messages);  proposals_update_taken(p, doc, image_id);
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "app/dataset.h"
#include "app/document.h"
#include "app/messages.h"
#include "core/mask_proposals.h"
#include "core/polygon.h"

namespace sam {

struct proposals_state {
    std::string url;              // tried for the shown image ("" for local files)
    std::string status = "none";  // none, loading, loaded, missing (404), error, generating, generated
    mask_proposals proposals;
    std::vector<polygon_set> outlines;  // per proposal: rings in image pixel corners
    std::vector<char> taken;            // per proposal: an annotation of this image has its mask
    uint64_t taken_revision = ~uint64_t(0);
    std::map<size_t, int64_t> accepted_as;  // proposal -> the annotation it was accepted as
    int selected = -1;
    bool show = true;
    float min_iou = 0.88f;  // "Accept all with predicted IoU >= X"
    uint64_t revision = 1;  // bumps when what the outlines show changes
};

void proposals_clear(proposals_state &p);
// Fetches the shown image's proposals file (a 404 means none). Replies for another
// image (d.load_generation moved on) are dropped.
void proposals_load(proposals_state &p, const dataset_state &d, app_messages &m);
// Proposals made in the browser replace the list.
void proposals_set(proposals_state &p, mask_proposals made, const std::string &status);
void proposals_update_taken(proposals_state &p, const annotation_document &doc, int64_t image_id);
bool proposal_available(const proposals_state &p, int index);
// The smallest untaken proposal under the pixel; clicking again inside the selected one
// moves to the next larger one there (nested objects: part, then whole).
void proposals_select_at(proposals_state &p, double x, double y);
void proposals_select(proposals_state &p, int index);
// Accepts proposal `index` as a machine-made annotation of `image_id` in the current
// category (score: its predicted IoU); returns how many were added (0 or 1).
int proposals_accept(proposals_state &p, document_state &d, int64_t image_id, int index, app_messages &m);
// Every untaken proposal with predicted IoU >= min_iou, best first, as one undo step.
int proposals_accept_above(proposals_state &p, document_state &d, int64_t image_id, double min_iou,
                           app_messages &m);

}  // namespace sam
