// png_encode.cpp - see png_encode.h.
#include "core/png_encode.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "core/zip_writer.h"  // crc32

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>

namespace sam {

namespace {

constexpr uint64_t k_max_pixels = 100000000ull;

status check_size(int width, int height) {
    if (width < 1 || height < 1 || (uint64_t)width * (uint64_t)height > k_max_pixels)
        return status::failure("png: image size " + std::to_string(width) + "x" + std::to_string(height) +
                               " must be 1..100 megapixels");
    return status::success();
}

void put32be(std::vector<uint8_t> &o, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) o.push_back((uint8_t)(v >> s));
}

void chunk(std::vector<uint8_t> &o, const char type[4], const uint8_t *data, size_t size) {
    put32be(o, (uint32_t)size);
    const size_t start = o.size();
    o.insert(o.end(), type, type + 4);
    if (size) o.insert(o.end(), data, data + size);
    put32be(o, crc32(o.data() + start, o.size() - start));
}

// One filtered scanline (bpp bytes per pixel): the filter among None, Sub and Up whose
// output has the smallest sum of absolute (signed) bytes, the usual PNG heuristic.
void filter_row(const uint8_t *row, const uint8_t *prev, size_t n, size_t bpp, std::vector<uint8_t> &out) {
    long best_cost = -1;
    uint8_t best_type = 0;
    std::vector<uint8_t> cand(n), best(n);
    for (uint8_t type = 0; type < 3; type++) {
        if (type == 2 && !prev) continue;
        long cost = 0;
        for (size_t i = 0; i < n; i++) {
            const uint8_t left = i >= bpp ? row[i - bpp] : 0, up = prev ? prev[i] : 0;
            cand[i] = (uint8_t)(row[i] - (type == 0 ? 0 : type == 1 ? left : up));
            cost += std::labs((long)(int8_t)cand[i]);
        }
        if (best_cost < 0 || cost < best_cost) best_cost = cost, best_type = type, best.swap(cand);
    }
    out.push_back(best_type);
    out.insert(out.end(), best.begin(), best.end());
}

}  // namespace

status png_encode_gray8(const uint8_t *pixels, int width, int height, std::vector<uint8_t> &out) {
    status st = check_size(width, height);
    if (!st) return st;
    int len = 0;
    unsigned char *png = stbi_write_png_to_mem(pixels, width, width, height, 1, &len);
    if (!png) return status::failure("png: out of memory encoding " + std::to_string(width) + "x" + std::to_string(height));
    out.assign(png, png + len);
    STBIW_FREE(png);
    return status::success();
}

status png_encode_gray16(const uint16_t *pixels, int width, int height, std::vector<uint8_t> &out) {
    status st = check_size(width, height);
    if (!st) return st;
    const size_t row_bytes = (size_t)width * 2;
    std::vector<uint8_t> filtered, cur(row_bytes), prev(row_bytes);
    filtered.reserve((row_bytes + 1) * (size_t)height);
    for (int y = 0; y < height; y++) {
        const uint16_t *src = pixels + (size_t)y * width;
        for (int x = 0; x < width; x++) cur[2 * (size_t)x] = (uint8_t)(src[x] >> 8), cur[2 * (size_t)x + 1] = (uint8_t)src[x];
        filter_row(cur.data(), y > 0 ? prev.data() : nullptr, row_bytes, 2, filtered);
        cur.swap(prev);
    }
    int zlen = 0;
    unsigned char *z = stbi_zlib_compress(filtered.data(), (int)filtered.size(), &zlen, stbi_write_png_compression_level);
    if (!z) return status::failure("png: out of memory compressing " + std::to_string(width) + "x" + std::to_string(height));
    static const uint8_t signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    out.assign(signature, signature + 8);
    std::vector<uint8_t> ihdr;
    put32be(ihdr, (uint32_t)width);
    put32be(ihdr, (uint32_t)height);
    ihdr.insert(ihdr.end(), {16, 0, 0, 0, 0});  // bit depth 16, greyscale, deflate, adaptive filters, no interlace
    chunk(out, "IHDR", ihdr.data(), ihdr.size());
    chunk(out, "IDAT", z, (size_t)zlen);
    chunk(out, "IEND", nullptr, 0);
    STBIW_FREE(z);
    return status::success();
}

}  // namespace sam
