// libFuzzer target: .npy parsing and embedding validation on arbitrary bytes.
// Must never crash, read out of bounds or allocate beyond the input's claims.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/embedding.h"
#include "core/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sam::npy_array a;
    if (sam::npy_parse(data, size, "fuzz.npy", a).ok()) {
        // Whatever parsed must be self-consistent and convertible.
        if (a.data.size() != a.count() * sam::npy_dtype_size(a.dtype)) __builtin_trap();
        if (a.count() <= (1u << 16)) {
            volatile double sum = 0;
            for (double v : a.to_f64()) sum = sum + v;
            (void)a.to_i64();
            std::vector<uint8_t> again = sam::npy_serialize(a);
            sam::npy_array b;
            if (!sam::npy_parse(again.data(), again.size(), "again.npy", b).ok() || b.shape != a.shape ||
                b.dtype != a.dtype || b.data != a.data)
                __builtin_trap();
        }
    }
    std::vector<float> emb;
    (void)sam::embedding_from_npy(data, size, "fuzz.npy", emb);
    return 0;
}
