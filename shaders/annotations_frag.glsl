// Accepted annotations, over the photo: the label map (RGBA8, painted on the CPU per
// edit by src/app/annotation_overlay.cpp, the displayed texture's size: rgb the category
// colour of the last annotation covering the texel, a = 128, 0 where none) and the
// selected annotation's mask (R8, 255 inside), drawn highlighted on top. Both are stored
// transposed (column-major on the CPU, like RLE runs): display texel (x, y) is texture
// texel (y, x). Nearest texels
// (label maps are never blended between labels); an outline where a neighbour
// u_outline_px image pixels away differs.
precision highp float;
in vec2 v_image_px;
uniform highp vec2 u_image_size;
uniform highp sampler2D u_labels;
uniform highp sampler2D u_selected;
uniform vec3 u_selected_color;
uniform float u_outline_px;
out vec4 frag_color;

// the transposed texel of image pixel p, for a texture of transposed size `size`
ivec2 texel(vec2 image_px, ivec2 size) {
    ivec2 shown = size.yx;
    ivec2 t = clamp(ivec2(floor(image_px / u_image_size * vec2(shown))), ivec2(0), shown - 1);
    return t.yx;
}
vec4 label_at(vec2 p) { return texelFetch(u_labels, texel(p, textureSize(u_labels, 0)), 0); }
bool selected_at(vec2 p) { return texelFetch(u_selected, texel(p, textureSize(u_selected, 0)), 0).r > 0.5; }

void main() {
    float d = u_outline_px;
    vec2 dx = vec2(d, 0.0), dy = vec2(0.0, d);
    if (selected_at(v_image_px)) {
        bool edge = !selected_at(v_image_px + dx) || !selected_at(v_image_px - dx) || !selected_at(v_image_px + dy) ||
                    !selected_at(v_image_px - dy);
        frag_color = edge ? vec4(1.0) : vec4(u_selected_color, 0.6);
        return;
    }
    vec4 c = label_at(v_image_px);
    if (c.a == 0.0) discard;
    bool edge = label_at(v_image_px + dx) != c || label_at(v_image_px - dx) != c || label_at(v_image_px + dy) != c ||
                label_at(v_image_px - dy) != c;
    frag_color = edge ? vec4(c.rgb, 1.0) : vec4(c.rgb, 0.4);
}
