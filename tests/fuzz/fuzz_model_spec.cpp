// libFuzzer target: manifest model-spec parsing (model_spec.h) on arbitrary bytes.
// Must never crash; whatever parses is self-consistent: one feature-file list per
// image, one file per spec feature, each inside the dataset, and the spec written
// back (model_spec_json) parses to the same spec.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/model_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    sam::manifest_model mm;
    if (!sam::manifest_model_parse(text, "fuzz.json", mm).ok()) return 0;
    if (mm.version != 1 && mm.version != 2) __builtin_trap();
    if (mm.version == 1 && mm.spec.family != sam::model_family::sam1) __builtin_trap();
    for (const sam::manifest_image_features &im : mm.images) {
        if (im.feature_files.size() != mm.spec.features.size()) __builtin_trap();
        for (const std::string &f : im.feature_files)
            if (f.empty() || f[0] == '/' || f.find("..") == 0) __builtin_trap();
    }
    const std::string again = "{\"version\": 2, \"model\": {\"spec\": " + sam::model_spec_json(mm.spec) + "}, \"images\": []}";
    sam::manifest_model back;
    if (!sam::manifest_model_parse(again, "again.json", back).ok()) __builtin_trap();
    if (back.spec.family != mm.spec.family || back.spec.features.size() != mm.spec.features.size() ||
        back.spec.decoder_inputs != mm.spec.decoder_inputs)
        __builtin_trap();
    return 0;
}
