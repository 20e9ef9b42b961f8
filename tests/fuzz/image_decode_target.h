// image_decode_target.h - the body of the two image fuzz targets
// (fuzz_image_decode: native decoders; fuzz_image_decode_stb: the app's stb_image):
// sniff, probe and decode arbitrary bytes with a 4-megapixel limit (so a fuzzed
// header cannot make the fuzzer run out of memory); a decoded image must be sane.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/image_decode.h"

inline int fuzz_image_decode_with(const uint8_t *data, size_t size, sam::image_codec codec) {
    std::string type;
    (void)sam::sniff_image_type(data, size, type, "fuzz");
    int w = 0, h = 0;
    (void)sam::probe_image_size(data, size, "fuzz", w, h);

    sam::decode_options opt;
    opt.max_pixels = 4'000'000;
    opt.codec = codec;
    sam::image_u8 img;
    if (sam::decode_image(data, size, "fuzz", img, opt).ok()) {
        if (img.channels != 3 || img.width <= 0 || img.height <= 0 ||
            img.pixels.size() != (size_t)img.width * img.height * 3 ||
            (uint64_t)img.width * img.height > opt.max_pixels)
            __builtin_trap();
    }
    return 0;
}
