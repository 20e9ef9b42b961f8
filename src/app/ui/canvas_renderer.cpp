#include "app/ui/canvas_renderer.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "app/display_image.h"
#include "shader_sources.h"

namespace sam {
namespace {

// The candidate mask texture, longest side: the model's own 1024 frame (the first stage of
// postprocess_masks; finer is interpolation, and accept computes the exact mask). Software WebGL pays for every texel of
// the once-per-result pass: 2048 cost ~70 ms more per hover result than 1024 here.
constexpr int k_max_mask_side = 1024;

GLuint compile(GLenum type, const char *body, const char *name) {
    std::string src = std::string("#version 300 es\n") + body;
    const char *p = src.c_str();
    GLuint s = glCreateShader(type);
    glShaderSource(s, 1, &p, nullptr);
    glCompileShader(s);
    GLint ok = 0;
    glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char log[2048] = {0};
        glGetShaderInfoLog(s, sizeof log, nullptr, log);
        std::fprintf(stderr, "shader %s failed to compile:\n%s\n", name, log);
    }
    return s;
}

GLuint link(const char *vs_body, const char *vs_name, const char *fs_body, const char *name) {
    GLuint vs = compile(GL_VERTEX_SHADER, vs_body, vs_name);
    GLuint fs = compile(GL_FRAGMENT_SHADER, fs_body, name);
    GLuint p = glCreateProgram();
    glAttachShader(p, vs);
    glAttachShader(p, fs);
    glLinkProgram(p);
    GLint ok = 0;
    glGetProgramiv(p, GL_LINK_STATUS, &ok);
    if (!ok) {
        char log[2048] = {0};
        glGetProgramInfoLog(p, sizeof log, nullptr, log);
        std::fprintf(stderr, "program %s failed to link:\n%s\n", name, log);
        glDeleteProgram(p);
        p = 0;
    }
    glDeleteShader(vs);
    glDeleteShader(fs);
    return p;
}

void texture_params(GLenum filter) {
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, filter);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, filter);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
}

void set_view_uniforms(GLuint p, const canvas_renderer &r, const canvas_scene &s) {
    glUniform2f(glGetUniformLocation(p, "u_image_size"), (float)r.image_w, (float)r.image_h);
    glUniform3f(glGetUniformLocation(p, "u_view"), (float)s.view.scale, (float)s.view.offset_x, (float)s.view.offset_y);
    glUniform2f(glGetUniformLocation(p, "u_canvas_size"), (float)s.fb_w, (float)s.fb_h);
}

void upload_image(canvas_renderer &r, const image_u8 &img) {
    r.image_w = img.width;
    r.image_h = img.height;
    const image_u8 shown = display_pixels(img, r.max_texture_size);
    r.texture_w = shown.width;
    r.texture_h = shown.height;
    glBindTexture(GL_TEXTURE_2D, r.image_texture);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, shown.width, shown.height, 0, GL_RGBA, GL_UNSIGNED_BYTE,
                 shown.pixels.data());
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    // a new image: the mask texture takes its shape
    const texture_size m = display_texture_size(img.width, img.height, std::min(k_max_mask_side, r.max_texture_size));
    r.mask_w = m.w;
    r.mask_h = m.h;
    glBindTexture(GL_TEXTURE_2D, r.mask_texture);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_R8, m.w, m.h, 0, GL_RED, GL_UNSIGNED_BYTE, nullptr);
    texture_params(GL_LINEAR);
    glBindFramebuffer(GL_FRAMEBUFFER, r.mask_fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, r.mask_texture, 0);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    r.has_mask = false;
    r.mask_revision = ~uint64_t(0);
}

// The dirty rectangle of one overlay texture (all of it when the size changed). The
// buffers are column-major, so the GPU texture is their transpose: tex.h wide, tex.w
// high, display texel (x, y) at texture (y, x) (shaders/annotations_frag.glsl swaps back).
void upload_rect(GLuint texture, GLenum internal, GLenum format, texture_size tex, bool resized,
                 const overlay_rect &dirty, const std::vector<uint8_t> &pixels) {
    glBindTexture(GL_TEXTURE_2D, texture);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    if (resized) {
        glTexImage2D(GL_TEXTURE_2D, 0, internal, tex.h, tex.w, 0, format, GL_UNSIGNED_BYTE, pixels.data());
        texture_params(GL_NEAREST);
    } else if (!dirty.empty()) {
        glPixelStorei(GL_UNPACK_ROW_LENGTH, tex.h);
        glPixelStorei(GL_UNPACK_SKIP_PIXELS, dirty.y0);
        glPixelStorei(GL_UNPACK_SKIP_ROWS, dirty.x0);
        glTexSubImage2D(GL_TEXTURE_2D, 0, dirty.y0, dirty.x0, dirty.y1 - dirty.y0, dirty.x1 - dirty.x0, format,
                        GL_UNSIGNED_BYTE, pixels.data());
        glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
        glPixelStorei(GL_UNPACK_SKIP_PIXELS, 0);
        glPixelStorei(GL_UNPACK_SKIP_ROWS, 0);
    }
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
}

void upload_labels(canvas_renderer &r, annotation_overlay &o) {
    if (o.tex.w <= 0 || o.rgba.empty()) return;
    const bool resized = o.tex.w != r.labels_w || o.tex.h != r.labels_h;
    upload_rect(r.labels_texture, GL_RGBA8, GL_RGBA, o.tex, resized, o.dirty, o.rgba);
    upload_rect(r.selected_texture, GL_R8, GL_RED, o.tex, resized, o.selected_dirty, o.selected);
    r.labels_w = o.tex.w;
    r.labels_h = o.tex.h;
    overlay_mark_uploaded(o);
    r.labels_revision = o.revision;
    r.has_labels = true;
}

// Once per decoder result: logits -> R8 mask of the image's shape.
void render_mask(canvas_renderer &r, const float *logits, const float frame_scale[2]) {
    glBindTexture(GL_TEXTURE_2D, r.logits_texture);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, 256, 256, GL_RED, GL_FLOAT, logits);
    glBindFramebuffer(GL_FRAMEBUFFER, r.mask_fbo);
    glViewport(0, 0, r.mask_w, r.mask_h);
    glDisable(GL_SCISSOR_TEST);
    glDisable(GL_BLEND);
    glUseProgram(r.mask_program);
    glUniform2f(glGetUniformLocation(r.mask_program, "u_image_size"), (float)r.image_w, (float)r.image_h);
    const float sam1 = 1024.0f / (float)std::max(r.image_w, r.image_h);
    glUniform2f(glGetUniformLocation(r.mask_program, "u_frame_scale"), frame_scale[0] > 0 ? frame_scale[0] : sam1,
                frame_scale[1] > 0 ? frame_scale[1] : sam1);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, r.logits_texture);
    glUniform1i(glGetUniformLocation(r.mask_program, "u_logits"), 0);
    glBindVertexArray(r.vao);
    glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    r.mask_renders++;
}

}  // namespace

bool canvas_renderer_init(canvas_renderer &r) {
    r.image_program = link(shader_quad_vert, "quad_vert", shader_image_frag, "image_frag");
    r.mask_program = link(shader_mask_pass_vert, "mask_pass_vert", shader_mask_from_logits_frag, "mask_from_logits_frag");
    r.overlay_program = link(shader_quad_vert, "quad_vert", shader_mask_overlay_frag, "mask_overlay_frag");
    r.annotations_program = link(shader_quad_vert, "quad_vert", shader_annotations_frag, "annotations_frag");
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &r.max_texture_size);
    static const float unit_quad[] = {0, 0, 1, 0, 0, 1, 1, 1};
    glGenVertexArrays(1, &r.vao);
    glGenBuffers(1, &r.vbo);
    glBindVertexArray(r.vao);
    glBindBuffer(GL_ARRAY_BUFFER, r.vbo);
    glBufferData(GL_ARRAY_BUFFER, sizeof unit_quad, unit_quad, GL_STATIC_DRAW);
    glEnableVertexAttribArray(0);
    glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 0, nullptr);
    glBindVertexArray(0);
    glGenTextures(1, &r.image_texture);
    glGenTextures(1, &r.logits_texture);
    glGenTextures(1, &r.mask_texture);
    glGenTextures(1, &r.labels_texture);
    glGenTextures(1, &r.selected_texture);
    glGenFramebuffers(1, &r.mask_fbo);
    glBindTexture(GL_TEXTURE_2D, r.logits_texture);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexStorage2D(GL_TEXTURE_2D, 1, GL_R32F, 256, 256);
    return r.image_program && r.mask_program && r.overlay_program && r.annotations_program;
}

void canvas_renderer_render(canvas_renderer &r, const canvas_scene &s) {
    if (!s.image || s.image->width <= 0 || !r.image_program) return;
    if (s.image_revision != r.image_revision) {
        upload_image(r, *s.image);
        r.image_revision = s.image_revision;
        r.has_labels = false;
        r.labels_w = r.labels_h = 0;
    }
    if (s.overlay && (s.overlay->revision != r.labels_revision || !s.overlay->dirty.empty() ||
                      !s.overlay->selected_dirty.empty() || !r.has_labels))
        upload_labels(r, *s.overlay);
    const bool fill_changed =
        s.fill[0] != r.mask_fill[0] || s.fill[1] != r.mask_fill[1] || s.fill[2] != r.mask_fill[2];
    if (s.mask_revision != r.mask_revision || fill_changed) {
        r.has_mask = s.mask_logits != nullptr && r.mask_program;
        if (r.has_mask && s.mask_revision != r.mask_revision) render_mask(r, s.mask_logits, s.mask_frame_scale);
        r.mask_revision = s.mask_revision;
        for (int k = 0; k < 3; ++k) r.mask_fill[k] = s.fill[k];
    }

    glViewport(0, 0, s.fb_w, s.fb_h);
    glEnable(GL_SCISSOR_TEST);
    glScissor((GLint)s.area.x, (GLint)(s.fb_h - s.area.y - s.area.h), (GLsizei)s.area.w, (GLsizei)s.area.h);
    glDisable(GL_DEPTH_TEST);
    glDisable(GL_CULL_FACE);
    glBindVertexArray(r.vao);

    glDisable(GL_BLEND);
    glUseProgram(r.image_program);
    set_view_uniforms(r.image_program, r, s);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, r.image_texture);
    glUniform1i(glGetUniformLocation(r.image_program, "u_image"), 0);
    glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);

    glEnable(GL_BLEND);
    glBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);
    const float outline_px = (float)(1.5 / s.view.scale);
    if (r.has_labels && r.annotations_program) {
        glUseProgram(r.annotations_program);
        set_view_uniforms(r.annotations_program, r, s);
        glBindTexture(GL_TEXTURE_2D, r.labels_texture);
        glUniform1i(glGetUniformLocation(r.annotations_program, "u_labels"), 0);
        glActiveTexture(GL_TEXTURE1);
        glBindTexture(GL_TEXTURE_2D, r.selected_texture);
        glUniform1i(glGetUniformLocation(r.annotations_program, "u_selected"), 1);
        glActiveTexture(GL_TEXTURE0);
        const rgb8 c = s.overlay ? s.overlay->selected_color : rgb8{};
        glUniform3f(glGetUniformLocation(r.annotations_program, "u_selected_color"), c.r / 255.0f, c.g / 255.0f,
                    c.b / 255.0f);
        glUniform1f(glGetUniformLocation(r.annotations_program, "u_outline_px"), outline_px);
        glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    }
    if (r.has_mask && r.overlay_program) {
        glUseProgram(r.overlay_program);
        set_view_uniforms(r.overlay_program, r, s);
        glBindTexture(GL_TEXTURE_2D, r.mask_texture);
        glUniform1i(glGetUniformLocation(r.overlay_program, "u_mask"), 0);
        glUniform1f(glGetUniformLocation(r.overlay_program, "u_outline_px"), outline_px);
        glUniform4fv(glGetUniformLocation(r.overlay_program, "u_fill"), 1, s.fill);
        glUniform4fv(glGetUniformLocation(r.overlay_program, "u_outline"), 1, r.outline);
        glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    }
    glDisable(GL_BLEND);
    glBindVertexArray(0);
    glUseProgram(0);
    glDisable(GL_SCISSOR_TEST);
}

void canvas_renderer_shutdown(canvas_renderer &r) {
    glDeleteProgram(r.image_program);
    glDeleteProgram(r.mask_program);
    glDeleteProgram(r.overlay_program);
    glDeleteProgram(r.annotations_program);
    glDeleteBuffers(1, &r.vbo);
    glDeleteVertexArrays(1, &r.vao);
    glDeleteTextures(1, &r.image_texture);
    glDeleteTextures(1, &r.logits_texture);
    glDeleteTextures(1, &r.mask_texture);
    glDeleteTextures(1, &r.labels_texture);
    glDeleteTextures(1, &r.selected_texture);
    glDeleteFramebuffers(1, &r.mask_fbo);
    r = canvas_renderer{};
}

}  // namespace sam
