// The photo: one RGBA8 texture, possibly downscaled for display (the quad
// still spans the full-resolution image, so coordinates are unaffected).
precision mediump float;
in highp vec2 v_image_px;
uniform highp vec2 u_image_size;
uniform sampler2D u_image;
out vec4 frag_color;
void main() {
    frag_color = vec4(texture(u_image, v_image_px / u_image_size).rgb, 1.0);
}
