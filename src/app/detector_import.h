// detector_import.h - detector boxes (a COCO JSON of boxes or detection results, or YOLO
// labels + a class list) for the shown image, run as SAM box prompts: batches of
// <= k_max_batch boxes per decoder message through the decoder seam, the single-mask
// output of each (SAM 1: token 0, as scripts/embed --boxes does; SAM 2.1: its dynamic
// choice, sam2::select_single_mask, so all four outputs come back) upsampled with the
// model's postprocessing (model_transforms.h) and stored as RLE.
// When all came back (or on cancel) the masks become machine-made annotations with the
// detector's category (created when missing) and score, as one undo step.
//   detector_import_coco(s, name, text, entry, spec, m);  each frame: detector_tick(s, sched);
//   a batch result: detector_take(s, r, m);  done: detector_finish(s, doc, m)
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "app/decoder_scheduler.h"
#include "app/document.h"
#include "app/manifest.h"
#include "app/messages.h"
#include "core/model_spec.h"

namespace sam {

struct detector_state {
    struct job {
        double bbox[4] = {0, 0, 0, 0};  // x, y, w, h original pixels
        std::string category;          // created when missing
        double score = 1.0;
    };
    struct made {
        annotation ann;  // category_id not yet set
        std::string category;
    };
    std::string file;  // the file being imported ("" = none running)
    model_spec model;  // the dataset's, when the import started
    int64_t image_id = 0;
    int image_w = 0, image_h = 0;
    std::vector<job> jobs;
    size_t sent = 0, finished = 0;  // boxes sent, boxes whose result came back
    int batches_sent = 0;
    struct batch_job {
        uint64_t id = 0;
        size_t first = 0, count = 0;
    };
    std::deque<batch_job> outstanding;
    std::vector<made> done;
    std::vector<std::string> empty;  // boxes that gave an empty mask
    std::vector<std::string> yolo_classes;  // the newest classes.txt / *.names opened
    std::string yolo_classes_file;
};

bool detector_active(const detector_state &s);
// A COCO file of boxes rather than of masks: the results list, or annotations with a bbox
// and no segmentation.
bool is_detector_json(const std::string &text);
// Start an import for the image `entry` (boxes of other images are left out).
void detector_import_coco(detector_state &s, const std::string &name, const std::string &text,
                          const manifest_image &entry, const model_spec &model, app_messages &m);
void detector_import_yolo(detector_state &s, const std::string &name, const std::string &text,
                          const manifest_image &entry, const model_spec &model, app_messages &m);
void detector_set_classes(detector_state &s, const std::string &name, const std::string &text, app_messages &m);
void detector_tick(detector_state &s, decoder_scheduler &sched);
// A batch result; false if it is not this import's. All came back: ready to finish.
bool detector_take(detector_state &s, const decoder_batch_result &r, app_messages &m);
bool detector_all_back(const detector_state &s);
// The masks made so far become annotations (one undo step); `cancelled` when stopped early.
void detector_finish(detector_state &s, document_state &d, decoder_scheduler &sched, app_messages &m);

}  // namespace sam
