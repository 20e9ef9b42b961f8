#include "core/exif.h"

#include <cstring>

namespace sam {

namespace {

// Reads 16/32-bit TIFF integers in the file's byte order; callers bounds-check.
struct tiff_reader {
    const uint8_t *p;
    size_t n;
    bool big_endian;

    uint32_t u16(size_t at) const {
        return big_endian ? (uint32_t)(p[at] << 8 | p[at + 1]) : (uint32_t)(p[at] | p[at + 1] << 8);
    }
    uint32_t u32(size_t at) const {
        return big_endian ? ((uint32_t)p[at] << 24 | (uint32_t)p[at + 1] << 16 | (uint32_t)p[at + 2] << 8 | p[at + 3])
                          : ((uint32_t)p[at + 3] << 24 | (uint32_t)p[at + 2] << 16 | (uint32_t)p[at + 1] << 8 | p[at]);
    }
};

// Orientation from a TIFF structure (the APP1 payload after "Exif\0\0"); 0 if absent.
int tiff_orientation(const uint8_t *p, size_t n) {
    if (n < 8) return 0;
    tiff_reader r{p, n, false};
    if (p[0] == 'I' && p[1] == 'I')
        r.big_endian = false;
    else if (p[0] == 'M' && p[1] == 'M')
        r.big_endian = true;
    else
        return 0;
    if (r.u16(2) != 42) return 0;
    size_t ifd = r.u32(4);
    if (ifd < 8 || ifd > n || n - ifd < 2) return 0;
    size_t count = r.u16(ifd);
    size_t entries = ifd + 2;
    for (size_t i = 0; i < count; i++) {
        size_t e = entries + i * 12;
        if (e > n || n - e < 12) return 0;  // IFD runs past the segment
        if (r.u16(e) != 0x0112) continue;
        uint32_t type = r.u16(e + 2), values = r.u32(e + 4);
        if (values != 1) return 0;
        // SHORT is what the standard says; LONG appears in the wild. A single
        // value sits left-aligned in the 4-byte value field either way.
        if (type == 3) return (int)r.u16(e + 8);
        if (type == 4) return (int)r.u32(e + 8);
        return 0;
    }
    return 0;
}

}  // namespace

int exif_orientation(const uint8_t *jpeg, size_t n) {
    if (!jpeg || n < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return 1;
    size_t i = 2;
    while (i < n) {
        if (jpeg[i] != 0xFF) return 1;  // lost sync: not a marker where one must be
        while (i < n && jpeg[i] == 0xFF) i++;  // fill bytes
        if (i >= n) return 1;
        uint8_t marker = jpeg[i++];
        // EXIF comes before the image data: stop at start-of-scan or end-of-image.
        if (marker == 0xDA || marker == 0xD9) return 1;
        if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;  // no length field
        if (n - i < 2) return 1;
        size_t len = (size_t)jpeg[i] << 8 | jpeg[i + 1];
        if (len < 2 || len > n - i) return 1;
        const uint8_t *seg = jpeg + i + 2;
        size_t seg_n = len - 2;
        // PIL takes the first APP1 starting "Exif\0" and reads TIFF from byte 6.
        if (marker == 0xE1 && seg_n >= 6 && std::memcmp(seg, "Exif\0", 5) == 0) {
            int o = tiff_orientation(seg + 6, seg_n - 6);
            return o >= 1 && o <= 8 ? o : 1;
        }
        i += len;
    }
    return 1;
}

image_u8 apply_orientation(const image_u8 &img, int orientation) {
    if (orientation < 2 || orientation > 8) return img;
    const int w = img.width, h = img.height, c = img.channels;
    const bool swap = orientation >= 5;
    image_u8 out;
    out.width = swap ? h : w;
    out.height = swap ? w : h;
    out.channels = c;
    out.pixels.resize((size_t)w * h * c);
    for (int y = 0; y < out.height; y++) {
        for (int x = 0; x < out.width; x++) {
            int sx = x, sy = y;  // source pixel of output (x, y)
            switch (orientation) {
                case 2: sx = w - 1 - x; sy = y; break;
                case 3: sx = w - 1 - x; sy = h - 1 - y; break;
                case 4: sx = x; sy = h - 1 - y; break;
                case 5: sx = y; sy = x; break;
                case 6: sx = y; sy = h - 1 - x; break;
                case 7: sx = w - 1 - y; sy = h - 1 - x; break;
                case 8: sx = w - 1 - y; sy = x; break;
            }
            std::memcpy(out.at(x, y), img.at(sx, sy), (size_t)c);
        }
    }
    return out;
}

}  // namespace sam
