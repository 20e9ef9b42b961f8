// sam_decode - runs the C++ decoder (core/sam_decoder.h) on folders of .npy cases laid out
// as the reference decoder_io.npz unpacks (the official ONNX input names), for parity
// checks (scripts/model/parity, tests/python) and decode timings (scripts/benchmark).
//   sam_decode --weights decoder.samw --cases DIR --out DIR [--embedding E.npy] [--threads N]
//              [--order auto|direct|reordered] [--repeat R]
// A case is every DIR/<case>.point_labels.npy [1,N]; beside it <case>.point_coords.npy [1,N,2]
// (1024 frame), optional <case>.mask_input.npy [1,1,256,256] with <case>.has_mask_input.npy [1]
// (used when 1), and <case>.image_embeddings.npy [1,256,64,64] f32/f16 (else --embedding).
// Writes OUT/<case>.iou_predictions.npy [1,K] and OUT/<case>.low_res_masks.npy [1,K,256,256];
// prints "<case> ok ms=<decode ms> cpu_ms=<process CPU ms>" (with --repeat R, the medians of
// R more runs; CPU time tells more than wall time on a loaded machine) or
// "<case> error <message>"; exit status 1 when any case failed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "core/embedding.h"
#include "core/npy.h"
#include "core/sam_decoder.h"
#include "core/thread_pool.h"
#include "tools/decoder_cases.h"

namespace {

namespace fs = std::filesystem;
using sam_tools::read_bytes;
using sam_tools::write_npy;

int usage() {
    std::fprintf(stderr,
                 "usage: sam_decode --weights decoder.samw --cases DIR --out DIR [--embedding E.npy]\n"
                 "                  [--threads N] [--order auto|direct|reordered] [--repeat R]\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    std::string weights, cases, out, embedding_path, order = "auto";
    int threads = 1, repeat = 0;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) return usage();
        std::string v = argv[++i];
        if (a == "--weights") weights = v;
        else if (a == "--cases") cases = v;
        else if (a == "--out") out = v;
        else if (a == "--embedding") embedding_path = v;
        else if (a == "--threads") threads = std::max(1, std::atoi(v.c_str()));
        else if (a == "--order") order = v;
        else if (a == "--repeat") repeat = std::max(0, std::atoi(v.c_str()));
        else return usage();
    }
    if (weights.empty() || cases.empty() || out.empty()) return usage();
    if (order != "auto" && order != "direct" && order != "reordered") return usage();

    std::vector<uint8_t> wbytes = read_bytes(weights);
    sam::sam_decoder dec;
    if (sam::status st = dec.load(wbytes.data(), wbytes.size(), weights); !st) {
        std::fprintf(stderr, "%s\n", st.message.c_str());
        return 1;
    }
    sam::thread_pool pool(threads);
    dec.set_parallel(&pool);
    dec.set_attention_order(order == "direct"      ? sam::attention_order::direct
                            : order == "reordered" ? sam::attention_order::reordered
                                                   : sam::attention_order::automatic);
    fs::create_directories(out);

    const std::vector<std::string> names = sam_tools::list_cases(cases);
    if (names.empty()) {
        std::fprintf(stderr, "%s: no <case>.point_labels.npy files\n", cases.c_str());
        return 1;
    }

    const int k = dec.num_outputs();
    std::string current_embedding;
    int failed = 0;
    for (const std::string &name : names) {
        const std::string base = cases + "/" + name + ".";
        auto run = [&]() -> sam::status {
            std::string epath = fs::exists(base + "image_embeddings.npy") ? base + "image_embeddings.npy" : embedding_path;
            if (epath.empty()) return sam::status::failure("no image_embeddings.npy and no --embedding");
            if (epath != current_embedding) {
                std::vector<uint8_t> eb = read_bytes(epath);
                std::vector<float> emb;
                if (sam::status st = sam::embedding_from_npy(eb.data(), eb.size(), epath, emb); !st) return st;
                if (sam::status st = dec.set_image(emb.data(), emb.size()); !st) return st;
                current_embedding = epath;
            }
            sam_tools::decoder_case dc;
            if (sam::status st = sam_tools::read_case(cases, name, dec.mask_count(), dc); !st) return st;
            sam::sam_prompt p{dc.coords.data(), dc.labels.data(), (int)dc.labels.size(),
                              dc.mask_input.empty() ? nullptr : dc.mask_input.data()};
            std::vector<float> iou(k), masks((size_t)k * dec.mask_count());
            std::vector<double> ms, cpu;
            for (int r = 0; r <= repeat; ++r) {
                auto t0 = std::chrono::steady_clock::now();
                const std::clock_t c0 = std::clock();
                if (sam::status st = dec.predict(p, iou.data(), masks.data()); !st) return st;
                cpu.push_back(1000.0 * (double)(std::clock() - c0) / CLOCKS_PER_SEC);
                ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            }
            if (repeat > 0) ms.erase(ms.begin()), cpu.erase(cpu.begin());  // the first run warms caches
            std::sort(ms.begin(), ms.end());
            std::sort(cpu.begin(), cpu.end());
            const int side = 4 * dec.config().image_embedding_h, side_w = 4 * dec.config().image_embedding_w;
            if (sam::status st = write_npy(out + "/" + name + ".iou_predictions.npy", {1, k}, iou.data()); !st) return st;
            if (sam::status st = write_npy(out + "/" + name + ".low_res_masks.npy", {1, k, side, side_w}, masks.data()); !st)
                return st;
            std::printf("%s ok ms=%.3f cpu_ms=%.3f\n", name.c_str(), ms[ms.size() / 2], cpu[cpu.size() / 2]);
            return sam::status::success();
        };
        if (sam::status st = run(); !st) {
            std::printf("%s error %s\n", name.c_str(), st.message.c_str());
            ++failed;
        }
        std::fflush(stdout);
    }
    return failed ? 1 : 0;
}
