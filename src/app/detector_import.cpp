#include "app/detector_import.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "app/dataset.h"
#include "app/model_transforms.h"
#include "core/box_prompts.h"
#include "core/rle.h"

namespace sam {

namespace {

std::string base_name(const std::string &path) {
    const size_t slash = path.find_last_of("/\\");
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

void start(detector_state &s, const std::string &name, const std::vector<detector_box> &boxes,
           const manifest_image &entry, const model_spec &model, app_messages &m) {
    if (detector_active(s)) return add_error(m, name + ": another detector file is still running");
    s.jobs.clear();
    for (const detector_box &b : boxes) {
        detector_state::job j;
        for (int k = 0; k < 4; ++k) j.bbox[k] = b.bbox[k];
        j.category = !b.category.empty() ? b.category : "category " + std::to_string(b.category_id);
        j.score = b.score;
        s.jobs.push_back(j);
    }
    if (s.jobs.empty()) return add_notice(m, name + ": no boxes for " + coco_file_name(entry));
    s.file = name;
    s.model = model;
    s.image_id = entry.id;
    s.image_w = entry.width;
    s.image_h = entry.height;
    s.sent = s.finished = 0;
    s.batches_sent = 0;
    s.outstanding.clear();
    s.done.clear();
    s.empty.clear();
}

std::string describe(const detector_state &s, const detector_state::job &j) {
    return s.file + ": box [" + std::to_string((int)j.bbox[0]) + ", " + std::to_string((int)j.bbox[1]) + ", " +
           std::to_string((int)j.bbox[2]) + ", " + std::to_string((int)j.bbox[3]) + "] " + j.category;
}

}  // namespace

bool detector_active(const detector_state &s) { return !s.file.empty(); }

bool is_detector_json(const std::string &text) {
    using json = nlohmann::json;
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) return false;
    if (j.is_array()) return true;
    if (!j.is_object() || !j.contains("annotations") || !j["annotations"].is_array()) return false;
    bool any_box = false;
    for (const json &a : j["annotations"]) {
        if (!a.is_object()) continue;
        if (a.contains("segmentation")) return false;
        any_box = any_box || a.contains("bbox");
    }
    return any_box;
}

void detector_import_coco(detector_state &s, const std::string &name, const std::string &text,
                          const manifest_image &entry, const model_spec &model, app_messages &m) {
    detector_boxes d;
    std::vector<std::string> problems;
    status st = parse_coco_boxes(text, name, d, problems);
    for (const std::string &p : problems) add_error(m, p);
    if (!st) return add_error(m, st.message);
    // this image's boxes: by file name (base names compared), else by the manifest's image id
    const std::string mine = base_name(entry.file);
    std::vector<detector_box> boxes;
    for (detector_box b : d.boxes) {
        const bool match = !b.image.empty() ? base_name(b.image) == mine : b.image_id == entry.id;
        if (!match) continue;
        if (!clip_box_to_image(b.bbox, entry.width, entry.height)) {
            add_error(m, name + ": a box of " + mine + " lies outside the image; skipped");
            continue;
        }
        boxes.push_back(b);
    }
    start(s, name, boxes, entry, model, m);
}

void detector_set_classes(detector_state &s, const std::string &name, const std::string &text, app_messages &m) {
    s.yolo_classes = parse_yolo_classes(text);
    s.yolo_classes_file = name;
    add_notice(m, name + ": " + std::to_string(s.yolo_classes.size()) + " classes for the YOLO label files opened next");
}

void detector_import_yolo(detector_state &s, const std::string &name, const std::string &text,
                          const manifest_image &entry, const model_spec &model, app_messages &m) {
    std::vector<detector_box> boxes;
    std::vector<std::string> problems;
    parse_yolo_boxes(text, name, coco_file_name(entry), entry.width, entry.height, s.yolo_classes, boxes, problems);
    for (const std::string &p : problems) add_error(m, p);
    for (detector_box &b : boxes)
        if (b.category.empty()) b.category = "class " + std::to_string(b.category_id - 1);
    start(s, name, boxes, entry, model, m);
}

void detector_tick(detector_state &s, decoder_scheduler &sched) {
    if (!detector_active(s) || sched.status() != decoder_status::ready) return;
    const image_shape original{s.image_h, s.image_w};
    while (s.outstanding.size() < 2 && s.sent < s.jobs.size()) {
        decoder_batch b;
        // SAM's box prompt takes the single-mask output, as scripts/embed --boxes; SAM 2.1's
        // choice among all four needs them all back
        b.multimask = s.model.single_mask == single_mask_rule::dynamic_stability;
        b.orig_h = s.image_h;
        b.orig_w = s.image_w;
        const size_t n = std::min(k_max_batch, s.jobs.size() - s.sent);
        for (size_t i = s.sent; i < s.sent + n; ++i) {
            const detector_state::job &j = s.jobs[i];
            // the server's convention (sam_amg box): XYWH -> XYXY with x1 = x + w
            double xyxy[4] = {j.bbox[0], j.bbox[1], j.bbox[0] + j.bbox[2], j.bbox[1] + j.bbox[3]};
            model_apply_boxes(s.model.preprocess, xyxy, 1, original);
            const float box[4] = {(float)xyxy[0], (float)xyxy[1], (float)xyxy[2], (float)xyxy[3]};
            decoder_prompt q;
            model_prompt(s.model.family, {}, {}, box, q.point_coords, q.point_labels);
            b.prompts.push_back(std::move(q));
        }
        s.outstanding.push_back(detector_state::batch_job{sched.request_batch(std::move(b)), s.sent, n});
        s.sent += n;
        s.batches_sent++;
    }
}

bool detector_take(detector_state &s, const decoder_batch_result &r, app_messages &m) {
    if (!detector_active(s) || s.outstanding.empty() || r.request_id != s.outstanding.front().id) return false;
    const detector_state::batch_job job = s.outstanding.front();
    if (r.done || !r.error.empty()) s.outstanding.pop_front();
    const size_t k = (size_t)std::max(0, r.mask_count);
    const bool sized = k > 0 && r.offset + r.count <= job.count && r.iou_predictions.size() == r.count * k &&
                       r.low_res_masks.size() == r.count * k * k_low_res_count;
    for (size_t i = 0; i < (r.error.empty() ? r.count : job.count - r.offset); ++i) {
        const size_t index = job.first + r.offset + i;
        if (index >= s.jobs.size()) break;
        const detector_state::job &j = s.jobs[index];
        s.finished++;
        if (!r.error.empty()) {
            add_error(m, describe(s, j) + ": decoder: " + r.error);
            continue;
        }
        if (!sized) {
            add_error(m, describe(s, j) + ": decoder: unexpected low_res_masks size");
            continue;
        }
        // the single-mask output of K = 4 (by the model's rule), or the only one (K = 1)
        const float *low = r.low_res_masks.data() + i * k * k_low_res_count;
        const int pick = model_single_mask(s.model.single_mask, r.iou_predictions.data() + i * k, low, (int)k);
        low += (size_t)pick * k_low_res_count;
        rle mask = model_postprocess_to_rle(s.model.preprocess, low, s.image_h, s.image_w);
        if (rle_area(mask) == 0) {
            s.empty.push_back(describe(s, j));
            continue;
        }
        detector_state::made d;
        d.ann.image_id = s.image_id;
        d.ann.mask = std::move(mask);
        d.ann.score = j.score;
        d.ann.source = annotation_source::machine;
        d.ann.prompts.has_box = true;
        d.ann.prompts.box_xyxy[0] = j.bbox[0];
        d.ann.prompts.box_xyxy[1] = j.bbox[1];
        d.ann.prompts.box_xyxy[2] = j.bbox[0] + j.bbox[2];
        d.ann.prompts.box_xyxy[3] = j.bbox[1] + j.bbox[3];
        d.category = j.category;
        s.done.push_back(std::move(d));
    }
    return true;
}

bool detector_all_back(const detector_state &s) {
    return detector_active(s) && s.sent >= s.jobs.size() && s.outstanding.empty();
}

void detector_finish(detector_state &s, document_state &d, decoder_scheduler &sched, app_messages &m) {
    if (!detector_active(s)) return;
    const std::string file = s.file;
    const size_t total = s.jobs.size(), made = s.done.size();
    const bool cancelled = s.finished < total;
    if (!s.outstanding.empty()) sched.cancel_batches();
    s.file.clear();
    s.outstanding.clear();
    if (!s.done.empty()) {
        document_begin_group(d, "detector boxes");
        status st;
        for (detector_state::made &x : s.done) {
            int64_t cat = 0;
            for (const doc_category &c : d.doc.categories())
                if (c.name == x.category) cat = c.id;
            if (!cat) {
                st = document_add_category(d, x.category, category_palette_colour(d.doc.categories().size()), &cat);
                if (!st) break;
            }
            x.ann.category_id = cat;
            st = document_add_annotation(d, std::move(x.ann));
            if (!st) break;
        }
        if (st) {
            document_end_group(d);
        } else {
            document_cancel_group(d);
            add_error(m, file + ": " + st.message);
        }
    }
    s.done.clear();
    for (const std::string &e : s.empty) add_error(m, e + ": empty mask");
    add_notice(m, file + ": " + std::to_string(made) + " masks from " + std::to_string(total) + " boxes" +
                      (cancelled ? " (cancelled)" : "") +
                      (s.empty.empty() ? "" : ", " + std::to_string(s.empty.size()) + " empty"));
    s.jobs.clear();
    s.sent = s.finished = 0;
    document_ensure_category(d);
}

}  // namespace sam
