// Vertex shader shared by the image and the mask overlay: a unit quad
// stretched over the image rectangle. v_image_px carries continuous
// full-resolution image coordinates (pixel centres at +0.5), whatever the
// size of the texture shown.
precision highp float;
layout(location = 0) in vec2 a_unit;  // (0,0) .. (1,1)
uniform vec2 u_image_size;            // full-resolution image width, height (pixels)
uniform vec3 u_view;                  // scale, offset_x, offset_y: image px -> canvas px
uniform vec2 u_canvas_size;           // framebuffer width, height (canvas px)
out vec2 v_image_px;
void main() {
    v_image_px = a_unit * u_image_size;
    vec2 canvas = v_image_px * u_view.x + u_view.yz;
    vec2 ndc = canvas / u_canvas_size * 2.0 - 1.0;
    gl_Position = vec4(ndc.x, -ndc.y, 0.0, 1.0);
}
