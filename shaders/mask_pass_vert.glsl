// Vertex shader of the one-off passes that render into a texture of the image's
// shape (the candidate mask): the unit quad covers the whole target, texel row 0 at
// image row 0, so the target is sampled like the photo's texture.
precision highp float;
layout(location = 0) in vec2 a_unit;  // (0,0) .. (1,1)
uniform vec2 u_image_size;            // full-resolution image width, height (pixels)
out vec2 v_image_px;
void main() {
    v_image_px = a_unit * u_image_size;
    gl_Position = vec4(a_unit * 2.0 - 1.0, 0.0, 1.0);
}
