// libFuzzer target: decode_image with the native decoders (libjpeg-turbo for
// JPEG, libpng for PNG, stb_image for BMP/GIF) + EXIF on arbitrary bytes.
// The WebAssembly app's stb_image path has its own target, fuzz_image_decode_stb.
#include "image_decode_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return fuzz_image_decode_with(data, size, sam::image_codec::system);
}
