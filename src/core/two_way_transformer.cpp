// two_way_transformer.cpp - see two_way_transformer.h. Shapes: C = dim, Ci = an
// attention's internal width, H heads of dh = Ci / H, T tokens, HW image tokens.
#include "core/two_way_transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/nn_ops.h"

namespace sam {

namespace {

constexpr float k_layer_norm_eps = 1e-5f;  // nn.LayerNorm's default, as SAM's transformer uses

const decoder_tensor *get(const decoder_weights &w, const std::string &name) { return w.find(name); }

bool load_linear(const decoder_weights &w, const std::string &name, linear_layer &out) {
    const decoder_tensor *wt = get(w, name + ".weight"), *b = get(w, name + ".bias");
    if (!wt || !b || wt->shape.size() != 2) return false;
    out = linear_from(wt->values.data(), b->values.data(), (int)wt->shape[0], (int)wt->shape[1]);
    return true;
}

bool load_norm(const decoder_weights &w, const std::string &name, std::vector<float> &weight,
               std::vector<float> &bias) {
    const decoder_tensor *wt = get(w, name + ".weight"), *b = get(w, name + ".bias");
    if (!wt || !b) return false;
    weight = wt->values;
    bias = b->values;
    return true;
}

bool load_attention(const decoder_weights &w, const std::string &name, int heads, attention_layer &a) {
    if (!load_linear(w, name + ".q_proj", a.q) || !load_linear(w, name + ".k_proj", a.k) ||
        !load_linear(w, name + ".v_proj", a.v) || !load_linear(w, name + ".out_proj", a.out))
        return false;
    a.dim = a.q.in;
    a.internal = a.q.out;
    a.heads = heads;
    a.wq = pack_b(get(w, name + ".q_proj.weight")->values.data(), a.dim, a.internal, a.dim);
    a.wk = pack_b(get(w, name + ".k_proj.weight")->values.data(), a.dim, a.internal, a.dim);
    return true;
}

float head_divisor(const attention_layer &a) { return std::sqrt((float)(a.internal / a.heads)); }

bool reorder(const attention_layer &a, int t, attention_order order) {
    if (order != attention_order::automatic) return order == attention_order::reordered;
    // Image-side work: direct HW*C*Ci per product, reordered HW*C*H*T.
    return a.heads * t < a.internal;
}

float *sized(std::vector<float> &v, size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
}

// [H*T][Ci] with row h*T + i holding x[i] in head h's columns and zeros elsewhere:
// one product with it gives every head's own product at once.
void block_diagonal(const float *x, int t, int ci, int heads, float *out) {
    const int dh = ci / heads;
    std::memset(out, 0, sizeof(float) * (size_t)heads * t * ci);
    for (int h = 0; h < heads; ++h)
        for (int i = 0; i < t; ++i)
            std::memcpy(out + ((size_t)h * t + i) * ci + h * dh, x + (size_t)i * ci + h * dh, sizeof(float) * dh);
}

// out[c][r] = in[r][c] for in [rows][cols], in blocks of 64 rows: the reads stay within a few
// KB and each write run is 64 floats long (a plain loop writes with a stride of `rows`).
void transpose(const float *in, int rows, int cols, float *out) {
    constexpr int block = 64;
    for (int r0 = 0; r0 < rows; r0 += block) {
        const int r1 = std::min(rows, r0 + block);
        for (int c = 0; c < cols; ++c) {
            float *o = out + (size_t)c * rows;
            for (int r = r0; r < r1; ++r) o[r] = in[(size_t)r * cols + c];
        }
    }
}

// The reordered products fold a token-side matrix x [T][Ci] into a weight per head:
// g[h*T + i] = x[i]_h W_h ([H*T][C], W packed as stored, [Ci][C]) and cb[h*T + i] = x[i]_h . b_h.
void fold_heads(const float *x, int t, int ci, int heads, const packed_b &w, const std::vector<float> &b, int c,
                transformer_workspace &ws, float *g, std::vector<float> &cb, parallel_for *pf) {
    const int dh = ci / heads, ht = heads * t;
    float *xbd = sized(ws.tok_c, (size_t)ht * ci);
    block_diagonal(x, t, ci, heads, xbd);
    gemm(ht, xbd, ci, w, g, c, nullptr, false, pf);
    cb.assign(ht, 0.f);
    for (int h = 0; h < heads; ++h)
        for (int i = 0; i < t; ++i) {
            float acc = 0.f;
            for (int d = 0; d < dh; ++d) acc += x[(size_t)i * ci + h * dh + d] * b[h * dh + d];
            cb[(size_t)h * t + i] = acc;
        }
}

// Attention among a few tokens (all projected already): o[tq][Ci].
void attend_tokens(const float *q, const float *k, const float *v, int tq, int tk, int ci, int heads, float divisor,
                   float *o) {
    const int dh = ci / heads;
    std::vector<float> s(tk);
    for (int h = 0; h < heads; ++h)
        for (int i = 0; i < tq; ++i) {
            const float *qi = q + (size_t)i * ci + h * dh;
            for (int j = 0; j < tk; ++j) {
                const float *kj = k + (size_t)j * ci + h * dh;
                float acc = 0.f;
                for (int d = 0; d < dh; ++d) acc += qi[d] * kj[d];
                s[j] = acc;
            }
            softmax_rows(s.data(), 1, tk, tk, divisor, nullptr);
            float *oi = o + (size_t)i * ci + h * dh;
            for (int d = 0; d < dh; ++d) oi[d] = 0.f;
            for (int j = 0; j < tk; ++j)
                for (int d = 0; d < dh; ++d) oi[d] += s[j] * v[(size_t)j * ci + h * dh + d];
        }
}

// out[T][C] = self_attn(q = k = q_in, v = v_in)
void self_attention(const attention_layer &a, const float *q_in, const float *v_in, int t, float *out,
                    transformer_workspace &ws) {
    const int ci = a.internal, c = a.dim;
    float *qp = sized(ws.tok_a, (size_t)t * ci), *kp = sized(ws.tok_b, (size_t)t * ci);
    float *vp = sized(ws.tok_c, (size_t)t * ci), *o = sized(ws.tok_d, (size_t)t * ci);
    linear_forward(a.q, q_in, t, c, qp, ci, nullptr);
    linear_forward(a.k, q_in, t, c, kp, ci, nullptr);
    linear_forward(a.v, v_in, t, c, vp, ci, nullptr);
    attend_tokens(qp, kp, vp, t, t, ci, a.heads, head_divisor(a), o);
    linear_forward(a.out, o, t, ci, out, c, nullptr);
}

// out[T][C] = attention(q = q_tok [T][C], k = img_k [HW][C], v = img_v [HW][C]); kproj/vproj:
// the image-side projections when already known (layer 0 without a mask input).
void token_to_image(const attention_layer &a, const float *q_tok, int t, const float *img_k, const float *img_v,
                    int hw, const float *kproj, const float *vproj, float *out, transformer_workspace &ws,
                    parallel_for *pf, attention_order order) {
    const int ci = a.internal, c = a.dim, heads = a.heads, dh = ci / heads, ht = heads * t;
    float *qp = sized(ws.tok_a, (size_t)t * ci), *o = sized(ws.tok_b, (size_t)t * ci);
    linear_forward(a.q, q_tok, t, c, qp, ci, nullptr);
    if (kproj || !reorder(a, t, order)) {
        const float *kk = kproj, *vv = vproj;
        if (!kk) linear_forward(a.k, img_k, hw, c, sized(ws.img_a, (size_t)hw * ci), ci, pf), kk = ws.img_a.data();
        if (!vv) linear_forward(a.v, img_v, hw, c, sized(ws.img_b, (size_t)hw * ci), ci, pf), vv = ws.img_b.data();
        float *s = sized(ws.scores, (size_t)t * hw);
        for (int h = 0; h < heads; ++h) {
            pack_bt_into(kk + h * dh, ci, dh, hw, ws.packed);
            gemm(t, qp + h * dh, ci, ws.packed, s, hw, nullptr, false, pf);
            softmax_rows(s, t, hw, hw, head_divisor(a), pf);
            pack_b_into(vv + h * dh, ci, hw, dh, ws.packed);
            gemm(t, s, hw, ws.packed, o + h * dh, ci, nullptr, false, pf);
        }
    } else {
        // scores = (q W_k) X^T + q.b_k ; values = (A X) W_v^T + b_v (rows of A sum to 1)
        float *g = sized(ws.tok_d, (size_t)ht * c);
        std::vector<float> cb;
        fold_heads(qp, t, ci, heads, a.wk, a.k.bias, c, ws, g, cb, pf);
        pack_bt_into(g, c, c, ht, ws.packed);
        float *st = sized(ws.scores_t, (size_t)hw * ht), *s = sized(ws.scores, (size_t)ht * hw);
        gemm(hw, img_k, c, ws.packed, st, ht, cb.data(), false, pf);
        transpose(st, hw, ht, s);
        softmax_rows(s, ht, hw, hw, head_divisor(a), pf);
        pack_b_into(img_v, c, hw, c, ws.packed);
        float *r = sized(ws.tok_e, (size_t)ht * c), *f = sized(ws.tok_c, (size_t)ht * ci);
        gemm(ht, s, hw, ws.packed, r, c, nullptr, false, pf);
        gemm(ht, r, c, a.v.wt, f, ci, nullptr, false, pf);
        for (int h = 0; h < heads; ++h)
            for (int i = 0; i < t; ++i)
                for (int d = 0; d < dh; ++d)
                    o[(size_t)i * ci + h * dh + d] = f[((size_t)h * t + i) * ci + h * dh + d] + a.v.bias[h * dh + d];
    }
    linear_forward(a.out, o, t, ci, out, c, nullptr);
}

// out[HW][C] = attention(q = img_q [HW][C], k = k_tok [T][C], v = v_tok [T][C]); qproj: the
// image-side query projection when already known.
void image_to_token(const attention_layer &a, const float *img_q, int hw, const float *qproj, const float *k_tok,
                    const float *v_tok, int t, float *out, transformer_workspace &ws, parallel_for *pf,
                    attention_order order) {
    const int ci = a.internal, c = a.dim, heads = a.heads, dh = ci / heads, ht = heads * t;
    float *kt = sized(ws.tok_a, (size_t)t * ci), *vt = sized(ws.tok_b, (size_t)t * ci);
    linear_forward(a.k, k_tok, t, c, kt, ci, nullptr);
    linear_forward(a.v, v_tok, t, c, vt, ci, nullptr);
    const bool reordered = reorder(a, t, order);
    float *s = sized(ws.scores_t, (size_t)hw * ht);  // [HW][H*T], head h in columns h*T..
    if (qproj || !reordered) {
        const float *qq = qproj;
        if (!qq) linear_forward(a.q, img_q, hw, c, sized(ws.img_a, (size_t)hw * ci), ci, pf), qq = ws.img_a.data();
        for (int h = 0; h < heads; ++h) {
            pack_bt_into(kt + h * dh, ci, dh, t, ws.packed);
            gemm(hw, qq + h * dh, ci, ws.packed, s + h * t, ht, nullptr, false, pf);
        }
    } else {
        // scores = X (K_t W_q)^T + b_q . K_t
        float *j = sized(ws.tok_d, (size_t)ht * c);
        std::vector<float> cb;
        fold_heads(kt, t, ci, heads, a.wq, a.q.bias, c, ws, j, cb, pf);
        pack_bt_into(j, c, c, ht, ws.packed);
        gemm(hw, img_q, c, ws.packed, s, ht, cb.data(), false, pf);
    }
    softmax_segments(s, hw, heads, t, head_divisor(a), pf);
    if (!reordered) {
        float *o = sized(ws.img_b, (size_t)hw * ci);
        for (int h = 0; h < heads; ++h) {
            pack_b_into(vt + h * dh, ci, t, dh, ws.packed);
            gemm(hw, s + h * t, ht, ws.packed, o + h * dh, ci, nullptr, false, pf);
        }
        linear_forward(a.out, o, hw, ci, out, c, pf);
    } else {
        // out = sum_h A_h (V_t,h W_o,h^T) + b_o
        float *vbd = sized(ws.tok_c, (size_t)ht * ci), *u = sized(ws.tok_d, (size_t)ht * c);
        block_diagonal(vt, t, ci, heads, vbd);
        gemm(ht, vbd, ci, a.out.wt, u, c, nullptr, false, pf);
        pack_b_into(u, c, ht, c, ws.packed);
        gemm(hw, s, ht, ws.packed, out, c, a.out.bias.data(), false, pf);
    }
}

void add_into(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace

status transformer_load(const decoder_weights &w, two_way_transformer &out) {
    const sam_decoder_config &cfg = w.config;
    two_way_transformer tf;
    tf.dim = cfg.embed_dim;
    tf.mlp_activation = cfg.mlp_activation;
    const std::string base = mask_decoder_prefix(cfg) + "transformer.";
    for (int i = 0; i < cfg.depth; ++i) {
        const std::string l = base + "layers." + std::to_string(i) + ".";
        two_way_block b;
        b.skip_first_layer_pe = i == 0;
        bool ok = load_attention(w, l + "self_attn", cfg.num_heads, b.self_attn) &&
                  load_attention(w, l + "cross_attn_token_to_image", cfg.num_heads, b.token_to_image) &&
                  load_attention(w, l + "cross_attn_image_to_token", cfg.num_heads, b.image_to_token) &&
                  load_linear(w, l + transformer_mlp_name(cfg, 0), b.lin1) &&
                  load_linear(w, l + transformer_mlp_name(cfg, 1), b.lin2);
        for (int n = 0; n < 4 && ok; ++n)
            ok = load_norm(w, l + "norm" + std::to_string(n + 1), b.norm_w[n], b.norm_b[n]);
        if (!ok) return status::failure("transformer layer " + std::to_string(i) + " weights are incomplete");
        tf.layers.push_back(std::move(b));
    }
    if (!load_attention(w, base + "final_attn_token_to_image", cfg.num_heads, tf.final_attn) ||
        !load_norm(w, base + "norm_final_attn", tf.norm_final_w, tf.norm_final_b))
        return status::failure("transformer final attention weights are incomplete");
    out = std::move(tf);
    return status::success();
}

void transformer_precompute(const two_way_transformer &tf, const float *src, const float *src_pe, int hw,
                            std::vector<float> &k0, std::vector<float> &v0, std::vector<float> &q0,
                            parallel_for *pf) {
    const two_way_block &b = tf.layers[0];
    const int c = tf.dim;
    k0.resize((size_t)hw * b.token_to_image.internal);
    v0.resize((size_t)hw * b.token_to_image.internal);
    q0.resize((size_t)hw * b.image_to_token.internal);
    linear_forward(b.token_to_image.k, src_pe, hw, c, k0.data(), b.token_to_image.internal, pf);
    linear_forward(b.token_to_image.v, src, hw, c, v0.data(), b.token_to_image.internal, pf);
    linear_forward(b.image_to_token.q, src_pe, hw, c, q0.data(), b.image_to_token.internal, pf);
}

void transformer_run(const two_way_transformer &tf, const transformer_image &image, const float *tokens, int t,
                     int t_out, std::vector<float> &queries, std::vector<float> &keys_out, transformer_workspace &ws,
                     parallel_for *pf, attention_order order) {
    const int c = tf.dim, hw = image.hw;
    const size_t tn = (size_t)t * c, in = (size_t)hw * c;
    queries.assign(tokens, tokens + tn);
    std::vector<float> q(tn), tmp(tn);
    float *img_out = sized(ws.img_out, in);
    const float *keys = image.src, *keys_pe = image.src_pe;
    for (size_t li = 0; li < tf.layers.size(); ++li) {
        const two_way_block &b = tf.layers[li];
        const bool first = li == 0 && image.k0;
        if (b.skip_first_layer_pe) {
            self_attention(b.self_attn, queries.data(), queries.data(), t, tmp.data(), ws);
            queries = tmp;
        } else {
            for (size_t i = 0; i < tn; ++i) q[i] = queries[i] + tokens[i];
            self_attention(b.self_attn, q.data(), queries.data(), t, tmp.data(), ws);
            add_into(queries.data(), tmp.data(), tn);
        }
        layer_norm_rows(queries.data(), t, c, c, b.norm_w[0].data(), b.norm_b[0].data(), k_layer_norm_eps, nullptr);

        for (size_t i = 0; i < tn; ++i) q[i] = queries[i] + tokens[i];
        token_to_image(b.token_to_image, q.data(), t, keys_pe, keys, hw, first ? image.k0 : nullptr,
                       first ? image.v0 : nullptr, tmp.data(), ws, pf, order);
        add_into(queries.data(), tmp.data(), tn);
        layer_norm_rows(queries.data(), t, c, c, b.norm_w[1].data(), b.norm_b[1].data(), k_layer_norm_eps, nullptr);

        std::vector<float> hidden((size_t)t * b.lin1.out);
        linear_forward(b.lin1, queries.data(), t, c, hidden.data(), b.lin1.out, pf);
        if (tf.mlp_activation == 1)
            gelu_inplace(hidden.data(), hidden.size(), nullptr);
        else
            relu_inplace(hidden.data(), hidden.size());
        linear_forward(b.lin2, hidden.data(), t, b.lin1.out, tmp.data(), c, pf);
        add_into(queries.data(), tmp.data(), tn);
        layer_norm_rows(queries.data(), t, c, c, b.norm_w[2].data(), b.norm_b[2].data(), k_layer_norm_eps, nullptr);

        for (size_t i = 0; i < tn; ++i) q[i] = queries[i] + tokens[i];
        image_to_token(b.image_to_token, keys_pe, hw, first ? image.q0 : nullptr, q.data(), queries.data(), t,
                       img_out, ws, pf, order);
        float *nk = sized(ws.keys, in);
        add_arrays(keys, img_out, nk, in, pf);
        layer_norm_rows(nk, hw, c, c, b.norm_w[3].data(), b.norm_b[3].data(), k_layer_norm_eps, pf);
        float *nkpe = sized(ws.keys_pe, in);
        add_arrays(nk, image.pe, nkpe, in, pf);
        keys = nk;
        keys_pe = nkpe;
    }
    // Only the first t_out tokens' outputs are used after the final attention (the IoU and
    // mask tokens): the prompt tokens' rows are left out of it.
    const int tk = std::min(std::max(t_out, 1), t);
    const size_t kn = (size_t)tk * c;
    for (size_t i = 0; i < kn; ++i) q[i] = queries[i] + tokens[i];
    token_to_image(tf.final_attn, q.data(), tk, keys_pe, keys, hw, nullptr, nullptr, tmp.data(), ws, pf, order);
    add_into(queries.data(), tmp.data(), kn);
    queries.resize(kn);
    layer_norm_rows(queries.data(), tk, c, c, tf.norm_final_w.data(), tf.norm_final_b.data(), k_layer_norm_eps,
                    nullptr);
    keys_out.assign(ws.keys.begin(), ws.keys.begin() + in);
}

}  // namespace sam
