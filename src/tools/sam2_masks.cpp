// sam2_masks - SAM 2's mask postprocessing from the C++ core (sam2_transforms.h), for
// scripts and the oracle tests: one decoder result in, the official predictor's
// single-mask choice and the full-size logits / mask out.
//   sam2_masks --low-res L.npy --iou I.npy --size H W [--logits OUT.npy] [--mask OUT.npy]
//     L: low_res_masks float32 [1,K,256,256] (or [K,256,256]); I: iou_predictions [1,K] (or [K]).
//     Prints one JSON line {"single_mask": k, "stability": s} (k: the output index that
//     SAM2ImagePredictor.predict(multimask_output=False) returns; s: the stability
//     score of output 0). --logits writes the K full-size logit maps [K,H,W] float32
//     (SAM2Transforms.postprocess_masks), --mask the thresholded masks [K,H,W] uint8.
//     Exit 0; 1 with the error on stderr for a bad file; 2 for usage errors.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/npy.h"
#include "core/sam2_transforms.h"

namespace {

sam::status read_npy(const std::string &path, sam::npy_array &a) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return sam::status::failure(path + ": cannot open");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return sam::npy_parse(bytes.data(), bytes.size(), path, a);
}

sam::status write_file(const std::string &path, const std::vector<uint8_t> &bytes) {
    FILE *f = std::fopen(path.c_str(), "wb");
    if (!f) return sam::status::failure(path + ": cannot write");
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    ok = std::fclose(f) == 0 && ok;
    return ok ? sam::status::success() : sam::status::failure(path + ": short write");
}

int usage() {
    std::fprintf(stderr, "usage: sam2_masks --low-res L.npy --iou I.npy --size H W [--logits OUT.npy] [--mask OUT.npy]\n");
    return 2;
}

int fail(const sam::status &st) {
    std::fprintf(stderr, "sam2_masks: %s\n", st.message.c_str());
    return 1;
}

}  // namespace

int main(int argc, char **argv) {
    std::string low_path, iou_path, logits_path, mask_path;
    int h = 0, w = 0;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--low-res" && i + 1 < argc) low_path = argv[++i];
        else if (a == "--iou" && i + 1 < argc) iou_path = argv[++i];
        else if (a == "--logits" && i + 1 < argc) logits_path = argv[++i];
        else if (a == "--mask" && i + 1 < argc) mask_path = argv[++i];
        else if (a == "--size" && i + 2 < argc) {
            h = std::atoi(argv[++i]);
            w = std::atoi(argv[++i]);
        } else return usage();
    }
    if (low_path.empty() || iou_path.empty() || h <= 0 || w <= 0 || h > 65536 || w > 65536) return usage();

    sam::npy_array low, iou;
    sam::status st = read_npy(low_path, low);
    if (!st) return fail(st);
    st = read_npy(iou_path, iou);
    if (!st) return fail(st);
    const size_t plane = (size_t)sam::sam2::low_res_size * sam::sam2::low_res_size;
    const size_t k = iou.count();
    if (k < 1 || k > 16 || low.count() != k * plane || low.shape.size() < 3 ||
        low.shape[low.shape.size() - 1] != sam::sam2::low_res_size || low.shape[low.shape.size() - 2] != sam::sam2::low_res_size)
        return fail(sam::status::failure(low_path + ": expected [1,K,256,256] logits with K = the " +
                                         std::to_string(k) + " IoU predictions of " + iou_path));
    const std::vector<float> l = low.to_f32(), q = iou.to_f32();

    const int single = sam::sam2::select_single_mask(q.data(), l.data(), (int)k);
    const float stability = sam::sam2::stability_score(l.data(), plane, sam::sam2::dynamic_multimask_stability_delta);
    if (!logits_path.empty() || !mask_path.empty()) {
        const size_t n = (size_t)h * w;
        std::vector<float> logits(k * n);
        sam::npy_array m;
        m.dtype = sam::npy_dtype::u8;
        m.shape = {(int64_t)k, h, w};
        m.data.resize(k * n);
        for (size_t c = 0; c < k; c++) {
            sam::sam2::postprocess_masks(l.data() + c * plane, h, w, logits.data() + c * n);
            sam::binary_mask b = sam::sam2::postprocess_to_mask(l.data() + c * plane, h, w);
            std::copy(b.data.begin(), b.data.end(), m.data.begin() + c * n);
        }
        if (!logits_path.empty()) {
            st = write_file(logits_path, sam::npy_serialize(sam::npy_from_f32({(int64_t)k, h, w}, logits.data())));
            if (!st) return fail(st);
        }
        if (!mask_path.empty()) {
            st = write_file(mask_path, sam::npy_serialize(m));
            if (!st) return fail(st);
        }
    }
    std::printf("{\"single_mask\": %d, \"stability\": %.9g}\n", single, stability);
    return 0;
}
