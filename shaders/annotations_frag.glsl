// Accepted annotations: an RGBA8 texture painted on the CPU after each edit
// (src/app/annotation_overlay.cpp), the displayed texture's size. rgb is the
// category colour; a = 0 none, 128 an annotation, 255 the selected one.
// Nearest texels (the texture is a label map, never blended between labels);
// an outline where a neighbour u_outline_px image pixels away differs.
precision highp float;
in vec2 v_image_px;
uniform highp vec2 u_image_size;
uniform highp sampler2D u_labels;
uniform float u_outline_px;
out vec4 frag_color;

vec4 label_at(vec2 image_px) {
    ivec2 size = textureSize(u_labels, 0);
    ivec2 t = clamp(ivec2(floor(image_px / u_image_size * vec2(size))), ivec2(0), size - 1);
    return texelFetch(u_labels, t, 0);
}

void main() {
    vec4 c = label_at(v_image_px);
    float d = u_outline_px;
    bool edge = label_at(v_image_px + vec2(d, 0.0)) != c || label_at(v_image_px - vec2(d, 0.0)) != c ||
                label_at(v_image_px + vec2(0.0, d)) != c || label_at(v_image_px - vec2(0.0, d)) != c;
    if (c.a == 0.0) discard;
    bool selected = c.a > 0.75;
    if (edge) frag_color = vec4(selected ? vec3(1.0) : c.rgb, 1.0);
    else frag_color = vec4(c.rgb, selected ? 0.6 : 0.4);
}
