// decoder_worker_main.cpp - the C exports of the C++ decoder's own WebAssembly module, the
// one web/sam_decoder_worker.js runs in a Worker (core/sam_decoder.h does the work). Two
// builds: single-threaded (sam_decoder_st) and -pthread (sam_decoder_mt, a thread_pool of
// N threads, used when the page is cross-origin isolated).
//   h = sam_decoder_create(threads); sam_decoder_load(h, bytes, n, name) == 0
//   sam_decoder_set_image_npy(h, npy, n, name) == 0; sam_decoder_predict(h, ...) == 0
// Every call returns 0 on success or a negative code; sam_decoder_error(h) is the message
// (names the file and the problem). Never throws (built with -fno-exceptions).
#include <emscripten/emscripten.h>

#include <memory>
#include <string>
#include <vector>

#include "core/embedding.h"
#include "core/sam_decoder.h"
#include "core/thread_pool.h"

namespace {

enum code { k_ok = 0, k_bad_handle = -1, k_failed = -2 };

struct worker_decoder {
    sam::sam_decoder decoder;
    std::unique_ptr<sam::thread_pool> pool;
    std::string error;
    std::vector<float> embedding;
};

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

EMSCRIPTEN_KEEPALIVE int sam_decoder_load(int h, const uint8_t *bytes, int size, const char *name) {
    worker_decoder *d = get(h);
    if (!d) return k_bad_handle;
    return result(d, d->decoder.load(bytes, size > 0 ? (size_t)size : 0, name ? name : "decoder weights"));
}

EMSCRIPTEN_KEEPALIVE int sam_decoder_num_outputs(int h) {
    worker_decoder *d = get(h);
    return d && d->decoder.loaded() ? d->decoder.num_outputs() : k_bad_handle;
}

EMSCRIPTEN_KEEPALIVE int sam_decoder_mask_count(int h) {
    worker_decoder *d = get(h);
    return d && d->decoder.loaded() ? (int)d->decoder.mask_count() : k_bad_handle;
}

EMSCRIPTEN_KEEPALIVE int sam_decoder_embedding_count(int h) {
    worker_decoder *d = get(h);
    return d && d->decoder.loaded() ? (int)d->decoder.embedding_count() : k_bad_handle;
}

// An .npy file as the embedder writes it ([1,256,64,64] f32 or f16), parsed by the core.
EMSCRIPTEN_KEEPALIVE int sam_decoder_set_image_npy(int h, const uint8_t *bytes, int size, const char *name) {
    worker_decoder *d = get(h);
    if (!d) return k_bad_handle;
    const std::string n = name ? name : "embedding";
    sam::status st = sam::embedding_from_npy(bytes, size > 0 ? (size_t)size : 0, n, d->embedding);
    if (st) st = d->decoder.set_image(d->embedding.data(), d->embedding.size());
    if (!st && st.message.rfind(n, 0) != 0) st = sam::status::failure(n + ": " + st.message);
    return result(d, st);
}

EMSCRIPTEN_KEEPALIVE int sam_decoder_set_image(int h, const float *data, int count) {
    worker_decoder *d = get(h);
    if (!d) return k_bad_handle;
    return result(d, d->decoder.set_image(data, count > 0 ? (size_t)count : 0));
}

// coords [n][2] (1024 frame), labels [n], mask [4h][4w] or 0 -> iou [K], masks [K][4h][4w].
EMSCRIPTEN_KEEPALIVE int sam_decoder_predict(int h, const float *coords, const float *labels, int n,
                                             const float *mask, float *iou, float *masks) {
    worker_decoder *d = get(h);
    if (!d) return k_bad_handle;
    return result(d, d->decoder.predict(sam::sam_prompt{coords, labels, n, mask}, iou, masks));
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
    return result(d, d->decoder.predict_batch(prompts.data(), prompts.size(), iou, masks));
}

}  // extern "C"
