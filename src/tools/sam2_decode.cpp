// sam2_decode - runs the C++ SAM 2.1 decoder (core/sam2_decoder.h) on a folder of .npy
// prompt cases with decoder.onnx's input names, for parity checks (tests/python).
//   sam2_decode --weights decoder.samw --features PREFIX --cases DIR --out DIR [--threads N]
// PREFIX.image_embed.npy [1,256,64,64], PREFIX.high_res_feats_0.npy [1,32,256,256] and
// PREFIX.high_res_feats_1.npy [1,64,128,128] (f32/f16) are the image's features. A case is
// every DIR/<case>.point_labels.npy [1,N]; beside it <case>.point_coords.npy [1,N,2] (1024
// frame, box corners first; the padding point is added by the decoder), optional
// <case>.mask_input.npy [1,1,256,256] with <case>.has_mask_input.npy [1] (used when 1).
// Writes OUT/<case>.iou_predictions.npy [1,4] and OUT/<case>.low_res_masks.npy [1,4,256,256];
// prints "<case> ok" or "<case> error <message>"; exit status 1 when any case failed.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/embedding.h"
#include "core/npy.h"
#include "core/sam2_decoder.h"
#include "core/thread_pool.h"
#include "tools/decoder_cases.h"

namespace {

namespace fs = std::filesystem;

using sam_tools::read_bytes;
using sam_tools::write_npy;

sam::status read_feature(const std::string &path, const std::vector<int64_t> &shape, std::vector<float> &out) {
    std::vector<uint8_t> bytes = read_bytes(path);
    if (bytes.empty()) return sam::status::failure(path + ": cannot read");
    return sam::feature_from_npy(bytes.data(), bytes.size(), path, shape, out);
}

int usage() {
    std::fprintf(stderr,
                 "usage: sam2_decode --weights decoder.samw --features PREFIX --cases DIR --out DIR [--threads N]\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    std::string weights, features, cases, out;
    int threads = 1;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) return usage();
        std::string v = argv[++i];
        if (a == "--weights") weights = v;
        else if (a == "--features") features = v;
        else if (a == "--cases") cases = v;
        else if (a == "--out") out = v;
        else if (a == "--threads") threads = std::max(1, std::atoi(v.c_str()));
        else return usage();
    }
    if (weights.empty() || features.empty() || cases.empty() || out.empty()) return usage();

    std::vector<uint8_t> wbytes = read_bytes(weights);
    sam::sam2_decoder dec;
    if (sam::status st = dec.load(wbytes.data(), wbytes.size(), weights); !st) {
        std::fprintf(stderr, "%s\n", st.message.c_str());
        return 1;
    }
    sam::thread_pool pool(threads);
    dec.set_parallel(&pool);
    const sam::sam_decoder_config &c = dec.config();
    const int64_t d = c.embed_dim, h = c.image_embedding_h, w = c.image_embedding_w;
    std::vector<float> embed, f0, f1;
    sam::status st = read_feature(features + ".image_embed.npy", {1, d, h, w}, embed);
    if (st) st = read_feature(features + ".high_res_feats_0.npy", {1, d / 8, 4 * h, 4 * w}, f0);
    if (st) st = read_feature(features + ".high_res_feats_1.npy", {1, d / 4, 2 * h, 2 * w}, f1);
    if (st) st = dec.set_image({embed.data(), embed.size(), f0.data(), f0.size(), f1.data(), f1.size()});
    if (!st) {
        std::fprintf(stderr, "%s\n", st.message.c_str());
        return 1;
    }
    fs::create_directories(out);

    const std::vector<std::string> names = sam_tools::list_cases(cases);
    if (names.empty()) {
        std::fprintf(stderr, "%s: no <case>.point_labels.npy files\n", cases.c_str());
        return 1;
    }
    const int k = dec.num_outputs();
    int failed = 0;
    for (const std::string &name : names) {
        auto run = [&]() -> sam::status {
            sam_tools::decoder_case dc;
            if (sam::status s = sam_tools::read_case(cases, name, dec.mask_count(), dc); !s) return s;
            sam::sam_prompt p{dc.coords.data(), dc.labels.data(), (int)dc.labels.size(),
                              dc.mask_input.empty() ? nullptr : dc.mask_input.data()};
            std::vector<float> iou(k), masks((size_t)k * dec.mask_count());
            if (sam::status s = dec.predict(p, iou.data(), masks.data()); !s) return s;
            if (sam::status s = write_npy(out + "/" + name + ".iou_predictions.npy", {1, k}, iou.data()); !s) return s;
            return write_npy(out + "/" + name + ".low_res_masks.npy", {1, k, 4 * h, 4 * w}, masks.data());
        };
        if (sam::status s = run(); !s) {
            std::printf("%s error %s\n", name.c_str(), s.message.c_str());
            ++failed;
        } else {
            std::printf("%s ok\n", name.c_str());
        }
        std::fflush(stdout);
    }
    return failed ? 1 : 0;
}
