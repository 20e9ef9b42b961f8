// polygon_join.cpp - see polygon_join.h.
#include "core/polygon_join.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace sam {

namespace {

// Vertices of the rings placed so far, bucketed on a uniform grid over all rings' extent.
class vertex_grid {
public:
    vertex_grid(const std::vector<const polygon *> &rings) {
        float x0 = std::numeric_limits<float>::max(), y0 = x0, x1 = -x0, y1 = -x0;
        for (const polygon *r : rings)
            for (size_t i = 0; i + 1 < r->xy.size(); i += 2) {
                x0 = std::min(x0, r->xy[i]), x1 = std::max(x1, r->xy[i]);
                y0 = std::min(y0, r->xy[i + 1]), y1 = std::max(y1, r->xy[i + 1]);
            }
        ox_ = x0, oy_ = y0;
        // About 128 cells along the longer side: few enough to scan, fine enough that a
        // query near its answer looks at a handful of vertices.
        cell_ = std::max(1.0, std::max((double)x1 - x0, (double)y1 - y0) / 128.0);
        gw_ = cell_index(x1 - x0) + 1, gh_ = cell_index(y1 - y0) + 1;
        cells_.resize((size_t)gw_ * gh_);
    }

    void insert(const polygon &r, uint32_t ring) {
        for (size_t i = 0; i + 1 < r.xy.size(); i += 2)
            cell(r.xy[i], r.xy[i + 1]).push_back({ring, (uint32_t)(i / 2)});
    }

    // Nearest inserted vertex to (x, y) if closer than sqrt(best2): updates best2 and
    // ring/vertex. Scans square shells of cells outwards and stops once a shell cannot
    // hold anything closer.
    void nearest(float x, float y, const std::vector<const polygon *> &rings, double &best2, uint32_t &ring,
                 uint32_t &vertex) const {
        const int cx = cell_index(x - ox_), cy = cell_index(y - oy_);
        const int max_r = std::max(gw_, gh_);
        for (int r = 0; r <= max_r; r++) {
            if (r > 0) {
                const double lb = (r - 1) * cell_;
                if (lb * lb >= best2) return;
            }
            for (int gy = cy - r; gy <= cy + r; gy++) {
                if (gy < 0 || gy >= gh_) continue;
                const bool edge_row = gy == cy - r || gy == cy + r;
                for (int gx = cx - r; gx <= cx + r; gx += (edge_row || r == 0) ? 1 : 2 * r) {
                    if (gx < 0 || gx >= gw_) continue;
                    for (const ref &v : cells_[(size_t)gy * gw_ + gx]) {
                        const float *p = &rings[v.ring]->xy[2 * (size_t)v.vertex];
                        const double dx = (double)p[0] - x, dy = (double)p[1] - y, d2 = dx * dx + dy * dy;
                        if (d2 < best2) best2 = d2, ring = v.ring, vertex = v.vertex;
                    }
                }
            }
        }
    }

private:
    struct ref {
        uint32_t ring, vertex;
    };
    int cell_index(double offset) const { return std::max(0, (int)(offset / cell_)); }
    std::vector<ref> &cell(float x, float y) {
        const int gx = std::min(gw_ - 1, cell_index(x - ox_)), gy = std::min(gh_ - 1, cell_index(y - oy_));
        return cells_[(size_t)gy * gw_ + gx];
    }

    float ox_ = 0, oy_ = 0;
    double cell_ = 1;
    int gw_ = 1, gh_ = 1;
    std::vector<std::vector<ref>> cells_;
};

struct link {
    uint32_t attach;  // vertex of the parent ring the bridge leaves from
    uint32_t child;   // ring index
    uint32_t entry;   // vertex of the child ring the bridge arrives at
};

// Queries per ring: a spread-out sample first, then the neighbourhood of the best sample,
// so a ring of any length costs about 64 + 2 * n / 64 grid queries.
constexpr size_t k_samples = 64;

}  // namespace

polygon join_rings(const polygon_set &ps) {
    std::vector<const polygon *> rings;
    for (const polygon &p : ps.polygons)
        if (p.xy.size() >= 6) rings.push_back(&p);
    for (const polygon &p : ps.holes)
        if (p.xy.size() >= 6) rings.push_back(&p);
    polygon out;
    if (rings.empty()) return out;

    vertex_grid grid(rings);
    std::vector<std::vector<link>> kids(rings.size());
    for (uint32_t j = 1; j < rings.size(); j++) {
        grid.insert(*rings[j - 1], j - 1);
        const std::vector<float> &xy = rings[j]->xy;
        const size_t n = xy.size() / 2, stride = std::max<size_t>(1, n / k_samples);
        double best2 = std::numeric_limits<double>::infinity();
        uint32_t parent = 0, attach = 0, entry = 0;
        auto query = [&](size_t v) {
            const double before = best2;
            grid.nearest(xy[2 * v], xy[2 * v + 1], rings, best2, parent, attach);
            if (best2 < before) entry = (uint32_t)v;
        };
        for (size_t v = 0; v < n; v += stride) query(v);
        if (stride > 1) {
            const size_t centre = entry;
            for (size_t d = 1; d < stride; d++) query((centre + d) % n), query((centre + n - d) % n);
        }
        kids[parent].push_back({attach, j, entry});
    }
    for (auto &k : kids)
        std::stable_sort(k.begin(), k.end(), [](const link &a, const link &b) { return a.attach < b.attach; });

    auto emit = [&](uint32_t ring, size_t vertex) {
        const float x = rings[ring]->xy[2 * vertex], y = rings[ring]->xy[2 * vertex + 1];
        const size_t m = out.xy.size();
        if (m >= 2 && out.xy[m - 2] == x && out.xy[m - 1] == y) return;
        out.xy.push_back(x), out.xy.push_back(y);
    };
    // Depth-first walk without recursion (a mask can have thousands of rings).
    struct frame {
        uint32_t ring;
        size_t start, k = 0;  // walk position: vertex (start + k) % n
        size_t kid = 0;       // next child link at that vertex, index into kids[ring]
        bool emitted = false;  // the current vertex has been written
    };
    std::vector<frame> stack{{0, 0}};
    while (!stack.empty()) {
        frame &f = stack.back();
        const size_t n = rings[f.ring]->xy.size() / 2;
        if (f.k == n) {
            const uint32_t ring = f.ring;
            const size_t start = f.start;
            stack.pop_back();
            if (stack.empty()) break;  // the root closes implicitly
            emit(ring, start);         // close the child ring, then cross back
            const frame &p = stack.back();
            emit(p.ring, (p.start + p.k) % (rings[p.ring]->xy.size() / 2));
            continue;
        }
        const size_t v = (f.start + f.k) % n;
        if (!f.emitted) {
            emit(f.ring, v);
            f.emitted = true;
            const std::vector<link> &ks = kids[f.ring];
            f.kid = (size_t)(std::lower_bound(ks.begin(), ks.end(), (uint32_t)v,
                                              [](const link &l, uint32_t a) { return l.attach < a; }) -
                             ks.begin());
        }
        const std::vector<link> &ks = kids[f.ring];
        if (f.kid < ks.size() && ks[f.kid].attach == v) {
            const link l = ks[f.kid++];
            stack.push_back({l.child, l.entry});
            continue;
        }
        f.k++;
        f.emitted = false;
    }
    // The walk may end where it started (a child attached at the root's last vertex
    // returns there): drop a closing duplicate of the first point.
    const size_t m = out.xy.size();
    if (m >= 4 && out.xy[m - 2] == out.xy[0] && out.xy[m - 1] == out.xy[1]) out.xy.resize(m - 2);
    return out;
}

}  // namespace sam
