// manifest.h - reads a dataset's manifest.json (version 1, the contract shared
// by the embedder, the server and the app; see DESIGN.md). Paths inside are
// relative to the manifest's URL; resolve them with url_resolve().
//   sam::manifest m; sam::status st = sam::manifest_parse(text, "manifest.json", m);
#pragma once
#include <string>
#include <vector>

#include "core/status.h"

namespace sam {

struct manifest_image {
    int id = 0;                   // stable positive integer (COCO image id)
    std::string file;             // e.g. "images/cat.jpg"
    int width = 0, height = 0;    // of the EXIF-oriented image
    std::string sha256;           // of the image file bytes
    std::string embedding;        // e.g. "embeddings/cat.npy", [1,256,64,64] f32 or f16
    std::string embedding_dtype;  // "float32" or "float16"
};

struct manifest {
    int version = 0;
    std::string model_id, encoder_sha256;
    std::string decoder;  // decoder ONNX file, relative to the manifest
    // The C++ decoder's weights file (scripts/model/export), relative to the manifest; ""
    // = none: the app then runs `decoder` in ONNX Runtime Web.
    std::string decoder_weights;
    std::vector<manifest_image> images;
};

// Refuses anything but version 1 and names the first bad field ("images[2].width").
status manifest_parse(const std::string &text, const std::string &name, manifest &out);

// Resolves `relative` against the folder of `base_url` ("a/b/manifest.json" + "images/x.jpg" ->
// "a/b/images/x.jpg"). Absolute URLs ("http://...", "/x") are returned unchanged.
std::string url_resolve(const std::string &base_url, const std::string &relative);

}  // namespace sam
