// upsample_bilinear.cpp - see upsample_bilinear.h.
#include "core/upsample_bilinear.h"

#include <algorithm>

namespace sam {

bilinear_axis make_bilinear_axis(int in_size, int out_size) {
    bilinear_axis a;
    a.i0.resize(out_size);
    a.i1.resize(out_size);
    a.w0.resize(out_size);
    a.w1.resize(out_size);
    const float scale = (float)in_size / (float)out_size;
    for (int i = 0; i < out_size; i++) {
        if (in_size == out_size) {  // torch copies instead of interpolating
            a.i0[i] = a.i1[i] = i;
            a.w0[i] = 1.f;
            a.w1[i] = 0.f;
            continue;
        }
        // acc_type<float> on the CPU is double: the source index and lambda are
        // formed in double from the float ratio, then lambda is stored as float.
        // Doing this in float instead moves logits by up to ~2e-4.
        double src = (double)scale * (i + 0.5) - 0.5;
        if (src < 0.0) src = 0.0;
        int j = (int)src;
        float l1 = (float)std::min(std::max(src - j, 0.0), 1.0);
        a.i0[i] = j;
        a.i1[i] = j + (j < in_size - 1 ? 1 : 0);
        a.w1[i] = l1;
        a.w0[i] = 1.f - l1;
    }
    return a;
}

}  // namespace sam
