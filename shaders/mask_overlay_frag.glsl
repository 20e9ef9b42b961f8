// The candidate mask over the photo, each frame: one R8 mask texture (rendered once
// per decoder result by mask_from_logits_frag.glsl), sampled linearly and cut at 0.5;
// fill inside, outline where a neighbour u_outline_px image pixels away is outside.
precision highp float;
in vec2 v_image_px;
uniform highp vec2 u_image_size;
uniform highp sampler2D u_mask;  // R8, the image's shape
uniform float u_outline_px;      // outline width in image pixels (~1.5 canvas px)
uniform vec4 u_fill;             // straight alpha, blended SRC_ALPHA, ONE_MINUS_SRC_ALPHA
uniform vec4 u_outline;
out vec4 frag_color;

bool inside_at(vec2 image_px) { return texture(u_mask, image_px / u_image_size).r > 0.5; }

void main() {
    bool inside = inside_at(v_image_px);
    if (!inside) discard;
    float d = u_outline_px;
    bool edge = !inside_at(v_image_px + vec2(d, 0.0)) || !inside_at(v_image_px - vec2(d, 0.0)) ||
                !inside_at(v_image_px + vec2(0.0, d)) || !inside_at(v_image_px - vec2(0.0, d));
    frag_color = edge ? u_outline : u_fill;
}
