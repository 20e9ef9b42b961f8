#include "app/ui/draw_signature.h"

#include <cstring>

namespace sam {

uint64_t hash_bytes(uint64_t h, const void *data, size_t n) {
    // word-wise multiply-xor (FNV-style): about a byte per cycle, plenty for a few hundred KB a frame
    const unsigned char *p = static_cast<const unsigned char *>(data);
    const uint64_t prime = 0x100000001b3ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * prime;
        h ^= h >> 29;
    }
    for (; i < n; ++i) h = (h ^ p[i]) * prime;
    return h ^ n;
}

uint64_t draw_signature(const ImDrawData *dd, const uint64_t *extra, size_t n_extra) {
    uint64_t h = 0xcbf29ce484222325ull;
    h = hash_bytes(h, extra, n_extra * sizeof(uint64_t));
    if (!dd || !dd->Valid) return h;
    const float display[4] = {dd->DisplayPos.x, dd->DisplayPos.y, dd->DisplaySize.x, dd->DisplaySize.y};
    h = hash_bytes(h, display, sizeof display);
    for (int l = 0; l < dd->CmdListsCount; ++l) {
        const ImDrawList *list = dd->CmdLists[l];
        h = hash_bytes(h, list->VtxBuffer.Data, (size_t)list->VtxBuffer.Size * sizeof(ImDrawVert));
        h = hash_bytes(h, list->IdxBuffer.Data, (size_t)list->IdxBuffer.Size * sizeof(ImDrawIdx));
        for (const ImDrawCmd &c : list->CmdBuffer) {
            const uint64_t cmd[7] = {(uint64_t)(uintptr_t)c.TextureId, c.VtxOffset, c.IdxOffset, c.ElemCount,
                                     (uint64_t)(uintptr_t)c.UserCallback, 0, 0};
            h = hash_bytes(h, &c.ClipRect, sizeof c.ClipRect);
            h = hash_bytes(h, cmd, sizeof cmd);
        }
    }
    return h;
}

}  // namespace sam
