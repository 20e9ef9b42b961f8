// canvas_renderer.h - draws the image and the mask overlay on WebGL2 with the
// shaders in shaders/ (embedded at build time, "#version 300 es" prepended
// here; compile and link logs are printed on failure). An _init / _render /
// _shutdown trio over one state struct, like imgui_impl_opengl3.
//   canvas_renderer r; canvas_renderer_init(r);
//   canvas_renderer_set_image(r, img);   // any size: downscaled if > GL_MAX_TEXTURE_SIZE
//   canvas_renderer_set_logits(r, p);    // 256x256 f32 logits, or nullptr to hide
//   canvas_renderer_set_annotations(r, rgba);  // texture_w x texture_h RGBA8 (annotation_overlay.h)
//   canvas_renderer_render(r, view, area, fb_w, fb_h);
#pragma once
#include <GLES3/gl3.h>

#include "app/view_transform.h"
#include "core/image.h"

namespace sam {

struct canvas_renderer {
    GLuint image_program = 0, overlay_program = 0, annotations_program = 0;
    GLuint vao = 0, vbo = 0;
    GLuint image_texture = 0, logits_texture = 0, labels_texture = 0;
    int image_w = 0, image_h = 0;      // full-resolution image size (pixels)
    int texture_w = 0, texture_h = 0;  // displayed texture size (smaller if downscaled)
    int max_texture_size = 0;
    bool has_logits = false;
    bool has_labels = false;
    float fill[4] = {0.12f, 0.56f, 1.0f, 0.45f};
    float outline[4] = {1.0f, 1.0f, 1.0f, 0.95f};
};

bool canvas_renderer_init(canvas_renderer &r);
void canvas_renderer_set_image(canvas_renderer &r, const image_u8 &img);
void canvas_renderer_set_logits(canvas_renderer &r, const float *logits_256x256);
// texture_w x texture_h RGBA8 label colours (nullptr hides them).
void canvas_renderer_set_annotations(canvas_renderer &r, const uint8_t *rgba);
// Draws inside `area` (scissored) with the given view; fb_w/fb_h is the framebuffer size.
void canvas_renderer_render(canvas_renderer &r, const view_transform &view, const canvas_rect &area, int fb_w,
                            int fb_h);
void canvas_renderer_shutdown(canvas_renderer &r);

// Box-filter downscale so that neither side exceeds max_side (RGBA8 output).
image_u8 downscale_rgba_to_fit(const image_u8 &img, int max_side);

}  // namespace sam
