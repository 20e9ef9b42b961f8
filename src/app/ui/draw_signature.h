// draw_signature.h - a 64-bit fingerprint of what a frame would draw: ImGui's draw
// lists (vertices, indices, commands: clip rectangles, textures, offsets, counts) mixed
// with the numbers that say what the canvas shows (texture revisions, the view). Two
// frames with the same signature look the same, so the second draws nothing at all.
//   uint64_t s = draw_signature(ImGui::GetDrawData(), extra, n);
#pragma once
#include <cstddef>
#include <cstdint>

#include "imgui.h"

namespace sam {

uint64_t draw_signature(const ImDrawData *dd, const uint64_t *extra, size_t n_extra);
uint64_t hash_bytes(uint64_t h, const void *data, size_t n);

}  // namespace sam
