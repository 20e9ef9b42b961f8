// The candidate mask from SAM's 256x256 low-res logits, rendered once per decoder
// result into an R8 texture of the image's shape (at most 1024 texels a side, the model frame). The
// logits cover the model's 1024x1024 input frame: image pixel -> 1024 frame by the
// model's scale per axis (SAM 1: ResizeLongestSide's 1024 / max(W, H) on both, the
// padding beyond the image never sampled; SAM 2.1: 1024 / W and 1024 / H, i.e. the 256
// frame at pixel * 256 / (W, H), torch's bilinear source index) -> 256 frame (/4),
// sampled bilinearly by hand with texelFetch (R32F is not filterable in WebGL2 without
// an extension) and thresholded at 0 like SAM's mask_threshold, as accept does.
precision highp float;
in vec2 v_image_px;
uniform highp sampler2D u_logits;  // R32F 256x256
uniform vec2 u_frame_scale;        // 1024-frame units per image pixel (x, y): model_frame_scale
out vec4 frag_color;

float logit_at(vec2 image_px) {
    // continuous 256-frame coordinate, texel centres at integer + 0.5
    vec2 t = image_px * u_frame_scale * 0.25 - 0.5;
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
    frag_color = vec4(logit_at(v_image_px) > 0.0 ? 1.0 : 0.0, 0.0, 0.0, 1.0);
}
