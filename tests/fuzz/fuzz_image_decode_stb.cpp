// libFuzzer target: decode_image with stb_image for every format (the WebAssembly
// app's decoder, with scripts/patches/stb_image-hostile-input.patch) + EXIF.
// The native decoders (libjpeg-turbo, libpng) have their own target, fuzz_image_decode.
#include "image_decode_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_image_decode_with(data, size, sam::image_codec::stb);
}
