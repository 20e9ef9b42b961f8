#include "app/canvas_renderer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "shader_sources.h"

namespace sam {
namespace {

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

GLuint link(const char *vs_body, const char *fs_body, const char *name) {
    GLuint vs = compile(GL_VERTEX_SHADER, vs_body, "quad_vert");
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

void set_view_uniforms(GLuint p, const canvas_renderer &r, const view_transform &v, int fb_w, int fb_h) {
    glUniform2f(glGetUniformLocation(p, "u_image_size"), (float)r.image_w, (float)r.image_h);
    glUniform3f(glGetUniformLocation(p, "u_view"), (float)v.scale, (float)v.offset_x, (float)v.offset_y);
    glUniform2f(glGetUniformLocation(p, "u_canvas_size"), (float)fb_w, (float)fb_h);
}

}  // namespace

image_u8 downscale_rgba_to_fit(const image_u8 &img, int max_side) {
    int w = img.width, h = img.height;
    double f = std::max(1.0, (double)std::max(w, h) / max_side);
    image_u8 out;
    out.width = std::max(1, std::min(max_side, (int)std::floor(w / f)));
    out.height = std::max(1, std::min(max_side, (int)std::floor(h / f)));
    out.channels = 4;
    out.pixels.assign((size_t)out.width * out.height * 4, 255);
    double fx = (double)w / out.width, fy = (double)h / out.height;
    for (int y = 0; y < out.height; ++y) {
        int y0 = (int)(y * fy), y1 = std::max(y0 + 1, std::min(h, (int)((y + 1) * fy)));
        for (int x = 0; x < out.width; ++x) {
            int x0 = (int)(x * fx), x1 = std::max(x0 + 1, std::min(w, (int)((x + 1) * fx)));
            unsigned sum[3] = {0, 0, 0}, n = 0;
            for (int yy = y0; yy < y1; ++yy)
                for (int xx = x0; xx < x1; ++xx, ++n) {
                    const uint8_t *p = img.at(xx, yy);
                    for (int c = 0; c < 3; ++c) sum[c] += p[img.channels >= 3 ? c : 0];
                }
            uint8_t *q = out.at(x, y);
            for (int c = 0; c < 3; ++c) q[c] = (uint8_t)((sum[c] + n / 2) / n);
        }
    }
    return out;
}

bool canvas_renderer_init(canvas_renderer &r) {
    r.image_program = link(shader_quad_vert, shader_image_frag, "image_frag");
    r.overlay_program = link(shader_quad_vert, shader_mask_overlay_frag, "mask_overlay_frag");
    r.annotations_program = link(shader_quad_vert, shader_annotations_frag, "annotations_frag");
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
    glGenTextures(1, &r.labels_texture);
    glBindTexture(GL_TEXTURE_2D, r.logits_texture);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexStorage2D(GL_TEXTURE_2D, 1, GL_R32F, 256, 256);
    return r.image_program && r.overlay_program && r.annotations_program;
}

void canvas_renderer_set_image(canvas_renderer &r, const image_u8 &img) {
    r.image_w = img.width;
    r.image_h = img.height;
    int limit = r.max_texture_size > 0 ? r.max_texture_size : 4096;
    image_u8 shown;
    const image_u8 *src = &img;
    if (img.channels != 4 || std::max(img.width, img.height) > limit) {
        shown = downscale_rgba_to_fit(img, std::min(limit, std::max(img.width, img.height)));
        src = &shown;
    }
    r.texture_w = src->width;
    r.texture_h = src->height;
    glBindTexture(GL_TEXTURE_2D, r.image_texture);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, src->width, src->height, 0, GL_RGBA, GL_UNSIGNED_BYTE,
                 src->pixels.data());
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    r.has_logits = false;
    r.has_labels = false;
}

void canvas_renderer_set_annotations(canvas_renderer &r, const uint8_t *rgba) {
    r.has_labels = rgba != nullptr && r.texture_w > 0;
    if (!r.has_labels) return;
    glBindTexture(GL_TEXTURE_2D, r.labels_texture);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, r.texture_w, r.texture_h, 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
}

void canvas_renderer_set_logits(canvas_renderer &r, const float *logits) {
    r.has_logits = logits != nullptr;
    if (!logits) return;
    glBindTexture(GL_TEXTURE_2D, r.logits_texture);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, 256, 256, GL_RED, GL_FLOAT, logits);
}

void canvas_renderer_render(canvas_renderer &r, const view_transform &view, const canvas_rect &area, int fb_w,
                            int fb_h) {
    if (r.image_w <= 0 || !r.image_program) return;
    glViewport(0, 0, fb_w, fb_h);
    glEnable(GL_SCISSOR_TEST);
    glScissor((GLint)area.x, (GLint)(fb_h - area.y - area.h), (GLsizei)area.w, (GLsizei)area.h);
    glDisable(GL_DEPTH_TEST);
    glDisable(GL_CULL_FACE);
    glBindVertexArray(r.vao);

    glDisable(GL_BLEND);
    glUseProgram(r.image_program);
    set_view_uniforms(r.image_program, r, view, fb_w, fb_h);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, r.image_texture);
    glUniform1i(glGetUniformLocation(r.image_program, "u_image"), 0);
    glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);

    if (r.has_labels && r.annotations_program) {
        glEnable(GL_BLEND);
        glBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);
        glUseProgram(r.annotations_program);
        set_view_uniforms(r.annotations_program, r, view, fb_w, fb_h);
        glBindTexture(GL_TEXTURE_2D, r.labels_texture);
        glUniform1i(glGetUniformLocation(r.annotations_program, "u_labels"), 0);
        glUniform1f(glGetUniformLocation(r.annotations_program, "u_outline_px"), (float)(1.5 / view.scale));
        glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
        glDisable(GL_BLEND);
    }
    if (r.has_logits && r.overlay_program) {
        glEnable(GL_BLEND);
        glBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);
        glUseProgram(r.overlay_program);
        set_view_uniforms(r.overlay_program, r, view, fb_w, fb_h);
        glBindTexture(GL_TEXTURE_2D, r.logits_texture);
        glUniform1i(glGetUniformLocation(r.overlay_program, "u_logits"), 0);
        glUniform1f(glGetUniformLocation(r.overlay_program, "u_resize_scale"),
                    1024.0f / (float)std::max(r.image_w, r.image_h));
        glUniform1f(glGetUniformLocation(r.overlay_program, "u_outline_px"), (float)(1.5 / view.scale));
        glUniform4fv(glGetUniformLocation(r.overlay_program, "u_fill"), 1, r.fill);
        glUniform4fv(glGetUniformLocation(r.overlay_program, "u_outline"), 1, r.outline);
        glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
        glDisable(GL_BLEND);
    }
    glBindVertexArray(0);
    glUseProgram(0);
    glDisable(GL_SCISSOR_TEST);
}

void canvas_renderer_shutdown(canvas_renderer &r) {
    glDeleteProgram(r.image_program);
    glDeleteProgram(r.overlay_program);
    glDeleteProgram(r.annotations_program);
    glDeleteBuffers(1, &r.vbo);
    glDeleteVertexArrays(1, &r.vao);
    glDeleteTextures(1, &r.image_texture);
    glDeleteTextures(1, &r.logits_texture);
    glDeleteTextures(1, &r.labels_texture);
    r = canvas_renderer{};
}

}  // namespace sam
