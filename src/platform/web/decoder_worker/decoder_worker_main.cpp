// decoder_worker_main.cpp - the C exports of the C++ decoder's own WebAssembly module, the
// one web/sam_decoder_worker.js runs in a Worker (core/sam_decoder.h, or core/sam2_decoder.h
// for SAM 2.1 weights, does the work). Two builds: single-threaded (sam_decoder_st) and
// -pthread (sam_decoder_mt, a thread_pool of N threads, used when the page is cross-origin
// isolated).
//   h = sam_decoder_create(threads); sam_decoder_load(h, bytes, n, name) == 0
//   sam_decoder_family(h): 0 SAM, 1 SAM 2.1 (the weights file says which)
//   SAM:     sam_decoder_set_image_npy(h, npy, n, name) == 0
//   SAM 2.1: sam_decoder_set_feature_npy(h, i, npy, n, name) == 0 for i = 0 image_embed,
//            1 high_res_feats_0, 2 high_res_feats_1; then sam_decoder_set_features(h) == 0
//   sam_decoder_predict(h, ...) == 0 (SAM 2.1: the padding point is added by the decoder)
// Every call returns 0 on success or a negative code; sam_decoder_error(h) is the message
// (names the file and the problem). Never throws (built with -fno-exceptions).
#include <emscripten/emscripten.h>

#include <memory>
#include <string>
#include <vector>

#include "core/decoder_weights.h"
#include "core/embedding.h"
#include "core/sam2_decoder.h"
#include "core/sam_decoder.h"
#include "core/thread_pool.h"

namespace {

enum code { k_ok = 0, k_bad_handle = -1, k_failed = -2 };

struct worker_decoder {
    sam::sam_decoder decoder;    // SAM weights
    sam::sam2_decoder decoder2;  // SAM 2.1 weights
    int family = -1;             // of the loaded weights
    std::unique_ptr<sam::thread_pool> pool;
    std::string error;
    std::vector<float> embedding;
    std::vector<float> features[3];  // SAM 2.1: image_embed, high_res_feats_0, high_res_feats_1
    bool sam2() const { return family == sam::k_family_sam2_1; }
    bool loaded() const { return sam2() ? decoder2.loaded() : family == sam::k_family_sam && decoder.loaded(); }
};

const char *const k_feature_names[3] = {"image_embed", "high_res_feats_0", "high_res_feats_1"};

// One decoder per module instance (a worker holds one); the handle is 1.
std::unique_ptr<worker_decoder> g_decoder;

worker_decoder *get(int h) { return h == 1 ? g_decoder.get() : nullptr; }

int result(worker_decoder *d, const sam::status &st) {
    d->error = st.message;
    return st ? k_ok : k_failed;
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE int sam_decoder_create(int threads) {
    g_decoder = std::make_unique<worker_decoder>();
#ifdef __EMSCRIPTEN_PTHREADS__
    if (threads > 1) {
        g_decoder->pool = std::make_unique<sam::thread_pool>(threads);
        g_decoder->decoder.set_parallel(g_decoder->pool.get());
        g_decoder->decoder2.set_parallel(g_decoder->pool.get());
    }
#else
    (void)threads;
#endif
    return 1;
}

EMSCRIPTEN_KEEPALIVE void sam_decoder_destroy(int h) {
    if (get(h)) g_decoder.reset();
}

EMSCRIPTEN_KEEPALIVE int sam_decoder_threads(int h) {
    worker_decoder *d = get(h);
    return !d ? k_bad_handle : d->pool ? d->pool->threads() : 1;
}

EMSCRIPTEN_KEEPALIVE const char *sam_decoder_error(int h) {
    worker_decoder *d = get(h);
    return d ? d->error.c_str() : "no decoder (bad handle)";
}

// The weights file says its family (SAM or SAM 2.1); the matching decoder loads it.
EMSCRIPTEN_KEEPALIVE int sam_decoder_load(int h, const uint8_t *bytes, int size, const char *name) {
    worker_decoder *d = get(h);
    if (!d) return k_bad_handle;
    const std::string n = name ? name : "decoder weights";
    sam::decoder_weights w;
    sam::status st = sam::decoder_weights_parse(bytes, size > 0 ? (size_t)size : 0, n, w);
    if (st) {
        d->family = -1;
        d->decoder.reset_image();
        d->decoder2.reset_image();
        st = w.config.family == sam::k_family_sam2_1 ? d->decoder2.load(w) : d->decoder.load(w);
        if (st) d->family = w.config.family;
        else st = sam::status::failure(n + ": " + st.message);
    }
    return result(d, st);
}

EMSCRIPTEN_KEEPALIVE int sam_decoder_family(int h) {
    worker_decoder *d = get(h);
    return d && d->loaded() ? d->family : k_bad_handle;
}

EMSCRIPTEN_KEEPALIVE int sam_decoder_num_outputs(int h) {
    worker_decoder *d = get(h);
    if (!d || !d->loaded()) return k_bad_handle;
    return d->sam2() ? d->decoder2.num_outputs() : d->decoder.num_outputs();
}

EMSCRIPTEN_KEEPALIVE int sam_decoder_mask_count(int h) {
    worker_decoder *d = get(h);
    if (!d || !d->loaded()) return k_bad_handle;
    return (int)(d->sam2() ? d->decoder2.mask_count() : d->decoder.mask_count());
}

// SAM: image_embeddings; SAM 2.1: image_embed.
EMSCRIPTEN_KEEPALIVE int sam_decoder_embedding_count(int h) {
    worker_decoder *d = get(h);
    if (!d || !d->loaded()) return k_bad_handle;
    return (int)(d->sam2() ? d->decoder2.image_embed_count() : d->decoder.embedding_count());
}

// SAM 2.1: feature i (0 image_embed [1,256,64,64], 1 high_res_feats_0 [1,32,256,256],
// 2 high_res_feats_1 [1,64,128,128]) from an .npy file (f32 or f16), parsed by the core.
EMSCRIPTEN_KEEPALIVE int sam_decoder_set_feature_npy(int h, int index, const uint8_t *bytes, int size,
                                                     const char *name) {
    worker_decoder *d = get(h);
    if (!d) return k_bad_handle;
    const std::string n = name ? name : (index >= 0 && index < 3 ? k_feature_names[index] : "feature");
    if (!d->sam2()) return result(d, sam::status::failure(n + ": the loaded decoder is not SAM 2.1's"));
    if (index < 0 || index > 2) return result(d, sam::status::failure(n + ": feature index " + std::to_string(index)));
    d->decoder2.reset_image();
    const sam::sam_decoder_config &c = d->decoder2.config();
    const int64_t e = c.embed_dim, gh = c.image_embedding_h, gw = c.image_embedding_w;
    const std::vector<int64_t> shapes[3] = {{1, e, gh, gw}, {1, e / 8, 4 * gh, 4 * gw}, {1, e / 4, 2 * gh, 2 * gw}};
    sam::status st = sam::feature_from_npy(bytes, size > 0 ? (size_t)size : 0, n, shapes[index], d->features[index]);
    if (!st && st.message.rfind(n, 0) != 0) st = sam::status::failure(n + ": " + st.message);
    if (!st) d->features[index].clear();
    return result(d, st);
}

// SAM 2.1: the three features given, set_image.
EMSCRIPTEN_KEEPALIVE int sam_decoder_set_features(int h) {
    worker_decoder *d = get(h);
    if (!d) return k_bad_handle;
    if (!d->sam2()) return result(d, sam::status::failure("the loaded decoder is not SAM 2.1's"));
    const auto &f = d->features;
    return result(d, d->decoder2.set_image({f[0].data(), f[0].size(), f[1].data(), f[1].size(), f[2].data(),
                                            f[2].size()}));
}

// An .npy file as the embedder writes it ([1,256,64,64] f32 or f16), parsed by the core.
EMSCRIPTEN_KEEPALIVE int sam_decoder_set_image_npy(int h, const uint8_t *bytes, int size, const char *name) {
    worker_decoder *d = get(h);
    if (!d) return k_bad_handle;
    const std::string n = name ? name : "embedding";
    if (d->sam2())
        return result(d, sam::status::failure(n + ": the SAM 2.1 decoder takes image_embed, high_res_feats_0 and "
                                                  "high_res_feats_1 (one file each), not one embedding"));
    sam::status st = sam::embedding_from_npy(bytes, size > 0 ? (size_t)size : 0, n, d->embedding);
    if (st) st = d->decoder.set_image(d->embedding.data(), d->embedding.size());
    if (!st && st.message.rfind(n, 0) != 0) st = sam::status::failure(n + ": " + st.message);
    return result(d, st);
}

EMSCRIPTEN_KEEPALIVE int sam_decoder_set_image(int h, const float *data, int count) {
    worker_decoder *d = get(h);
    if (!d) return k_bad_handle;
    if (d->sam2()) return result(d, sam::status::failure("the SAM 2.1 decoder takes three features (set_feature_npy)"));
    return result(d, d->decoder.set_image(data, count > 0 ? (size_t)count : 0));
}

// coords [n][2] (1024 frame), labels [n], mask [4h][4w] or 0 -> iou [K], masks [K][4h][4w].
EMSCRIPTEN_KEEPALIVE int sam_decoder_predict(int h, const float *coords, const float *labels, int n,
                                             const float *mask, float *iou, float *masks) {
    worker_decoder *d = get(h);
    if (!d) return k_bad_handle;
    const sam::sam_prompt p{coords, labels, n, mask};
    return result(d, d->sam2() ? d->decoder2.predict(p, iou, masks) : d->decoder.predict(p, iou, masks));
}

// b prompts without mask input: counts [b] points each, coords and labels concatenated.
EMSCRIPTEN_KEEPALIVE int sam_decoder_predict_batch(int h, const float *coords, const float *labels, const int *counts,
                                                   int b, float *iou, float *masks) {
    worker_decoder *d = get(h);
    if (!d) return k_bad_handle;
    std::vector<sam::sam_prompt> prompts;
    size_t at = 0;
    for (int i = 0; i < b; ++i) {
        prompts.push_back(sam::sam_prompt{coords + 2 * at, labels + at, counts[i], nullptr});
        at += counts[i] > 0 ? (size_t)counts[i] : 0;
    }
    return result(d, d->sam2() ? d->decoder2.predict_batch(prompts.data(), prompts.size(), iou, masks)
                               : d->decoder.predict_batch(prompts.data(), prompts.size(), iou, masks));
}

}  // extern "C"
