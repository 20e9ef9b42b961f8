// libFuzzer target: EXIF orientation parsing on arbitrary bytes (hostile JPEG
// headers). Must never read outside the input and always return 1..8.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/exif.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // Copy to an exact-size heap buffer so ASan sees any over-read.
    std::vector<uint8_t> buf(data, data + size);
    int o = sam::exif_orientation(buf.data(), buf.size());
    if (o < 1 || o > 8) __builtin_trap();
    // Also run the orientation transform on a small image shaped by the input.
    if (size >= 2) {
        sam::image_u8 img;
        img.width = 1 + data[0] % 7;
        img.height = 1 + data[1] % 5;
        img.channels = 3;
        img.pixels.assign((size_t)img.width * img.height * 3, 0);
        for (size_t i = 0; i < img.pixels.size() && i < size; i++) img.pixels[i] = data[i];
        sam::image_u8 r = sam::apply_orientation(img, o);
        bool swap = o >= 5;
        if (r.width != (swap ? img.height : img.width) || r.pixels.size() != img.pixels.size()) __builtin_trap();
    }
    return 0;
}
