// libFuzzer target: the .samw decoder weights parser (core/decoder_weights.h) and, for what
// parses, loading and one predict of the decoder it describes (SAM's or, for a version-2
// file, SAM 2.1's). Input: one mode byte, then
// the file. Mode bit 0 rewrites the file's size field and CRC-32 first, so that mutations
// reach the structure behind the checksum. Must never crash, read out of bounds or
// allocate beyond what the file holds. Seeds (corpus/fuzz_decoder_weights/) are written by
// tests/fuzz/make_decoder_weights_seeds.py with the exporter's own writer.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/decoder_weights.h"
#include "core/sam2_decoder.h"
#include "core/sam_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    std::vector<uint8_t> file(data + 1, data + size);
    if ((data[0] & 1) && file.size() >= 24) {
        for (int i = 0; i < 8; ++i) file[8 + i] = (uint8_t)((uint64_t)file.size() >> (8 * i));
        const uint32_t crc = sam::crc32_ieee(file.data(), file.size() - 4);
        for (int i = 0; i < 4; ++i) file[file.size() - 4 + i] = (uint8_t)(crc >> (8 * i));
    }
    sam::decoder_weights w;
    if (!sam::decoder_weights_parse(file.data(), file.size(), "fuzz.samw", w).ok()) return 0;
    // What parsed re-serialises to a file that parses to the same weights.
    std::vector<uint8_t> again = sam::decoder_weights_serialize(w, sam::weights_dtype::f32);
    sam::decoder_weights w2;
    if (!sam::decoder_weights_parse(again.data(), again.size(), "again.samw", w2).ok() ||
        w2.tensors.size() != w.tensors.size())
        __builtin_trap();
    for (size_t i = 0; i < w.tensors.size(); ++i)
        if (w2.tensors[i].values != w.tensors[i].values) __builtin_trap();
    // Run the decoder when the image side is small (the tensors are bounded by the file,
    // the embedding grid is not).
    const sam::sam_decoder_config &c = w.config;
    if (c.image_embedding_h * c.image_embedding_w > 64 || c.embed_dim > 64) return 0;
    auto fill = [](std::vector<float> &v) {
        for (size_t i = 0; i < v.size(); ++i) v[i] = (float)((i * 37) % 11) * 0.25f - 1.f;
    };
    const float coords[6] = {3.f, 5.f, 40.f, 7.f, 0.f, 0.f}, labels[3] = {1.f, 0.f, -1.f};
    if (c.family == sam::k_family_sam2_1) {
        sam::sam2_decoder dec;
        if (!dec.load(w).ok()) __builtin_trap();  // parsed weights always load into their family's decoder
        std::vector<float> e(dec.image_embed_count()), f0(dec.high_res_feats_0_count()), f1(dec.high_res_feats_1_count());
        fill(e), fill(f0), fill(f1);
        if (!dec.set_image({e.data(), e.size(), f0.data(), f0.size(), f1.data(), f1.size()}).ok()) __builtin_trap();
        std::vector<float> iou(dec.num_outputs()), masks((size_t)dec.num_outputs() * dec.mask_count());
        std::vector<float> mask(dec.mask_count(), 0.5f);
        if (!dec.predict({coords, labels, 3, (data[0] & 2) ? mask.data() : nullptr}, iou.data(), masks.data()).ok())
            __builtin_trap();
        return 0;
    }
    sam::sam_decoder dec;
    if (!dec.load(w).ok()) __builtin_trap();  // parsed weights always load
    std::vector<float> emb(dec.embedding_count());
    fill(emb);
    if (!dec.set_image(emb.data(), emb.size()).ok()) __builtin_trap();
    std::vector<float> iou(dec.num_outputs()), masks((size_t)dec.num_outputs() * dec.mask_count());
    std::vector<float> mask(dec.mask_count(), 0.5f);
    if (!dec.predict({coords, labels, 3, (data[0] & 2) ? mask.data() : nullptr}, iou.data(), masks.data()).ok())
        __builtin_trap();
    return 0;
}
