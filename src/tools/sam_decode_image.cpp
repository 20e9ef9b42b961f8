// sam_decode_image - the core's image decoding from the command line: the
// pixels the embedder feeds the encoder, before resizing (tests compare them
// with PIL's, tests/python/test_image_decode_pil.py).
//   sam_decode_image [--codec system|stb] [--no-exif] [--max-pixels N] IMAGE OUT.rgb
//       writes HxWx3 uint8 RGB, row-major, no header (EXIF orientation applied
//       unless --no-exif); prints {"width","height"} as one JSON line and exits 0,
//       or prints the error on stderr and exits 1.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/image_decode.h"

namespace {

int usage() {
    std::fprintf(stderr, "usage: sam_decode_image [--codec system|stb] [--no-exif] [--max-pixels N] IMAGE OUT.rgb\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    sam::decode_options opt;
    std::vector<std::string> args;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--codec" && i + 1 < argc) {
            std::string c = argv[++i];
            if (c == "system") opt.codec = sam::image_codec::system;
            else if (c == "stb") opt.codec = sam::image_codec::stb;
            else return usage();
        } else if (a == "--no-exif") {
            opt.apply_exif = false;
        } else if (a == "--max-pixels" && i + 1 < argc) {
            char *end = nullptr;
            opt.max_pixels = std::strtoull(argv[++i], &end, 10);
            if (!end || *end || opt.max_pixels == 0) return usage();
        } else if (a.size() > 1 && a[0] == '-') {
            return usage();
        } else {
            args.push_back(a);
        }
    }
    if (args.size() != 2) return usage();

    std::ifstream in(args[0], std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "%s: cannot open: %s\n", args[0].c_str(), std::strerror(errno));
        return 1;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    sam::image_u8 img;
    sam::status st = sam::decode_image(bytes.data(), bytes.size(), args[0], img, opt);
    if (!st) {
        std::fprintf(stderr, "%s\n", st.message.c_str());
        return 1;
    }
    FILE *f = std::fopen(args[1].c_str(), "wb");
    if (!f) {
        std::fprintf(stderr, "%s: cannot write: %s\n", args[1].c_str(), std::strerror(errno));
        return 1;
    }
    size_t written = std::fwrite(img.pixels.data(), 1, img.pixels.size(), f);
    if (std::fclose(f) != 0 || written != img.pixels.size()) {
        std::fprintf(stderr, "%s: short write\n", args[1].c_str());
        return 1;
    }
    std::printf("{\"width\": %d, \"height\": %d}\n", img.width, img.height);
    return 0;
}
