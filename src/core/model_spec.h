// model_spec.h - what a dataset's model needs, read from manifest.json: the family
// (SAM 1 or SAM 2.1), how images were preprocessed (which fixes the coordinate map
// and the mask postprocessing), the feature tensors stored per image (names, shapes;
// each image's files are float32 or float16 .npy, its `embedding_dtype`), the
// decoder's input/output names and the single-mask rule. Version 1 manifests are
// SAM 1 (a "model.spec" in them, if any, must say so); version 2 needs model.spec.
//
//   sam::manifest_model mm;
//   sam::status st = sam::manifest_model_parse(text, "manifest.json", mm);
//   mm.spec.family, mm.images[i].feature_files[k] (file of mm.spec.features[k])
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace sam {

// Tensor names of the two ONNX interfaces, as the official / common exporters spell them.
namespace tensor_names {
constexpr const char *image = "image";                        // encoder input (both families)
constexpr const char *image_embeddings = "image_embeddings";  // SAM 1 feature
constexpr const char *image_embed = "image_embed";            // SAM 2.1 features
constexpr const char *high_res_feats_0 = "high_res_feats_0";
constexpr const char *high_res_feats_1 = "high_res_feats_1";
constexpr const char *point_coords = "point_coords";
constexpr const char *point_labels = "point_labels";
constexpr const char *mask_input = "mask_input";
constexpr const char *has_mask_input = "has_mask_input";
constexpr const char *orig_im_size = "orig_im_size";  // SAM 1 only
constexpr const char *iou_predictions = "iou_predictions";
constexpr const char *low_res_masks = "low_res_masks";
}  // namespace tensor_names

enum class model_family { sam1, sam2_1 };
// longest_side_1024: ResizeLongestSide to 1024, pad bottom-right (resize_longest_side.h);
// square_1024: stretch to 1024 x 1024 (sam2_transforms.h).
enum class preprocess_kind { longest_side_1024, square_1024 };
// token_0: SamPredictor.predict(multimask_output=False) returns mask 0;
// dynamic_stability: SAM 2's fallback to the best multimask output (sam2::select_single_mask).
enum class single_mask_rule { token_0, dynamic_stability };

struct feature_tensor {
    std::string name;            // decoder input it feeds
    std::vector<int64_t> shape;  // e.g. {1, 256, 64, 64}
};

struct model_spec {
    model_family family = model_family::sam1;
    preprocess_kind preprocess = preprocess_kind::longest_side_1024;
    int image_size = 1024;
    std::vector<feature_tensor> features;  // in the order of decoder_inputs
    std::vector<std::string> decoder_inputs, decoder_outputs;
    single_mask_rule single_mask = single_mask_rule::token_0;
};

model_spec sam1_model_spec();
model_spec sam2_1_model_spec();

// Spellings in manifest.json: "sam" / "sam2.1", "longest_side_1024" / "square_1024",
// "token_0" / "dynamic_stability".
const char *model_family_name(model_family f);
const char *preprocess_kind_name(preprocess_kind p);
const char *single_mask_rule_name(single_mask_rule r);

struct manifest_image_features {
    std::vector<std::string> feature_files;  // one per spec.features, relative to the manifest
};

struct manifest_model {
    int version = 0;
    model_spec spec;
    std::vector<manifest_image_features> images;  // in manifest order
};

// Parses the manifest's version, model.spec and each image's feature files
// ("features": {name: file}; a single-feature model may give only "embedding"; where
// model.encoder names an encoder, an image may give neither: its feature files are ""
// and the app computes them in the browser).
// The spec must be one this code runs (a known family with its exact tensors);
// paths must be relative and stay inside the dataset folder. Errors name the
// field: "manifest.json: images[3].features.high_res_feats_1 missing".
status manifest_model_parse(const std::string &text, const std::string &name, manifest_model &out);

// "model": {..., "spec": <this>} as the embedder writes it (for tests and tools).
std::string model_spec_json(const model_spec &spec);

}  // namespace sam
