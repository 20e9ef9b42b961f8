// canvas_renderer.h - draws the canvas on WebGL2: the photo, the accepted annotations'
// label map, and the shown candidate mask, with the shaders in shaders/ (embedded at
// build time, "#version 300 es" prepended here; compile and link logs printed on
// failure). An _init / _render / _shutdown trio over one state struct that owns every
// GL object, like imgui_impl_opengl3; the app hands it a canvas_scene and the renderer
// uploads only what changed since the last call (by revision numbers): the photo once
// per image, the dirty rectangles of the label map and of the selected annotation's
// mask (annotation_overlay.h), and the candidate mask rendered ONCE per
// decoder result (or candidate or colour change) from the 256x256 logits into a mask
// texture, which each frame then only samples.
//   canvas_renderer r; canvas_renderer_init(r);  ...  canvas_renderer_render(r, scene);
#pragma once
#include <GLES3/gl3.h>

#include <cstdint>

#include "app/annotation_overlay.h"
#include "app/view_transform.h"
#include "core/image.h"

namespace sam {

struct canvas_scene {
    const image_u8 *image = nullptr;  // full resolution, oriented (nullptr: nothing to draw)
    uint64_t image_revision = 0;
    annotation_overlay *overlay = nullptr;  // its dirty rectangle is uploaded and cleared
    const float *mask_logits = nullptr;     // 256 x 256 low-res logits of the shown candidate, or nullptr
    uint64_t mask_revision = 0;
    float mask_frame_scale[2] = {0, 0};     // 1024-frame units per image pixel (model_frame_scale); 0: SAM 1's
    float fill[4] = {0.12f, 0.56f, 1.0f, 0.45f};  // the candidate's colour (straight alpha)
    view_transform view;
    canvas_rect area;
    int fb_w = 0, fb_h = 0;
};

struct canvas_renderer {
    GLuint image_program = 0, mask_program = 0, overlay_program = 0, annotations_program = 0;
    GLuint vao = 0, vbo = 0;
    GLuint image_texture = 0, logits_texture = 0, mask_texture = 0, labels_texture = 0, selected_texture = 0, mask_fbo = 0;
    int image_w = 0, image_h = 0;        // full-resolution image size (pixels)
    int texture_w = 0, texture_h = 0;    // displayed texture size (smaller if downscaled)
    int mask_w = 0, mask_h = 0;          // the rendered candidate mask
    int labels_w = 0, labels_h = 0;
    int max_texture_size = 0;
    uint64_t image_revision = ~uint64_t(0), mask_revision = ~uint64_t(0), labels_revision = ~uint64_t(0);
    float mask_fill[3] = {0, 0, 0};
    bool has_mask = false, has_labels = false;
    float outline[4] = {1.0f, 1.0f, 1.0f, 0.95f};
    int mask_renders = 0;  // statistics: candidate masks rendered from logits
};

bool canvas_renderer_init(canvas_renderer &r);
// Draws `s` inside s.area (scissored).
void canvas_renderer_render(canvas_renderer &r, const canvas_scene &s);
void canvas_renderer_shutdown(canvas_renderer &r);

}  // namespace sam
