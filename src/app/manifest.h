// manifest.h - reads a dataset's manifest.json (the contract shared by the embedder,
// the server and the app; see DESIGN.md): version 1 (SAM 1) and version 2 (a model
// spec, e.g. SAM 2.1 with three feature files per image), the spec and each image's
// feature files read by the core's manifest_model_parse (core/model_spec.h). Paths
// inside are relative to the manifest's URL; resolve them with url_resolve().
//   sam::manifest m; sam::status st = sam::manifest_parse(text, "manifest.json", m);
#pragma once
#include <string>
#include <vector>

#include "core/model_spec.h"
#include "core/status.h"

namespace sam {

struct manifest_image {
    int id = 0;                   // stable positive integer (COCO image id)
    std::string file;             // e.g. "images/cat.jpg"
    int width = 0, height = 0;    // of the EXIF-oriented image
    std::string sha256;           // of the image file bytes
    std::string embedding;        // e.g. "embeddings/cat.npy", [1,256,64,64] f32 or f16; "" = none
                                  // (computed in the browser: the model names an encoder)
    std::string embedding_dtype;  // "float32" or "float16"
    // One file per spec.features, in its order (SAM 1: {embedding}; SAM 2.1: image_embed,
    // high_res_feats_0, high_res_feats_1), all of embedding_dtype.
    std::vector<std::string> features;
};

struct manifest {
    int version = 0;
    std::string model_id, encoder_sha256;
    std::string decoder;  // decoder ONNX file, relative to the manifest
    // The C++ decoder's weights file (scripts/model/export), relative to the manifest; ""
    // = none: the app then runs `decoder` in ONNX Runtime Web.
    std::string decoder_weights;
    // In-browser encoding (browser_encoding.h): the image encoder ONNX ("model.encoder",
    // relative to the manifest; "" = none) and whether it is small enough to run in the
    // browser without being asked ("model.browser_encoder"; scripts/embed decides by size).
    std::string encoder;
    bool browser_encoder = false;
    model_spec spec = sam1_model_spec();  // the model family, its transforms and feature tensors
    std::vector<manifest_image> images;
};

// Refuses versions other than 1 and 2 and specs the core does not run, and names the
// first bad field ("images[2].width", "images[0].features.high_res_feats_1 missing"). An
// image may leave out "embedding" only when the model names an encoder.
status manifest_parse(const std::string &text, const std::string &name, manifest &out);

// model.json beside the page (the model of images opened as local files, when no dataset
// names one): {"id", "decoder"?, "decoder_weights"?, "encoder"?, "browser_encoder"?}, paths
// relative to the file. Fills those fields of `out` (version 1, no images).
status model_json_parse(const std::string &text, const std::string &name, manifest &out);

// Resolves `relative` against the folder of `base_url` ("a/b/manifest.json" + "images/x.jpg" ->
// "a/b/images/x.jpg"). Absolute URLs ("http://...", "/x") are returned unchanged.
std::string url_resolve(const std::string &base_url, const std::string &relative);

}  // namespace sam
