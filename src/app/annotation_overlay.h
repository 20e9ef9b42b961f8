// annotation_overlay.h - paints an image's accepted annotations into the RGBA8
// texture the canvas draws over the photo (shaders/annotations_frag.glsl).
// The texture has the displayed image texture's size (tex_w x tex_h, smaller
// than the image when it was downscaled for display); each pixel takes the
// category colour of the last annotation covering it, alpha 255 for the
// selected annotation, 128 for the others, 0 where none. Painted straight
// from the RLE runs (no full-size mask is decoded), only after edits.
#pragma once
#include <cstdint>
#include <vector>

#include "core/annotation_document.h"

namespace sam {

void paint_annotation_overlay(const annotation_document &doc, int64_t image_id, int64_t selected_id, int tex_w,
                              int tex_h, std::vector<uint8_t> &rgba);

}  // namespace sam
