#include "core/zip_reader.h"

#include <cstring>

#include "core/zip_writer.h"

// Declarations only: stb_image (and its zlib decoder) is compiled in image_decode_stb.cpp.
#include <stb_image.h>

namespace sam {

namespace {

constexpr uint32_t k_local = 0x04034b50, k_central = 0x02014b50, k_end = 0x06054b50;
constexpr uint32_t k_end64 = 0x06064b50, k_locator64 = 0x07064b50;

uint64_t le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

// [at, at + len) lies inside the n bytes.
bool fits(size_t n, uint64_t at, uint64_t len) { return at <= n && len <= n - at; }

// The ZIP64 extended information extra field (0x0001) replaces the 32-bit values that are 0xFFFFFFFF,
// in this order: uncompressed size, compressed size, local header offset.
bool apply_zip64_extra(const uint8_t *extra, size_t len, uint64_t &usize, uint64_t &csize, uint64_t &offset) {
    size_t i = 0;
    while (len - i >= 4) {
        const uint64_t id = le(extra + i, 2), size = le(extra + i + 2, 2);
        if (size > len - i - 4) return false;
        if (id == 1) {
            const uint8_t *f = extra + i + 4;
            size_t at = 0;
            for (uint64_t *v : {&usize, &csize, &offset}) {
                if (*v != 0xFFFFFFFFu) continue;
                if (size - at < 8) return false;
                *v = le(f + at, 8);
                at += 8;
            }
            return true;
        }
        i += 4 + (size_t)size;
    }
    return usize != 0xFFFFFFFFu && csize != 0xFFFFFFFFu && offset != 0xFFFFFFFFu;
}

}  // namespace

bool is_zip(const uint8_t *bytes, size_t n) {
    return n >= 4 && (le(bytes, 4) == k_local || (n == 22 && le(bytes, 4) == k_end));
}

status zip_read(const uint8_t *bytes, size_t n, const std::string &name, std::vector<zip_entry> &out,
                std::vector<std::string> &notes, const zip_read_options &options) {
    out.clear();
    // All or nothing: a failure leaves no entries behind.
    const auto fail = [&name, &out](const std::string &why) {
        out.clear();
        return status::failure(name + ": " + why);
    };
    if (n < 22) return fail("not a ZIP archive (too short)");
    // The end record sits in the last 22 + 65535 bytes (its comment is at most 65535 long).
    size_t eocd = n - 22;
    const size_t lowest = n > 22 + 65535 ? n - 22 - 65535 : 0;
    while (le(bytes + eocd, 4) != k_end || eocd + 22 + le(bytes + eocd + 20, 2) > n) {
        if (eocd == lowest) return fail("not a ZIP archive (no end of central directory record)");
        eocd--;
    }
    uint64_t count = le(bytes + eocd + 10, 2), cd_size = le(bytes + eocd + 12, 4), cd = le(bytes + eocd + 16, 4);
    if (le(bytes + eocd + 4, 2) != 0 || le(bytes + eocd + 6, 2) != 0) return fail("multi-volume archives are not supported");
    if (count == 0xFFFF || cd_size == 0xFFFFFFFFu || cd == 0xFFFFFFFFu) {
        if (eocd < 20 || le(bytes + eocd - 20, 4) != k_locator64) return fail("ZIP64 end record locator missing");
        const uint64_t rec = le(bytes + eocd - 12, 8);
        if (!fits(n, rec, 56) || le(bytes + rec, 4) != k_end64) return fail("ZIP64 end record missing or outside the file");
        count = le(bytes + rec + 32, 8);
        cd_size = le(bytes + rec + 40, 8);
        cd = le(bytes + rec + 48, 8);
    }
    if (!fits(n, cd, cd_size)) return fail("the central directory lies outside the file");
    if (count > options.max_entries)
        return fail(std::to_string(count) + " entries, more than the limit of " + std::to_string(options.max_entries));
    uint64_t total = 0;
    uint64_t p = cd;
    const uint64_t cd_end = cd + cd_size;
    for (uint64_t k = 0; k < count; ++k) {
        if (!fits((size_t)cd_end, p, 46) || le(bytes + p, 4) != k_central)
            return fail("central directory entry " + std::to_string(k) + " is malformed");
        const uint64_t flags = le(bytes + p + 8, 2), method = le(bytes + p + 10, 2), crc = le(bytes + p + 16, 4);
        uint64_t csize = le(bytes + p + 20, 4), usize = le(bytes + p + 24, 4);
        const uint64_t name_len = le(bytes + p + 28, 2), extra_len = le(bytes + p + 30, 2), comment_len = le(bytes + p + 32, 2);
        uint64_t offset = le(bytes + p + 42, 4);
        if (!fits((size_t)cd_end, p + 46, name_len + extra_len + comment_len))
            return fail("central directory entry " + std::to_string(k) + " runs past the directory");
        zip_entry e;
        e.name.assign((const char *)bytes + p + 46, (size_t)name_len);
        if (!apply_zip64_extra(bytes + p + 46 + name_len, (size_t)extra_len, usize, csize, offset))
            return fail(e.name + ": bad ZIP64 extra field");
        p += 46 + name_len + extra_len + comment_len;
        if (!e.name.empty() && e.name.back() == '/') continue;  // a folder
        if (flags & 1) {
            notes.push_back(name + ": " + e.name + ": encrypted; skipped");
            continue;
        }
        if (method != 0 && method != 8) {
            notes.push_back(name + ": " + e.name + ": compression method " + std::to_string(method) +
                            " not supported (only stored and deflated); skipped");
            continue;
        }
        if (usize > options.max_total_bytes - total || usize > 0x7FFFFFFF || csize > 0x7FFFFFFF)
            return fail(e.name + ": the archive unpacks to more than " +
                        std::to_string(options.max_total_bytes >> 20) + " MiB");
        total += usize;
        if (!fits(n, offset, 30) || le(bytes + offset, 4) != k_local)
            return fail(e.name + ": local header missing or outside the file");
        const uint64_t data = offset + 30 + le(bytes + offset + 26, 2) + le(bytes + offset + 28, 2);
        if (!fits(n, data, csize)) return fail(e.name + ": data runs past the end of the file (truncated archive?)");
        e.data.resize((size_t)usize);
        if (method == 0) {
            if (csize != usize) return fail(e.name + ": stored entry with differing sizes");
            if (usize) std::memcpy(e.data.data(), bytes + data, (size_t)usize);
        } else if (usize > 0) {
            // stb_image 2.27's inflate refuses a stream that ends with fewer than 16 bits left to
            // read (in PNG the zlib trailer follows, in ZIP nothing does): pad with zero bytes,
            // which a finished stream never reads as data.
            std::vector<uint8_t> padded(bytes + data, bytes + data + csize);
            padded.resize(padded.size() + 8, 0);
            const int got = stbi_zlib_decode_noheader_buffer((char *)e.data.data(), (int)usize,
                                                             (const char *)padded.data(), (int)padded.size());
            if (got != (int)usize) return fail(e.name + ": deflated data is corrupt or not " + std::to_string(usize) + " bytes");
        }
        if (crc32(e.data.data(), e.data.size()) != (uint32_t)crc) return fail(e.name + ": CRC-32 mismatch (corrupt archive)");
        out.push_back(std::move(e));
    }
    return status::success();
}

}  // namespace sam
