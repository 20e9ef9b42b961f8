// local_files.h - files the person opens or drops, taken one batch at a time (one drop,
// one choice in the file dialog; a dropped folder's files or a .zip's entries belong to
// the batch they came in): what each file is, and what the batch makes of them.
// - Images pair with the .npy of the same file stem (or, with one of each left over, with
//   each other); an image without one is encoded in the browser when the model allows it
//   (browser_encoding.h), else it waits for its .npy.
// - YOLO label files (<stem>.txt): a file with any line of more than 6 numbers is
//   segmentation labels (class + polygon, imported as annotations with yolo_seg_import:
//   Ultralytics reads a label file the same way), else detector boxes (class cx cy w h
//   [score]: SAM box prompts, detector_import.h). Class names come from a data.yaml or a
//   classes.txt / *.names in the same batch, else the class list opened last.
//   local_kind k = local_file_kind(name, bytes);  ...  local_plan p = local_files_plan(s, can_encode);
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "app/manifest.h"
#include "core/yolo_seg.h"

namespace sam {

enum class local_kind { image, embedding, coco_json, labels_txt, class_names, data_yaml, zip, other };

// By name and magic bytes: a .zip or ZIP bytes, .npy, .json, data.yaml / *.yaml,
// classes.txt / *.names, *.txt, else an image (decoding says if it is not).
local_kind local_file_kind(const std::string &name, const std::vector<uint8_t> &bytes);
// Any line with more than 6 numbers: segmentation labels (see above).
bool is_yolo_segmentation_text(const std::string &text);
// Any line that is not blank or a # comment.
bool has_label_lines(const std::string &text);
// A label file's path relative to its labels folder ("ds/labels/val/cat.txt" -> "val/cat.txt").
std::string label_path_in_folder(const std::string &path);
// The file's name without folders and extension ("a/b/cat.jpg" -> "cat").
std::string file_stem(const std::string &path);

struct local_files_state {
    std::vector<std::string> images, embeddings;  // names waiting for a partner (or the batch end)
    std::vector<yolo_label_file> segmentation;    // this batch's segmentation label files
    std::vector<std::pair<std::string, std::string>> boxes;  // this batch's detector label files (name, text)
    std::string names_file;                       // this batch's data.yaml or classes.txt ("" = none)
    std::vector<std::string> names;
    // model.json beside the page: the model of local images when no dataset gave one
    enum class page_model_status { unknown, loading, none, loaded } page_model = page_model_status::unknown;
    manifest page_model_spec;
};

struct local_plan {
    std::vector<std::pair<std::string, std::string>> pairs;  // image name, .npy name
    std::vector<std::string> encode;                          // images to encode in the browser
};

// Takes from the waiting lists what can open now: pairs always, images without a .npy
// when `can_encode`; the rest keep waiting.
local_plan local_files_plan(local_files_state &s, bool can_encode);

}  // namespace sam
