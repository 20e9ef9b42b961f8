// polygon.cpp - pixel-corner border tracing, Douglas-Peucker, pycocotools-exact rasteriser.
#include "core/polygon.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/rle.h"

namespace sam {

namespace {

// Directions along the pixel grid in image coordinates (y down). Borders are walked with
// the foreground on the RIGHT, so outer borders run clockwise on screen (positive
// shoelace area below) and hole borders counter-clockwise.
enum dir : int { east = 0, south = 1, west = 2, north = 3 };
constexpr int k_dx[4] = {1, 0, -1, 0};
constexpr int k_dy[4] = {0, 1, 0, -1};

// Mask with a one-pixel background frame, so the 2x2 neighbourhood of any corner can be
// read without bounds checks.
struct padded_mask {
    int w = 0, h = 0;  // of the original mask
    std::vector<uint8_t> px;
    explicit padded_mask(const binary_mask &m) : w(m.width), h(m.height), px((size_t)(w + 2) * (h + 2), 0) {
        for (int y = 0; y < h; y++) {
            const uint8_t *src = m.data.data() + (size_t)y * w;
            uint8_t *dst = px.data() + (size_t)(y + 1) * (w + 2) + 1;
            for (int x = 0; x < w; x++) dst[x] = src[x] != 0;
        }
    }
    // Pixel (x, y) of the original mask, 0 outside it (x in -1..w, y in -1..h). Bit 0 is
    // the pixel, bit 1 marks that the border along its top side has been traced.
    uint8_t at(int x, int y) const { return px[(size_t)(y + 1) * (w + 2) + (x + 1)] & 1; }
    uint8_t *row(int y) { return px.data() + (size_t)(y + 1) * (w + 2) + 1; }
    void mark_top(int x, int y) { px[(size_t)(y + 1) * (w + 2) + (x + 1)] |= 2; }
};

// The border edge to take out of corner (x, y), arriving along `in`. Pixels around the
// corner: tl (x-1,y-1), tr (x,y-1), bl (x-1,y), br (x,y). At a saddle (two diagonal
// foreground pixels) there are two ways out; turning right keeps hugging the pixel we
// came along, which makes diagonal-only neighbours separate components (4-connectivity).
int next_dir(const padded_mask &m, int x, int y, int in) {
    const uint8_t tl = m.at(x - 1, y - 1), tr = m.at(x, y - 1), bl = m.at(x - 1, y), br = m.at(x, y);
    const bool out_e = br && !tr, out_s = bl && !br, out_w = tl && !bl, out_n = tr && !tl;
    if ((int)out_e + out_s + out_w + out_n == 2) return (in + 1) & 3;
    if (out_e) return east;
    if (out_s) return south;
    if (out_w) return west;
    return north;
}

double seg_dist2(double px, double py, double ax, double ay, double bx, double by) {
    const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0;
    t = std::max(0.0, std::min(1.0, t));
    const double ex = ax + t * dx - px, ey = ay + t * dy - py;
    return ex * ex + ey * ey;
}

// Douglas-Peucker on an open chain pts[i0..i1] (indices into a cyclic list of n points);
// marks kept points. Iterative so that long borders cannot overflow the stack.
void douglas_peucker(const std::vector<int> &pts, size_t n, size_t i0, size_t i1, double tol2,
                     std::vector<uint8_t> &keep) {
    std::vector<std::pair<size_t, size_t>> stack{{i0, i1}};
    while (!stack.empty()) {
        auto [a, b] = stack.back();
        stack.pop_back();
        if (b <= a + 1) continue;
        const double ax = pts[2 * (a % n)], ay = pts[2 * (a % n) + 1];
        const double bx = pts[2 * (b % n)], by = pts[2 * (b % n) + 1];
        double best = -1;
        size_t best_i = a;
        for (size_t i = a + 1; i < b; i++) {
            const double d = seg_dist2(pts[2 * (i % n)], pts[2 * (i % n) + 1], ax, ay, bx, by);
            if (d > best) best = d, best_i = i;
        }
        if (best > tol2) {
            keep[best_i % n] = 1;
            stack.push_back({a, best_i});
            stack.push_back({best_i, b});
        }
    }
}

// Candidate points for simplifying a traced ring (corners x0,y0,... in pixels), in
// half-pixel units: the midpoint of every unit border edge, plus the corners between two
// straight runs of 2+ pixels. Midpoints rather than all corners, because a chord between
// the corners of a staircase runs through the pixel centres along it and pycocotools
// would drop or add half of them, while the midpoints lie on the line the staircase
// approximates; real corners (of a rectangle, say) are kept so they stay sharp.
std::vector<int> candidate_points(const std::vector<int> &ring) {
    const size_t m = ring.size() / 2;
    std::vector<int> out;
    auto run_len = [&](size_t i) {
        const size_t j = (i + 1) % m;
        return std::abs(ring[2 * j] - ring[2 * i]) + std::abs(ring[2 * j + 1] - ring[2 * i + 1]);
    };
    for (size_t i = 0; i < m; i++) {
        const size_t j = (i + 1) % m;
        const int x = ring[2 * i], y = ring[2 * i + 1], len = run_len(i);
        if (len >= 2 && run_len((i + m - 1) % m) >= 2) out.push_back(2 * x), out.push_back(2 * y);
        const int sx = (ring[2 * j] > x) - (ring[2 * j] < x), sy = (ring[2 * j + 1] > y) - (ring[2 * j + 1] < y);
        // On a straight run only its two end midpoints can ever be the farthest point
        // from a chord (distance is convex along a segment), so the rest are left out.
        for (int t = 0; t < len; t++) {
            if (t > 0 && t < len - 1) t = len - 1;
            out.push_back(2 * x + (2 * t + 1) * sx), out.push_back(2 * y + (2 * t + 1) * sy);
        }
    }
    return out;
}

// Douglas-Peucker on a closed ring of candidate points (half-pixel units), returned in
// pixels. The ring is split at its first point and the point farthest from it, and each
// half is simplified. An empty result means it collapsed below 3 points.
constexpr size_t k_long_ring = 2048, k_chunk = 1024;

polygon simplify_ring(const std::vector<int> &pts, double tolerance_px) {
    const size_t n = pts.size() / 2;
    polygon out;
    if (n < 3) return out;
    tolerance_px *= 2;  // half-pixel units
    size_t far = 0;
    double best = -1;
    for (size_t i = 1; i < n; i++) {
        const double dx = pts[2 * i] - pts[0], dy = pts[2 * i + 1] - pts[1], d = dx * dx + dy * dy;
        if (d > best) best = d, far = i;
    }
    std::vector<uint8_t> keep(n, 0);
    keep[0] = keep[far] = 1;
    const double tol2 = tolerance_px * tolerance_px;
    // Douglas-Peucker costs O(n * kept) at worst (a comb of one-pixel teeth); on very long
    // rings, fixed split points every k_chunk candidates bound that to O(n * k_chunk).
    const size_t chunk = n > k_long_ring ? k_chunk : n;
    for (size_t a = 0; a < far; a += chunk) {
        const size_t b = std::min(far, a + chunk);
        keep[b % n] = 1;
        douglas_peucker(pts, n, a, b, tol2, keep);
    }
    for (size_t a = far; a < n; a += chunk) {
        const size_t b = std::min(n, a + chunk);
        keep[b % n] = 1;
        douglas_peucker(pts, n, a, b, tol2, keep);
    }
    for (size_t i = 0; i < n; i++)
        if (keep[i]) out.xy.push_back(0.5f * pts[2 * i]), out.xy.push_back(0.5f * pts[2 * i + 1]);
    if (out.xy.size() < 6) out.xy.clear();
    return out;
}

// maskApi.c rleFrPoly: returns the column-major toggle positions (x * h + y) of one
// polygon, computed exactly as there (5x upsampled edge walk, crossings at pixel centres).
void frpoly_boundaries(const float *xy, size_t k, int h, int w, std::vector<uint32_t> &a) {
    // Far-away points would overflow maskApi.c's ints (undefined there) and make the
    // upsampled walk arbitrarily long; clamping this far out leaves in-image results of
    // any sane polygon unchanged.
    const double lim = 4.0 * ((double)w + h) + 64.0;
    auto up = [&](float v) {
        double d = std::isfinite(v) ? (double)v : 0.0;
        d = std::max(-lim, std::min(lim, d));
        return (int)(5.0 * d + .5);  // C truncation toward zero, as maskApi.c
    };
    std::vector<int> x(k + 1), y(k + 1);
    for (size_t j = 0; j < k; j++) x[j] = up(xy[2 * j]), y[j] = up(xy[2 * j + 1]);
    x[k] = x[0];
    y[k] = y[0];
    const double scale = 5;
    // A crossing between consecutive upsampled points (pu,pv) -> (u,v), as in the
    // "get points along y-boundary and downsample" loop.
    auto crossing = [&](int pu, int pv, int u, int v) {
        if (u == pu) return;
        double xd = (double)(u < pu ? u : u - 1);
        xd = (xd + .5) / scale - .5;
        if (std::floor(xd) != xd || xd < 0 || xd > w - 1) return;
        double yd = (double)(v < pv ? v : pv);
        yd = (yd + .5) / scale - .5;
        if (yd < 0)
            yd = 0;
        else if (yd > h)
            yd = h;
        yd = std::ceil(yd);
        a.push_back((uint32_t)((int)xd * h + (int)yd));
    };
    // Consecutive edges share their end point exactly, so pairs across edges never cross a
    // column centre and each edge can be walked on its own.
    for (size_t j = 0; j < k; j++) {
        int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
        const int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
        // A repeated point is a zero-length edge: it has a single sample and so no crossing
        // (maskApi.c computes 0/0 there and never uses it).
        if (dx == 0 && dy == 0) continue;
        const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
        if (flip) std::swap(xs, xe), std::swap(ys, ye);
        const double s = dx >= dy ? (double)(ye - ys) / dx : (double)(xe - xs) / dy;
        bool have = false;
        int pu = 0, pv = 0;
        if (dx >= dy) {
            // u = t + xs steps by one: only t with u near the image can cross a column
            // centre, so skip the rest of long edges.
            const int t_lo = std::max(0, -2 - xs), t_hi = std::min(dx, 5 * w + 2 - xs);
            if (t_lo > t_hi) continue;
            const int d_lo = flip ? dx - t_hi : t_lo, d_hi = flip ? dx - t_lo : t_hi;
            for (int d = d_lo; d <= d_hi; d++) {
                const int t = flip ? dx - d : d;
                const int u = t + xs, v = (int)(ys + s * t + .5);
                if (have) crossing(pu, pv, u, v);
                pu = u, pv = v, have = true;
            }
        } else {
            for (int d = 0; d <= dy; d++) {
                const int t = flip ? dy - d : d;
                const int v = t + ys, u = (int)(xs + s * t + .5);
                if (have) crossing(pu, pv, u, v);
                pu = u, pv = v, have = true;
            }
        }
    }
}

rle frpoly(const float *xy, size_t k, int h, int w) {
    std::vector<uint32_t> a;
    frpoly_boundaries(xy, k, h, w, a);
    a.push_back((uint32_t)((uint64_t)h * w));
    std::sort(a.begin(), a.end());
    uint32_t p = 0;
    for (uint32_t &t : a) {
        const uint32_t cur = t;
        t -= p;
        p = cur;
    }
    // Two toggles at one position cancel: merge the runs around a zero-length one.
    rle r{h, w, {}};
    size_t j = 0;
    r.counts.push_back(a[j++]);
    while (j < a.size()) {
        if (a[j] > 0) {
            r.counts.push_back(a[j++]);
        } else {
            j++;
            if (j < a.size()) r.counts.back() += a[j++];
        }
    }
    return r;
}

// Pixels on which a simplified ring and the exact ring (corners, in pixels) disagree when
// both are rasterised by pycocotools' rules, in the ring's own bounding box (integer
// shifts leave rleFrPoly's rounding unchanged, and the simplified points stay inside).
uint64_t ring_error(const std::vector<int> &ring, const polygon &simple) {
    int x0 = ring[0], x1 = ring[0], y0 = ring[1], y1 = ring[1];
    for (size_t i = 0; i < ring.size(); i += 2) {
        x0 = std::min(x0, ring[i]), x1 = std::max(x1, ring[i]);
        y0 = std::min(y0, ring[i + 1]), y1 = std::max(y1, ring[i + 1]);
    }
    std::vector<float> exact(ring.size()), approx(simple.xy.size());
    for (size_t i = 0; i < ring.size(); i += 2) exact[i] = (float)(ring[i] - x0), exact[i + 1] = (float)(ring[i + 1] - y0);
    for (size_t i = 0; i < approx.size(); i += 2)
        approx[i] = simple.xy[i] - (float)x0, approx[i + 1] = simple.xy[i + 1] - (float)y0;
    const int h = y1 - y0, w = x1 - x0;
    const rle a = frpoly(exact.data(), exact.size() / 2, h, w), b = frpoly(approx.data(), approx.size() / 2, h, w);
    return rle_area(rle_merge(a, b, rle_merge_op::union_)) - rle_area(rle_merge(a, b, rle_merge_op::intersect));
}

}  // namespace

polygon_set mask_to_polygons(const binary_mask &m, double tolerance_px) {
    polygon_set out;
    if (m.width <= 0 || m.height <= 0 || m.data.size() < (size_t)m.width * m.height) return out;
    padded_mask pm(m);
    const int w = m.width, h = m.height;
    // Every border ring has at least one east edge (the top side of a foreground pixel
    // under background); a row-major scan for unvisited ones finds each ring once.
    std::vector<int> ring;
    const bool simplify = tolerance_px > 0;
    constexpr uint64_t ones = 0x0101010101010101ull;
    for (int y = 0; y < h; y++) {
        const uint8_t *cur = pm.row(y), *above = pm.row(y - 1);
        for (int x = 0; x < w; x++) {
            if (x % 8 == 0 && x + 8 <= w) {
                // Skip 8 pixels at once unless one is foreground, untraced, under background.
                uint64_t c, a;
                std::memcpy(&c, cur + x, 8);
                std::memcpy(&a, above + x, 8);
                if ((c & ~(c >> 1) & ~a & ones) == 0) {
                    x += 7;
                    continue;
                }
            }
            if (cur[x] != 1 || (above[x] & 1)) continue;
            ring.clear();
            int cx = x, cy = y, d = east;
            int64_t area2 = 0;  // twice the shoelace area, from the corners only
            for (;;) {
                if (d == east) pm.mark_top(cx, cy);
                const int nx = cx + k_dx[d], ny = cy + k_dy[d];
                area2 += (int64_t)cx * ny - (int64_t)nx * cy;
                cx = nx, cy = ny;
                const int nd = next_dir(pm, cx, cy, d);
                if (nd != d) ring.push_back(cx), ring.push_back(cy);
                d = nd;
                if (cx == x && cy == y && d == east) break;
            }
            const bool is_hole = area2 < 0;
            if (is_hole) out.has_holes = true;
            polygon p;
            if (simplify) {
                // Small or thin rings lose a large share of their pixels at a fixed
                // tolerance: halve it until the ring keeps its shape to 1.5% of its pixels.
                const std::vector<int> cand = candidate_points(ring);
                const double budget = 0.015 * (double)(area2 < 0 ? -area2 : area2) / 2;
                double tol = tolerance_px;
                for (int attempt = 0; attempt < 4 && p.xy.empty(); attempt++, tol *= 0.5) {
                    p = simplify_ring(cand, tol);
                    if (p.xy.empty() || p.xy.size() >= ring.size()) {
                        p.xy.clear();  // collapsed, or no fewer points than the exact ring
                        break;
                    }
                    if ((double)ring_error(ring, p) > budget) p.xy.clear();
                }
            }
            // Exact corners at tolerance 0, and for rings that simplification would
            // collapse (a speck, a one-pixel line) or distort.
            if (p.xy.empty()) p.xy.assign(ring.begin(), ring.end());
            (is_hole ? out.holes : out.polygons).push_back(std::move(p));
        }
    }
    return out;
}

binary_mask polygons_to_mask(const std::vector<polygon> &polys, int height, int width) {
    const int h = std::max(height, 0), w = std::max(width, 0);
    if (h == 0 || w == 0) return binary_mask(w, h);
    rle acc{h, w, {(uint32_t)((uint64_t)h * w)}};
    for (const polygon &p : polys) {
        const size_t k = p.xy.size() / 2;
        if (k == 0) continue;
        acc = rle_merge(acc, frpoly(p.xy.data(), k, h, w), rle_merge_op::union_);
    }
    return rle_to_mask(acc);
}

}  // namespace sam
