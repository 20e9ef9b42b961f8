// image_decode.cpp - file type, header size, the pixel limit, EXIF; the pixel
// decoders themselves are in image_decode_{libjpeg,libpng,stb}.cpp.
#include "core/image_decode.h"

#include <climits>
#include <cstring>

#include "core/exif.h"
#include "core/image_codecs.h"

namespace sam {

namespace {

uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
uint32_t le16(const uint8_t *p) { return (uint32_t)p[1] << 8 | p[0]; }
uint32_t le32(const uint8_t *p) { return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; }

bool starts_with(const uint8_t *b, size_t n, const char *magic, size_t m, size_t at = 0) {
    return n >= at + m && std::memcmp(b + at, magic, m) == 0;
}

bool is_sof(uint8_t m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }

}  // namespace

// Walks JPEG segments. Finds the frame size (SOFn) and whether the file reaches
// its end-of-image marker: decoders report a cut-off file vaguely ("expected
// marker", or a warning and grey rows), and users should be told it is truncated.
jpeg_scan scan_jpeg(const uint8_t *b, size_t n) {
    jpeg_scan r;
    if (n < 4 || b[0] != 0xFF || b[1] != 0xD8) return r;
    size_t i = 2;
    while (i < n) {
        if (b[i] != 0xFF) return r;
        while (i < n && b[i] == 0xFF) i++;
        if (i >= n) return r;
        uint8_t m = b[i++];
        if (m == 0xD9) {
            r.complete = true;
            return r;
        }
        if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) continue;
        if (n - i < 2) return r;
        size_t len = be16(b + i);
        if (len < 2 || len > n - i) return r;
        if (m == 0xC4) {
            // DHT: tables of 1 class/id byte, 16 code counts, then the codes. stb reads
            // tables until the segment length is used up, past the segment's end if the
            // counts say so, and only then fails: so a segment the tables do not fill
            // exactly is refused too, as stb would refuse it after reading beyond it.
            size_t t = i + 2, end = i + len;
            while (t < end) {
                if (end - t < 17) {
                    r.bad_huffman = true;
                    break;
                }
                size_t codes = 0;
                for (int k = 1; k <= 16; k++) codes += b[t + k];
                if (codes > 256 || end - t - 17 < codes) {
                    r.bad_huffman = true;
                    break;
                }
                t += 17 + codes;
            }
        }
        if (is_sof(m) && len >= 7 && !r.have_size) {
            r.height = (int)be16(b + i + 3);
            r.width = (int)be16(b + i + 5);
            r.have_size = true;
        }
        i += len;
        if (m == 0xDA) {
            // Entropy-coded data: runs to the next marker that is neither a
            // stuffed 0xFF00 nor a restart marker.
            for (;;) {
                const void *ff = i < n ? std::memchr(b + i, 0xFF, n - i) : nullptr;
                if (!ff) return r;
                i = (size_t)((const uint8_t *)ff - b);
                size_t j = i + 1;
                while (j < n && b[j] == 0xFF) j++;
                if (j >= n) return r;
                if (b[j] == 0x00 || (b[j] >= 0xD0 && b[j] <= 0xD7)) {
                    i = j + 1;
                    continue;
                }
                i = j - 1;  // b[i] == 0xFF starts the next marker
                break;
            }
        }
    }
    return r;
}

namespace {

const char *type_label(const std::string &type) {
    if (type == "jpeg") return "JPEG";
    if (type == "png") return "PNG";
    if (type == "gif") return "GIF";
    if (type == "bmp") return "BMP";
    return "image";
}

}  // namespace

status sniff_image_type(const uint8_t *b, size_t n, std::string &type, const std::string &name) {
    type.clear();
    if (!b || n == 0) return status::failure(name + ": empty file, not an image");
    if (starts_with(b, n, "\xFF\xD8\xFF", 3))
        type = "jpeg";
    else if (starts_with(b, n, "\x89PNG\r\n\x1A\n", 8))
        type = "png";
    else if (starts_with(b, n, "GIF87a", 6) || starts_with(b, n, "GIF89a", 6))
        type = "gif";
    else if (starts_with(b, n, "BM", 2) && n >= 26)
        type = "bmp";
    if (!type.empty()) return status::success();

    const char *known = nullptr;
    if (starts_with(b, n, "RIFF", 4) && starts_with(b, n, "WEBP", 4, 8))
        known = "WebP";
    else if (starts_with(b, n, "ftyp", 4, 4) && (starts_with(b, n, "avif", 4, 8) || starts_with(b, n, "avis", 4, 8)))
        known = "AVIF";
    else if (starts_with(b, n, "ftyp", 4, 4))
        known = "HEIC/HEIF";
    else if (starts_with(b, n, "II*\0", 4) || starts_with(b, n, "MM\0*", 4))
        known = "TIFF";
    if (known) return status::failure(name + ": " + known + " images are not supported (use JPEG or PNG)");
    return status::failure(name + ": not a JPEG, PNG, GIF or BMP image (unrecognised file signature)");
}

status probe_image_size(const uint8_t *b, size_t n, const std::string &name, int &width, int &height) {
    std::string type;
    status st = sniff_image_type(b, n, type, name);
    if (!st) return st;
    uint64_t w = 0, h = 0;
    if (type == "png") {
        if (n < 24 || std::memcmp(b + 12, "IHDR", 4) != 0)
            return status::failure(name + ": corrupt PNG (no IHDR header)");
        w = be32(b + 16);
        h = be32(b + 20);
    } else if (type == "jpeg") {
        jpeg_scan s = scan_jpeg(b, n);
        if (!s.have_size) return status::failure(name + ": corrupt or truncated JPEG (no frame header)");
        w = (uint64_t)s.width;
        h = (uint64_t)s.height;
    } else if (type == "gif") {
        if (n < 10) return status::failure(name + ": truncated GIF header");
        w = le16(b + 6);
        h = le16(b + 8);
    } else {  // bmp
        uint32_t header = le32(b + 14);
        if (header == 12) {
            w = le16(b + 18);
            h = le16(b + 20);
        } else {
            int32_t sw = (int32_t)le32(b + 18), sh = (int32_t)le32(b + 22);  // height < 0: top-down rows
            w = sw < 0 ? 0 : (uint64_t)sw;
            h = sh < 0 ? (uint64_t)(-(int64_t)sh) : (uint64_t)sh;
        }
    }
    if (w == 0 || h == 0) return status::failure(name + ": " + type_label(type) + " header gives an empty image (" +
                                                 std::to_string(w) + "x" + std::to_string(h) + ")");
    if (w > INT_MAX || h > INT_MAX) return status::failure(name + ": corrupt " + std::string(type_label(type)) + " header (" +
                                                           std::to_string(w) + "x" + std::to_string(h) + ")");
    width = (int)w;
    height = (int)h;
    return status::success();
}

bool image_codec_available(image_codec codec) {
#if SAM_HAVE_LIBJPEG
    (void)codec;
    return true;
#else
    return codec == image_codec::stb;
#endif
}

status decode_image(const uint8_t *bytes, size_t n, const std::string &name, image_u8 &out, const decode_options &opt) {
    std::string type;
    status st = sniff_image_type(bytes, n, type, name);
    if (!st) return st;
    const std::string label = type_label(type);
    if (n > (size_t)INT_MAX) return status::failure(name + ": file too large (" + std::to_string(n) + " bytes)");
    if (!image_codec_available(opt.codec))
        return status::failure(name + ": this build has no libjpeg-turbo decoder (decode_options.codec)");

    // Our own header read first: decoders refuse very large images with a bare
    // "too large", and we want to say how large.
    int w = 0, h = 0;
    st = probe_image_size(bytes, n, name, w, h);
    if (!st) return st;
    if ((uint64_t)w * (uint64_t)h > opt.max_pixels)
        return status::failure(name + ": image is " + std::to_string(w) + "x" + std::to_string(h) + " (" +
                               std::to_string((uint64_t)w * h) + " pixels), more than the limit of " +
                               std::to_string(opt.max_pixels) + " pixels");
    if (type == "jpeg" && !scan_jpeg(bytes, n).complete)
        return status::failure(name + ": truncated JPEG (the file ends before its end-of-image marker)");

    image_u8 img;
#if SAM_HAVE_LIBJPEG
    if (opt.codec == image_codec::system && type == "jpeg")
        st = decode_with_libjpeg(bytes, n, name, opt.max_pixels, img);
    else
#endif
#if SAM_HAVE_LIBPNG
    if (opt.codec == image_codec::system && type == "png")
        st = decode_with_libpng(bytes, n, name, opt.max_pixels, img);
    else
#endif
        st = decode_with_stb(bytes, n, name, type, label, opt.max_pixels, img);
    if (!st) return st;

    int orientation = opt.apply_exif && type == "jpeg" ? exif_orientation(bytes, n) : 1;
    out = orientation == 1 ? std::move(img) : apply_orientation(img, orientation);
    return status::success();
}

}  // namespace sam
