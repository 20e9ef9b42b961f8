// sam_preprocess - the embedder's image preprocessing, from the C++ core, so the
// Node embedder and the browser use one implementation (decode + EXIF + resize +
// normalise [+ pad]). Writes the encoder input: raw little-endian float32,
// 1x3x1024x1024 CHW (12 MiB), no header.
//   --preprocess longest_side_1024 (default): SAM 1's ResizeLongestSide + pad
//   --preprocess square_1024: SAM 2's 1024x1024 stretch, ImageNet mean/std on [0, 1]
//   sam_preprocess [--max-pixels N] [--preprocess KIND] IMAGE OUT.f32
//       prints one JSON line {"width","height","input_h","input_w","orientation","type"}
//       (width/height of the EXIF-oriented image) and exits 0; or the error on
//       stderr and exit 1.
//   sam_preprocess [--max-pixels N] [--preprocess KIND] --stdin
//       long-lived: reads JSON lines {"image": PATH, "out": PATH} and answers each
//       with one JSON line, {"ok": true, ...as above} or {"ok": false, "error": MSG},
//       so a batch pays the process start once. Ends at EOF.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/exif.h"
#include "core/image_decode.h"
#include "core/model_spec.h"
#include "core/resize_longest_side.h"
#include "core/sam2_transforms.h"

namespace {

using nlohmann::json;

sam::status read_file(const std::string &path, std::vector<uint8_t> &out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return sam::status::failure(path + ": cannot open: " + std::strerror(errno));
    out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (f.bad()) return sam::status::failure(path + ": read error");
    return {};
}

// Runs the whole pipeline for one file; on success fills `info`.
sam::status preprocess_file(const std::string &image_path, const std::string &out_path,
                            const sam::decode_options &opt, sam::preprocess_kind kind, std::vector<float> &tensor,
                            json &info) {
    std::vector<uint8_t> bytes;
    sam::status st = read_file(image_path, bytes);
    if (!st) return st;
    std::string type;
    st = sam::sniff_image_type(bytes.data(), bytes.size(), type, image_path);
    if (!st) return st;
    sam::image_u8 img;
    st = sam::decode_image(bytes.data(), bytes.size(), image_path, img, opt);
    if (!st) return st;
    sam::image_shape input_size;
    if (kind == sam::preprocess_kind::square_1024) {
        st = sam::sam2::preprocess(img, tensor.data());
        input_size = {sam::sam2::image_size, sam::sam2::image_size};
    } else {
        st = sam::preprocess(img, tensor.data(), &input_size);
    }
    if (!st) return st;

    // The caller renames or reads this file as soon as we answer: a short write
    // must be an error here, not a truncated tensor later.
    FILE *f = std::fopen(out_path.c_str(), "wb");
    if (!f) return sam::status::failure(out_path + ": cannot write: " + std::strerror(errno));
    size_t written = std::fwrite(tensor.data(), sizeof(float), tensor.size(), f);
    bool closed = std::fclose(f) == 0;
    if (written != tensor.size() || !closed) return sam::status::failure(out_path + ": short write");

    int orientation = type == "jpeg" ? sam::exif_orientation(bytes.data(), bytes.size()) : 1;
    info = json{{"width", img.width},       {"height", img.height},
                {"input_h", input_size.height}, {"input_w", input_size.width},
                {"orientation", orientation}, {"type", type}};
    return {};
}

int usage() {
    std::fprintf(stderr,
                 "usage: sam_preprocess [--max-pixels N] [--preprocess longest_side_1024|square_1024] IMAGE OUT.f32\n"
                 "       sam_preprocess [--max-pixels N] [--preprocess KIND] --stdin   (JSON lines {\"image\",\"out\"} in and out)\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    sam::decode_options opt;
    sam::preprocess_kind kind = sam::preprocess_kind::longest_side_1024;
    bool stdin_mode = false;
    std::vector<std::string> args;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--max-pixels" && i + 1 < argc) {
            char *end = nullptr;
            unsigned long long v = std::strtoull(argv[++i], &end, 10);
            if (!end || *end || v == 0) return usage();
            opt.max_pixels = v;
        } else if (a == "--preprocess" && i + 1 < argc) {
            std::string k = argv[++i];
            if (k == sam::preprocess_kind_name(sam::preprocess_kind::square_1024)) {
                kind = sam::preprocess_kind::square_1024;
            } else if (k == sam::preprocess_kind_name(sam::preprocess_kind::longest_side_1024)) {
                kind = sam::preprocess_kind::longest_side_1024;
            } else {
                std::fprintf(stderr, "sam_preprocess: unknown --preprocess %s\n", k.c_str());
                return usage();
            }
        } else if (a == "--stdin") {
            stdin_mode = true;
        } else if (a.size() > 1 && a[0] == '-') {
            return usage();
        } else {
            args.push_back(a);
        }
    }
    std::vector<float> tensor((size_t)3 * sam::encoder_image_size * sam::encoder_image_size);

    if (!stdin_mode) {
        if (args.size() != 2) return usage();
        json info;
        sam::status st = preprocess_file(args[0], args[1], opt, kind, tensor, info);
        if (!st) {
            std::fprintf(stderr, "%s\n", st.message.c_str());
            return 1;
        }
        std::printf("%s\n", info.dump().c_str());
        return 0;
    }

    if (!args.empty()) return usage();
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line.empty()) continue;
        json req = json::parse(line, nullptr, false);
        json reply;
        if (req.is_discarded() || !req.is_object() || !req.contains("image") || !req["image"].is_string() ||
            !req.contains("out") || !req["out"].is_string()) {
            reply = json{{"ok", false}, {"error", "request must be a JSON object {\"image\": PATH, \"out\": PATH}"}};
        } else {
            json info;
            sam::status st = preprocess_file(req["image"].get<std::string>(), req["out"].get<std::string>(), opt, kind, tensor, info);
            if (st) {
                reply = info;
                reply["ok"] = true;
            } else {
                reply = json{{"ok", false}, {"error", st.message}};
            }
        }
        // dump with replace: file names are not guaranteed to be UTF-8.
        std::cout << reply.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
    }
    return 0;
}
