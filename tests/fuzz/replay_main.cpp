// replay_main.cpp - a main() for any libFuzzer target that runs the same
// inputs on every machine: each file given (folders are walked, files sorted
// by path), then `--mutations N` deterministic mutations of each (a fixed-seed
// PRNG keyed by the file's index and the mutation number; no coverage
// feedback, no clock, no directory order). scripts/test links every
// tests/fuzz/fuzz_*.cpp with it (as <fuzzer>_replay, sanitizers on); random
// exploration is scripts/fuzz's job, with libFuzzer itself.
//   build/fuzz/fuzz_npy_replay --mutations 2000 tests/fuzz/corpus/fuzz_npy tests/fuzz/regressions/fuzz_npy
//   build/fuzz/fuzz_npy_replay --mutations 2000 --only 3:517 --write crash.bin DIR...   (one input, saved)
// When a sanitizer stops the run, the input that did it is written to
// --artifact (default ./replay-crash) and its file index:mutation is printed.
#include <sanitizer/common_interface_defs.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

struct rng {
    uint64_t s;
    uint64_t next() {  // splitmix64
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    size_t below(size_t n) { return n ? (size_t)(next() % n) : 0; }
};

constexpr size_t kMaxLen = 1 << 20;

// One to four of libFuzzer's kinds of change: bits, bytes, "interesting" integers,
// inserts, erases, repeated chunks, truncation, splicing with another input.
void mutate(std::vector<uint8_t> &b, rng &r, const std::vector<std::vector<uint8_t>> &all) {
    static const uint32_t interesting[] = {0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
                                           0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu, 16, 32, 64, 255, 256, 1024, 4096};
    const int steps = 1 + (int)r.below(4);
    for (int s = 0; s < steps; s++) {
        if (b.empty()) b.push_back((uint8_t)r.next());
        const size_t at = r.below(b.size());
        switch (r.below(8)) {
        case 0: b[at] ^= (uint8_t)(1u << r.below(8)); break;
        case 1: b[at] = (uint8_t)r.next(); break;
        case 2: {  // an interesting value, 1/2/4 bytes, either byte order
            uint32_t v = interesting[r.below(sizeof interesting / sizeof interesting[0])];
            size_t w = (size_t)1 << r.below(3);
            bool big = r.below(2);
            for (size_t i = 0; i < w && at + i < b.size(); i++)
                b[at + i] = (uint8_t)(v >> (8 * (big ? w - 1 - i : i)));
            break;
        }
        case 3: {
            size_t n = 1 + r.below(16);
            std::vector<uint8_t> ins(n);
            for (uint8_t &c : ins) c = (uint8_t)r.next();
            b.insert(b.begin() + (ptrdiff_t)at, ins.begin(), ins.end());
            break;
        }
        case 4: b.erase(b.begin() + (ptrdiff_t)at, b.begin() + (ptrdiff_t)std::min(b.size(), at + 1 + r.below(64))); break;
        case 5: {  // repeat a chunk
            size_t n = std::min(b.size() - at, 1 + r.below(64));
            std::vector<uint8_t> chunk(b.begin() + (ptrdiff_t)at, b.begin() + (ptrdiff_t)(at + n));
            b.insert(b.begin() + (ptrdiff_t)r.below(b.size() + 1), chunk.begin(), chunk.end());
            break;
        }
        case 6: b.resize(r.below(b.size() + 1)); break;
        default: {  // splice: our head, another input's tail
            const std::vector<uint8_t> &o = all[r.below(all.size())];
            if (o.empty()) break;
            size_t from = r.below(o.size());
            b.resize(at);
            b.insert(b.end(), o.begin() + (ptrdiff_t)from, o.end());
        }
        }
        if (b.size() > kMaxLen) b.resize(kMaxLen);
    }
}

const std::vector<uint8_t> *g_current = nullptr;
std::string g_artifact = "replay-crash";
std::string g_label;

void save_current() {
    if (!g_current) return;
    std::ofstream f(g_artifact, std::ios::binary);
    f.write((const char *)g_current->data(), (std::streamsize)g_current->size());
    std::fprintf(stderr, "\nreplay: the input that stopped the run (%s) is saved as %s\n", g_label.c_str(),
                 g_artifact.c_str());
}

void run(const std::vector<uint8_t> &b, const std::string &label) {
    g_current = &b;
    g_label = label;
    LLVMFuzzerTestOneInput(b.empty() ? nullptr : b.data(), b.size());
    g_current = nullptr;
}

}  // namespace

int main(int argc, char **argv) {
    long mutations = 0;
    uint64_t seed = 1;
    long only_file = -1, only_mutation = -1;
    std::string write_to;
    std::vector<std::string> files;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--mutations") mutations = std::atol(value().c_str());
        else if (a == "--seed") seed = std::strtoull(value().c_str(), nullptr, 10);
        else if (a == "--artifact") g_artifact = value();
        else if (a == "--write") write_to = value();
        else if (a == "--only") {
            std::string v = value();
            only_file = std::atol(v.c_str());
            only_mutation = v.find(':') == std::string::npos ? -1 : std::atol(v.c_str() + v.find(':') + 1);
        } else if (std::filesystem::is_directory(a)) {
            for (const auto &e : std::filesystem::recursive_directory_iterator(a))
                if (e.is_regular_file()) files.push_back(e.path().string());
        } else if (std::filesystem::is_regular_file(a)) {
            files.push_back(a);
        } else {
            std::fprintf(stderr, "replay: %s is neither a file nor a folder\n", a.c_str());
            return 2;
        }
    }
    std::sort(files.begin(), files.end());
    std::vector<std::vector<uint8_t>> inputs;
    for (const std::string &f : files) {
        std::ifstream in(f, std::ios::binary);
        inputs.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    __sanitizer_set_death_callback(save_current);

    long ran = 0;
    for (size_t i = 0; i < inputs.size(); i++) {
        if (only_file >= 0 && (long)i != only_file) continue;
        if (only_mutation < 0) {
            run(inputs[i], files[i]);
            ran++;
        }
        for (long m = 0; m < mutations; m++) {
            if (only_mutation >= 0 && m != only_mutation) continue;
            rng r{seed * 0x100000001B3ull ^ ((uint64_t)i << 32) ^ (uint64_t)m};
            std::vector<uint8_t> b = inputs[i];
            mutate(b, r, inputs);
            if (!write_to.empty()) {
                std::ofstream f(write_to, std::ios::binary);
                f.write((const char *)b.data(), (std::streamsize)b.size());
            }
            run(b, std::to_string(i) + ":" + std::to_string(m) + " (" + files[i] + ", mutation " + std::to_string(m) + ")");
            ran++;
        }
    }
    std::printf("replay: %zu files, %ld mutations each, seed %llu: %ld inputs ran clean\n", inputs.size(), mutations,
                (unsigned long long)seed, ran);
    return 0;
}
