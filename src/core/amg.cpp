// amg.cpp - see amg.h.
#include "core/amg.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

namespace sam {

std::vector<double> build_point_grid(int n_per_side) {
    std::vector<double> pts;
    if (n_per_side <= 0) return pts;
    // np.linspace(offset, 1 - offset, n): start + i * step, the last point set to stop.
    const double offset = 1.0 / (2 * n_per_side);
    const double start = offset, stop = 1 - offset;
    std::vector<double> side(n_per_side);
    if (n_per_side == 1) {
        side[0] = start;
    } else {
        const double step = (stop - start) / (n_per_side - 1);
        for (int i = 0; i < n_per_side; i++) side[i] = i * step + start;
        side[n_per_side - 1] = stop;
    }
    pts.reserve((size_t)n_per_side * n_per_side * 2);
    for (int y = 0; y < n_per_side; y++)
        for (int x = 0; x < n_per_side; x++) {
            pts.push_back(side[x]);
            pts.push_back(side[y]);
        }
    return pts;
}

std::vector<std::vector<double>> build_all_layer_point_grids(int n_per_side, int n_layers, int scale_per_layer) {
    std::vector<std::vector<double>> out;
    for (int i = 0; i <= n_layers; i++) {
        int n_points = (int)(n_per_side / std::pow((double)scale_per_layer, i));
        out.push_back(build_point_grid(n_points));
    }
    return out;
}

void generate_crop_boxes(int im_h, int im_w, int n_layers, double overlap_ratio, std::vector<box_xyxy> &crop_boxes,
                         std::vector<int> &layer_idxs) {
    crop_boxes.clear();
    layer_idxs.clear();
    const int short_side = std::min(im_h, im_w);
    crop_boxes.push_back({0, 0, im_w, im_h});
    layer_idxs.push_back(0);
    auto crop_len = [](int orig_len, int n_crops, int overlap) {
        return (int)std::ceil((double)(overlap * (n_crops - 1) + orig_len) / n_crops);
    };
    for (int layer = 0; layer < n_layers; layer++) {
        const int n = 1 << (layer + 1);
        const int overlap = (int)(overlap_ratio * short_side * (2.0 / n));
        const int crop_w = crop_len(im_w, n, overlap), crop_h = crop_len(im_h, n, overlap);
        // itertools.product(x0s, y0s): x outer, y inner.
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                const int x0 = (crop_w - overlap) * i, y0 = (crop_h - overlap) * j;
                crop_boxes.push_back({x0, y0, std::min(x0 + crop_w, im_w), std::min(y0 + crop_h, im_h)});
                layer_idxs.push_back(layer + 1);
            }
    }
}

namespace {

int uf_find(std::vector<int> &parent, int x) {
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

// 8-connected components of the set pixels. labels[i] = 0 for unset pixels,
// 1..n otherwise, numbered like OpenCV's block-based (2x2) scan: by the first
// 2x2 block, in raster order over block rows, that holds a pixel of the
// component. sizes[k] is the size of label k + 1.
int label_components(const std::vector<uint8_t> &on, int w, int h, std::vector<int> &labels, std::vector<int64_t> &sizes) {
    std::vector<int> parent;
    std::vector<int> prov((size_t)w * h, -1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const size_t i = (size_t)y * w + x;
            if (!on[i]) continue;
            int l = -1;
            auto join = [&](int nx, int ny) {
                if (nx < 0 || nx >= w || ny < 0) return;
                int o = prov[(size_t)ny * w + nx];
                if (o < 0) return;
                if (l < 0) {
                    l = uf_find(parent, o);
                } else {
                    int a = uf_find(parent, l), b = uf_find(parent, o);
                    if (a != b) parent[std::max(a, b)] = std::min(a, b);
                    l = std::min(a, b);
                }
            };
            join(x - 1, y);
            join(x - 1, y - 1);
            join(x, y - 1);
            join(x + 1, y - 1);
            if (l < 0) {
                l = (int)parent.size();
                parent.push_back(l);
            }
            prov[i] = l;
        }
    const int n_prov = (int)parent.size();
    const int64_t block_w = (w + 1) / 2;
    std::vector<int64_t> first_block(n_prov, INT64_MAX), size(n_prov, 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int p = prov[(size_t)y * w + x];
            if (p < 0) continue;
            int r = uf_find(parent, p);
            prov[(size_t)y * w + x] = r;
            size[r]++;
            first_block[r] = std::min(first_block[r], (int64_t)(y / 2) * block_w + x / 2);
        }
    std::vector<int> roots;
    for (int p = 0; p < n_prov; p++)
        if (parent[p] == p) roots.push_back(p);
    std::sort(roots.begin(), roots.end(), [&](int a, int b) { return first_block[a] < first_block[b]; });
    std::vector<int> final_label(n_prov, 0);
    sizes.assign(roots.size(), 0);
    for (size_t k = 0; k < roots.size(); k++) {
        final_label[roots[k]] = (int)k + 1;
        sizes[k] = size[roots[k]];
    }
    labels.assign((size_t)w * h, 0);
    for (size_t i = 0; i < labels.size(); i++)
        if (prov[i] >= 0) labels[i] = final_label[prov[i]];
    return (int)roots.size();
}

}  // namespace

bool remove_small_regions(binary_mask &mask, double area_thresh, small_region_mode mode) {
    const bool holes = mode == small_region_mode::holes;
    const int w = mask.width, h = mask.height;
    std::vector<uint8_t> working(mask.data.size());
    for (size_t i = 0; i < working.size(); i++) working[i] = (mask.data[i] != 0) != holes;
    std::vector<int> labels;
    std::vector<int64_t> sizes;
    const int n = label_components(working, w, h, labels, sizes);

    std::vector<uint8_t> small(n + 1, 0);
    bool any_small = false;
    for (int k = 0; k < n; k++)
        if ((double)sizes[k] < area_thresh) small[k + 1] = any_small = true;
    if (!any_small) return false;

    // fill[l]: label l is set in the result.
    std::vector<uint8_t> fill(n + 1, 0);
    if (holes) {
        fill[0] = 1;  // label 0 of the inverted mask is the mask itself
        for (int l = 1; l <= n; l++) fill[l] = small[l];
    } else {
        bool any = false;
        for (int l = 1; l <= n; l++) any |= (fill[l] = !small[l]) != 0;
        if (!any) {  // every island is small: keep the (first) largest
            int best = (int)(std::max_element(sizes.begin(), sizes.end()) - sizes.begin());
            fill[best + 1] = 1;
        }
    }
    for (size_t i = 0; i < mask.data.size(); i++) mask.data[i] = fill[labels[i]];
    return true;
}

box_xywh box_xyxy_to_xywh(const box_xyxy &b) {
    box_xywh r;
    r.x = b.x0;
    r.y = b.y0;
    r.w = b.x1 - b.x0;
    r.h = b.y1 - b.y0;
    return r;
}

box_xyxy uncrop_box_xyxy(const box_xyxy &b, const box_xyxy &crop_box) {
    return {b.x0 + crop_box.x0, b.y0 + crop_box.y0, b.x1 + crop_box.x0, b.y1 + crop_box.y0};
}

void uncrop_points(double *xy, size_t n, const box_xyxy &crop_box) {
    for (size_t i = 0; i < n; i++) {
        xy[2 * i] += crop_box.x0;
        xy[2 * i + 1] += crop_box.y0;
    }
}

binary_mask uncrop_mask(const binary_mask &m, const box_xyxy &crop_box, int orig_h, int orig_w) {
    if (crop_box.x0 == 0 && crop_box.y0 == 0 && crop_box.x1 == orig_w && crop_box.y1 == orig_h) return m;
    binary_mask out(orig_w, orig_h);
    for (int y = 0; y < m.height; y++) {
        const int oy = y + crop_box.y0;
        if (oy < 0 || oy >= orig_h) continue;
        for (int x = 0; x < m.width; x++) {
            const int ox = x + crop_box.x0;
            if (ox >= 0 && ox < orig_w) out.at(ox, oy) = m.at(x, y);
        }
    }
    return out;
}

bool is_box_near_crop_edge(const box_xyxy &box, const box_xyxy &crop_box, const box_xyxy &orig_box, double atol) {
    const box_xyxy b = uncrop_box_xyxy(box, crop_box);
    const int bv[4] = {b.x0, b.y0, b.x1, b.y1};
    const int cv[4] = {crop_box.x0, crop_box.y0, crop_box.x1, crop_box.y1};
    const int ov[4] = {orig_box.x0, orig_box.y0, orig_box.x1, orig_box.y1};
    // torch.isclose(a, b, atol, rtol=0) on float32 values: |a - b| <= atol.
    for (int k = 0; k < 4; k++) {
        const bool near_crop = std::fabs((double)(float)bv[k] - (float)cv[k]) <= (float)atol;
        const bool near_image = std::fabs((double)(float)bv[k] - (float)ov[k]) <= (float)atol;
        if (near_crop && !near_image) return true;
    }
    return false;
}

std::vector<int> batched_nms(const float *boxes, const float *scores, const int *idxs, size_t n, double iou_threshold) {
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
    std::vector<float> area(n);
    for (size_t i = 0; i < n; i++) {
        const float *b = boxes + 4 * i;
        area[i] = (b[2] - b[0]) * (b[3] - b[1]);
    }
    std::vector<uint8_t> suppressed(n, 0);
    std::vector<int> keep;
    for (size_t oi = 0; oi < n; oi++) {
        const int i = order[oi];
        if (suppressed[i]) continue;
        keep.push_back(i);
        const float *bi = boxes + 4 * i;
        for (size_t oj = oi + 1; oj < n; oj++) {
            const int j = order[oj];
            if (suppressed[j] || idxs[j] != idxs[i]) continue;
            const float *bj = boxes + 4 * j;
            const float xx1 = std::max(bi[0], bj[0]), yy1 = std::max(bi[1], bj[1]);
            const float xx2 = std::min(bi[2], bj[2]), yy2 = std::min(bi[3], bj[3]);
            const float iw = std::max(0.0f, xx2 - xx1), ih = std::max(0.0f, yy2 - yy1);
            const float inter = iw * ih;
            const float ovr = inter / (area[i] + area[j] - inter);
            if ((double)ovr > iou_threshold) suppressed[j] = 1;
        }
    }
    return keep;
}

}  // namespace sam
