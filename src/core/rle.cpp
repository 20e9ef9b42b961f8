// rle.cpp - COCO RLE encode/decode, compressed strings, area, bbox, set operations.
#include "core/rle.h"

#include <algorithm>
#include <cstring>

namespace sam {

namespace {

// Column strips for converting between the row-major masks and COCO's column-major
// runs: a straight column walk over a 2250-wide mask misses the cache on every pixel.
constexpr int k_tile = 64;

uint64_t pixel_count(int h, int w) { return (h > 0 && w > 0) ? (uint64_t)h * (uint64_t)w : 0; }

}  // namespace

rle mask_to_rle(const binary_mask &m) {
    rle r;
    r.height = m.height;
    r.width = m.width;
    const size_t n = (size_t)pixel_count(m.height, m.width);
    if (n == 0 || m.data.size() < n) {
        r.counts.push_back(0);  // what maskApi.c rleEncode gives for an empty mask
        return r;
    }
    // Column-major order through a strip of k_tile columns at a time: each row
    // contributes one contiguous read, and the strip stays in cache while it is scanned.
    const int h = m.height, w = m.width;
    std::vector<uint8_t> strip((size_t)h * k_tile);
    uint8_t prev = 0;
    uint64_t run = 0;
    for (int x0 = 0; x0 < w; x0 += k_tile) {
        const int cw = std::min(k_tile, w - x0);
        for (int y = 0; y < h; y++) {
            const uint8_t *src = m.data.data() + (size_t)y * w + x0;
            for (int c = 0; c < cw; c++) strip[(size_t)c * h + y] = src[c] != 0;  // any non-zero is 1
        }
        // Same runs as rleEncode; whole words that continue the current run are skipped.
        const size_t len = (size_t)cw * h;
        const uint8_t *p = strip.data();
        size_t i = 0;
        while (i < len) {
            const uint64_t pattern = prev ? 0x0101010101010101ull : 0;
            while (i + 8 <= len) {
                uint64_t word;
                std::memcpy(&word, p + i, 8);
                if (word != pattern) break;
                i += 8;
                run += 8;
            }
            const size_t stop = std::min(len, i + 8);
            for (; i < stop; i++) {
                if (p[i] != prev) {
                    r.counts.push_back((uint32_t)run);
                    run = 0;
                    prev = p[i];
                }
                run++;
            }
        }
    }
    r.counts.push_back((uint32_t)run);
    return r;
}

binary_mask rle_to_mask(const rle &r) {
    binary_mask m(std::max(r.width, 0), std::max(r.height, 0));
    const size_t n = (size_t)pixel_count(r.height, r.width);
    if (n == 0) return m;
    // Runs are laid out a strip of k_tile columns at a time, then copied out row by row.
    const int h = r.height, w = r.width;
    std::vector<uint8_t> strip((size_t)h * k_tile);
    size_t j = 0;
    uint64_t left = r.counts.empty() ? 0 : r.counts[0];
    uint8_t v = 0;
    for (int x0 = 0; x0 < w; x0 += k_tile) {
        const int cw = std::min(k_tile, w - x0);
        const size_t len = (size_t)cw * h;
        size_t pos = 0;
        while (pos < len) {
            while (left == 0 && j + 1 < r.counts.size()) left = r.counts[++j], v ^= 1;
            if (left == 0) {  // counts end early: the rest stays 0
                std::memset(strip.data() + pos, 0, len - pos);
                break;
            }
            const size_t take = (size_t)std::min<uint64_t>(left, len - pos);
            std::memset(strip.data() + pos, v, take);
            pos += take;
            left -= take;
        }
        for (int y = 0; y < h; y++) {
            uint8_t *dst = m.data.data() + (size_t)y * w + x0;
            for (int c = 0; c < cw; c++) dst[c] = strip[(size_t)c * h + y];
        }
    }
    return m;
}

std::string rle_to_string(const rle &r) {
    std::string s;
    s.reserve(r.counts.size() * 2);
    for (size_t i = 0; i < r.counts.size(); i++) {
        int64_t x = (int64_t)r.counts[i];
        // Runs alternate, so a run is usually close to the run two before it of the
        // same colour: storing the difference keeps the string short.
        if (i > 2) x -= (int64_t)r.counts[i - 2];
        bool more = true;
        while (more) {
            char c = (char)(x & 0x1f);
            x >>= 5;  // arithmetic shift: negative deltas end at x == -1
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more) c |= 0x20;
            s.push_back((char)(c + 48));
        }
    }
    return s;
}

status rle_from_string(const std::string &s, int height, int width, rle &out) {
    if (height < 0 || width < 0) {
        return status::failure("RLE size [" + std::to_string(height) + ", " + std::to_string(width) +
                               "] is negative");
    }
    const uint64_t total = pixel_count(height, width);
    std::vector<uint32_t> counts;
    uint64_t sum = 0;
    size_t p = 0;
    while (p < s.size()) {
        const size_t start = p;
        int64_t x = 0;
        int k = 0;
        bool more = true;
        while (more) {
            if (p >= s.size()) {
                return status::failure("RLE counts string ends inside a number (at character " +
                                       std::to_string(start) + ")");
            }
            int c = (unsigned char)s[p] - 48;
            if (c < 0 || c > 63) {
                return status::failure("RLE counts string has character code " +
                                       std::to_string((unsigned char)s[p]) + " at " + std::to_string(p) +
                                       " (expected '0'..'o')");
            }
            // 7 groups of 5 bits cover any 32-bit count or delta; more is garbage.
            if (k >= 7) {
                return status::failure("RLE counts string has a number longer than 7 characters at " +
                                       std::to_string(start));
            }
            x |= (int64_t)(c & 0x1f) << (5 * k);
            more = (c & 0x20) != 0;
            p++;
            k++;
            if (!more && (c & 0x10)) x |= (int64_t)(~uint64_t(0) << (5 * k));  // sign-extend
        }
        const size_t m = counts.size();
        if (m > 2) x += (int64_t)counts[m - 2];
        if (x < 0 || x > (int64_t)UINT32_MAX) {
            return status::failure("RLE count #" + std::to_string(m) + " decodes to " + std::to_string(x) +
                                   " (must be 0..4294967295)");
        }
        sum += (uint64_t)x;
        if (sum > total) {
            return status::failure("RLE counts exceed " + std::to_string(height) + "*" + std::to_string(width) +
                                   " = " + std::to_string(total) + " pixels at count #" + std::to_string(m));
        }
        counts.push_back((uint32_t)x);
    }
    if (sum != total) {
        return status::failure("RLE counts sum to " + std::to_string(sum) + ", expected " + std::to_string(height) +
                               "*" + std::to_string(width) + " = " + std::to_string(total));
    }
    out.height = height;
    out.width = width;
    out.counts = std::move(counts);
    return status::success();
}

uint64_t rle_area(const rle &r) {
    uint64_t a = 0;
    for (size_t j = 1; j < r.counts.size(); j += 2) a += r.counts[j];
    return a;
}

box_xywh rle_to_bbox(const rle &r) {
    box_xywh b;
    const uint64_t h = (uint64_t)std::max(r.height, 0);
    if (h == 0) return b;
    // rleToBbox: a run of ones spanning two or more columns covers every row.
    uint64_t xs = UINT64_MAX, xe = 0, ys = UINT64_MAX, ye = 0, pos = 0;
    bool any = false;
    for (size_t j = 0; j < r.counts.size(); j++) {
        const uint64_t c = r.counts[j];
        if ((j & 1) && c > 0) {
            const uint64_t first = pos, last = pos + c - 1;
            const uint64_t x0 = first / h, y0 = first % h, x1 = last / h, y1 = last % h;
            xs = std::min(xs, x0);
            xe = std::max(xe, x1);
            if (x1 > x0) {
                ys = 0;
                ye = h - 1;
            } else {
                ys = std::min(ys, y0);
                ye = std::max(ye, y1);
            }
            any = true;
        }
        pos += c;
    }
    if (!any) return b;
    b.x = (double)xs;
    b.y = (double)ys;
    b.w = (double)(xe - xs + 1);
    b.h = (double)(ye - ys + 1);
    return b;
}

bool rle_is_valid(const rle &r) {
    if (r.height < 0 || r.width < 0) return false;
    uint64_t sum = 0;
    for (uint32_t c : r.counts) sum += c;
    return sum == pixel_count(r.height, r.width);
}

rle rle_merge(const rle &a, const rle &b, rle_merge_op op) {
    rle out;
    out.height = a.height;
    out.width = a.width;
    if (a.height != b.height || a.width != b.width || !rle_is_valid(a) || !rle_is_valid(b)) return out;
    const uint64_t total = pixel_count(a.height, a.width);
    // Walk both run lists at once; each step covers up to the nearer run end. Emitting
    // through `push` keeps the output canonical (zeros first, no empty runs after the
    // first), so a merge equals mask_to_rle of the merged mask.
    uint8_t cur = 0;
    uint64_t run = 0;
    auto push = [&](uint8_t v, uint64_t len) {
        if (len == 0) return;
        if (v != cur) {
            out.counts.push_back((uint32_t)run);
            run = 0;
            cur = v;
        }
        run += len;
    };
    size_t ia = 0, ib = 0;
    uint64_t la = a.counts.empty() ? 0 : a.counts[0], lb = b.counts.empty() ? 0 : b.counts[0];
    uint8_t va = 0, vb = 0;
    uint64_t pos = 0;
    while (pos < total) {
        while (la == 0 && ia + 1 < a.counts.size()) la = a.counts[++ia], va ^= 1;
        while (lb == 0 && ib + 1 < b.counts.size()) lb = b.counts[++ib], vb ^= 1;
        const uint64_t step = std::min(la, lb);
        if (step == 0) break;  // unreachable for valid inputs; guards against a stall
        uint8_t v = 0;
        switch (op) {
            case rle_merge_op::union_: v = va | vb; break;
            case rle_merge_op::intersect: v = va & vb; break;
            case rle_merge_op::subtract: v = va & (uint8_t)!vb; break;
        }
        push(v, step);
        la -= step;
        lb -= step;
        pos += step;
    }
    out.counts.push_back((uint32_t)run);
    return out;
}

}  // namespace sam

namespace sam {

bool rle_contains(const rle &r, int x, int y) {
    if (x < 0 || y < 0 || x >= r.width || y >= r.height) return false;
    const uint64_t index = (uint64_t)x * (uint64_t)r.height + (uint64_t)y;  // column-major
    uint64_t pos = 0;
    for (size_t k = 0; k < r.counts.size(); ++k) {
        pos += r.counts[k];
        if (index < pos) return k % 2 == 1;
    }
    return false;
}

// Decoding whole images (column-major runs into a row-major mask) dominated the COCO
// export of small objects: walk only the runs, keep the window's pixels.
binary_mask rle_crop(const rle &m, int x0, int y0, int w, int h) {
    binary_mask out(w, h);
    const uint64_t H = (uint64_t)m.height;
    uint64_t pos = 0;
    for (size_t i = 0; i < m.counts.size(); i++) {
        uint64_t n = m.counts[i];
        if (i % 2 == 1) {
            for (uint64_t p = pos, left = n; left > 0;) {
                const int64_t col = (int64_t)(p / H), row = (int64_t)(p % H);
                const uint64_t take = std::min<uint64_t>(left, H - (uint64_t)row);
                if (col >= x0 && col < x0 + w) {
                    const int64_t r0 = std::max<int64_t>(row, y0), r1 = std::min<int64_t>(row + (int64_t)take, y0 + h);
                    for (int64_t r = r0; r < r1; r++) out.at((int)(col - x0), (int)(r - y0)) = 1;
                }
                p += take;
                left -= take;
            }
        }
        pos += n;
    }
    return out;
}

rle rle_from_top_left(const binary_mask &win, int h, int w) {
    const rle wr = mask_to_rle(win);
    const uint64_t wh = (uint64_t)win.height, below = (uint64_t)h - wh;
    rle r;
    r.height = h;
    r.width = w;
    uint64_t run = 0;
    bool ones = false;  // runs start with zeros
    auto push = [&](bool v, uint64_t n) {
        if (n == 0) return;
        if (v != ones) {
            r.counts.push_back((uint32_t)run);
            run = 0;
            ones = v;
        }
        run += n;
    };
    uint64_t row = 0;  // position inside the current window column
    for (size_t i = 0; i < wr.counts.size(); i++) {
        const bool v = i % 2 == 1;
        for (uint64_t left = wr.counts[i]; left > 0;) {
            const uint64_t take = std::min(left, wh - row);
            push(v, take);
            left -= take;
            row += take;
            if (row == wh) {
                push(false, below);
                row = 0;
            }
        }
    }
    push(false, (uint64_t)(w - win.width) * (uint64_t)h);
    r.counts.push_back((uint32_t)run);
    return r;
}

}  // namespace sam
