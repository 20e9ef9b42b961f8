// encoder_worker_main.cpp - the C exports of the image-preparation module that
// web/encoder_worker.js runs in a Worker before ONNX Runtime Web runs the image
// encoder: decode (libjpeg-turbo / stb_image, as the embedder decodes) + EXIF +
// SAM's preprocessing (core/resize_longest_side.h), so the encoder input is the
// embedder's to the bit.
//   sam_prep_image(bytes, n, name) == 0  then  sam_prep_tensor() -> f32[1,3,1024,1024] CHW,
//   sam_prep_width()/height() (oriented image), sam_prep_input_h()/input_w() (resized);
//   on a negative return sam_prep_error() names the file and the problem.
// One image at a time (a worker holds one module); never throws (-fno-exceptions).
#include <emscripten/emscripten.h>

#include <string>
#include <vector>

#include "core/image_decode.h"
#include "core/resize_longest_side.h"

namespace {

struct prepared_image {
    std::vector<float> tensor = std::vector<float>((size_t)3 * sam::encoder_image_size * sam::encoder_image_size);
    int width = 0, height = 0;
    sam::image_shape input_size;
    std::string error;
};

prepared_image &state() {
    static prepared_image p;
    return p;
}

}  // namespace

extern "C" {

// 0 on success; -1 when the file cannot be decoded or is over max_pixels (0 = the default limit).
EMSCRIPTEN_KEEPALIVE int sam_prep_image(const uint8_t *bytes, int n, const char *name, double max_pixels) {
    prepared_image &p = state();
    sam::decode_options opt;
    if (max_pixels > 0) opt.max_pixels = (uint64_t)max_pixels;
    sam::image_u8 img;
    sam::status st = sam::decode_image(bytes, n > 0 ? (size_t)n : 0, name ? name : "image", img, opt);
    if (st) st = sam::preprocess(img, p.tensor.data(), &p.input_size);
    p.error = st.message;
    if (!st) return -1;
    p.width = img.width;
    p.height = img.height;
    return 0;
}

EMSCRIPTEN_KEEPALIVE const float *sam_prep_tensor() { return state().tensor.data(); }
EMSCRIPTEN_KEEPALIVE int sam_prep_width() { return state().width; }
EMSCRIPTEN_KEEPALIVE int sam_prep_height() { return state().height; }
EMSCRIPTEN_KEEPALIVE int sam_prep_input_h() { return state().input_size.height; }
EMSCRIPTEN_KEEPALIVE int sam_prep_input_w() { return state().input_size.width; }
EMSCRIPTEN_KEEPALIVE const char *sam_prep_error() { return state().error.c_str(); }

}  // extern "C"
