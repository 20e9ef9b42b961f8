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
    std::string embedding;        // e.g. "embeddings/cat.npy", [1,256,64,64] f32 or f16; "" = none
                                  // (computed in the browser: the model names an encoder)
    std::string embedding_dtype;  // "float32" or "float16"
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
    std::vector<manifest_image> images;
};

// Refuses anything but version 1 and names the first bad field ("images[2].width"). An
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
