// Mask overlay straight from SAM's 256x256 low-res logits. The logits cover
// the padded 1024x1024 input frame: image pixel -> 1024 frame by the
// ResizeLongestSide scale -> 256 frame (/4). Sampled bilinearly by hand with
// texelFetch (R32F is not filterable in WebGL2 without an extension),
// thresholded at 0 like SAM's mask_threshold; fill + outline.
precision highp float;
in vec2 v_image_px;
uniform highp sampler2D u_logits;  // R32F 256x256
uniform float u_resize_scale;      // 1024 / max(image h, w)
uniform float u_outline_px;        // outline width in image pixels (~1.5 canvas px)
uniform vec4 u_fill;               // straight alpha, blended SRC_ALPHA, ONE_MINUS_SRC_ALPHA
uniform vec4 u_outline;
out vec4 frag_color;

float logit_at(vec2 image_px) {
    // continuous 256-frame coordinate, texel centres at integer + 0.5
    vec2 t = image_px * u_resize_scale * 0.25 - 0.5;
    vec2 i0 = floor(t);
    vec2 f = t - i0;
    ivec2 a = clamp(ivec2(i0), ivec2(0), ivec2(255));
    ivec2 b = clamp(ivec2(i0) + 1, ivec2(0), ivec2(255));
    float v00 = texelFetch(u_logits, ivec2(a.x, a.y), 0).r;
    float v10 = texelFetch(u_logits, ivec2(b.x, a.y), 0).r;
    float v01 = texelFetch(u_logits, ivec2(a.x, b.y), 0).r;
    float v11 = texelFetch(u_logits, ivec2(b.x, b.y), 0).r;
    return mix(mix(v00, v10, f.x), mix(v01, v11, f.x), f.y);
}

void main() {
    bool inside = logit_at(v_image_px) > 0.0;
    float d = u_outline_px;
    bool edge = (logit_at(v_image_px + vec2(d, 0.0)) > 0.0) != inside ||
                (logit_at(v_image_px - vec2(d, 0.0)) > 0.0) != inside ||
                (logit_at(v_image_px + vec2(0.0, d)) > 0.0) != inside ||
                (logit_at(v_image_px - vec2(0.0, d)) > 0.0) != inside;
    if (edge && inside) frag_color = u_outline;
    else if (inside) frag_color = u_fill;
    else discard;
}
