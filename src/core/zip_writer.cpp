// zip_writer.cpp - see zip_writer.h. Layout per PKWARE APPNOTE 6.3: local header + data per
// entry, then the central directory, [ZIP64 end record + locator], end record.
#include "core/zip_writer.h"

#include <array>

namespace sam {

namespace {

std::array<uint32_t, 256> crc_table() {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}

void put16(std::vector<uint8_t> &o, uint32_t v) {
    o.push_back((uint8_t)v);
    o.push_back((uint8_t)(v >> 8));
}
void put32(std::vector<uint8_t> &o, uint32_t v) {
    put16(o, v & 0xFFFF);
    put16(o, v >> 16);
}
void put64(std::vector<uint8_t> &o, uint64_t v) {
    put32(o, (uint32_t)v);
    put32(o, (uint32_t)(v >> 32));
}

constexpr uint16_t k_utf8_names = 0x0800;  // general purpose flag bit 11
constexpr uint16_t k_unix = 3 << 8;         // "version made by": external attributes are Unix modes
constexpr uint32_t k_regular_file_0644 = 0100644u << 16;

}  // namespace

uint32_t crc32(const uint8_t *data, size_t size, uint32_t crc) {
    static const std::array<uint32_t, 256> table = crc_table();
    crc = ~crc;
    for (size_t i = 0; i < size; i++) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

status zip_writer::add(const std::string &name, const uint8_t *data, size_t size) {
    if (name.empty() || name.size() > 0xFFFF) return status::failure("zip: entry name must be 1..65535 bytes");
    if (name[0] == '/' || name.find('\\') != std::string::npos || name.find('\0') != std::string::npos)
        return status::failure("zip: " + name + ": entry names are relative '/'-separated paths");
    for (size_t a = 0; a <= name.size();) {
        size_t b = name.find('/', a);
        if (b == std::string::npos) b = name.size();
        const std::string part = name.substr(a, b - a);
        if (part.empty() || part == "." || part == "..")
            return status::failure("zip: " + name + ": empty, \".\" or \"..\" path part");
        a = b + 1;
    }
    if ((uint64_t)size >= 0xFFFFFFFFull) return status::failure("zip: " + name + ": entries of 4 GiB or more are not supported");
    if (!names_.insert(name).second) return status::failure("zip: " + name + ": duplicate entry");

    entry e;
    e.name = name;
    e.crc = crc32(data, size);
    e.size = (uint32_t)size;
    e.offset = out_.size();
    put32(out_, 0x04034b50);
    put16(out_, 20);  // version needed: 2.0 (stored); the offset's ZIP64 field lives only in the central entry
    put16(out_, k_utf8_names);
    put16(out_, 0);  // method: stored
    put16(out_, time_);
    put16(out_, date_);
    put32(out_, e.crc);
    put32(out_, e.size);  // compressed = uncompressed
    put32(out_, e.size);
    put16(out_, (uint32_t)name.size());
    put16(out_, 0);  // no extra field
    out_.insert(out_.end(), name.begin(), name.end());
    if (size) out_.insert(out_.end(), data, data + size);
    central_.push_back(std::move(e));
    return status::success();
}

std::vector<uint8_t> zip_writer::finish() {
    const uint64_t cd_offset = out_.size();
    for (const entry &e : central_) {
        const bool far = e.offset >= 0xFFFFFFFFull;
        put32(out_, 0x02014b50);
        put16(out_, k_unix | (far ? 45 : 20));
        put16(out_, far ? 45 : 20);
        put16(out_, k_utf8_names);
        put16(out_, 0);
        put16(out_, time_);
        put16(out_, date_);
        put32(out_, e.crc);
        put32(out_, e.size);
        put32(out_, e.size);
        put16(out_, (uint32_t)e.name.size());
        put16(out_, far ? 12 : 0);  // extra: ZIP64 field with the offset only
        put16(out_, 0);             // comment
        put16(out_, 0);             // disk
        put16(out_, 0);             // internal attributes
        put32(out_, k_regular_file_0644);
        put32(out_, far ? 0xFFFFFFFFu : (uint32_t)e.offset);
        out_.insert(out_.end(), e.name.begin(), e.name.end());
        if (far) {
            put16(out_, 0x0001);
            put16(out_, 8);
            put64(out_, e.offset);
        }
    }
    const uint64_t cd_size = out_.size() - cd_offset, n = central_.size();
    const bool zip64 = n > 0xFFFF || cd_offset >= 0xFFFFFFFFull || cd_size >= 0xFFFFFFFFull;
    if (zip64) {
        const uint64_t record = out_.size();
        put32(out_, 0x06064b50);
        put64(out_, 44);  // size of the rest of this record
        put16(out_, k_unix | 45);
        put16(out_, 45);
        put32(out_, 0);
        put32(out_, 0);
        put64(out_, n);
        put64(out_, n);
        put64(out_, cd_size);
        put64(out_, cd_offset);
        put32(out_, 0x07064b50);  // locator
        put32(out_, 0);
        put64(out_, record);
        put32(out_, 1);
    }
    put32(out_, 0x06054b50);
    put16(out_, 0);
    put16(out_, 0);
    // Only the fields that overflow say "see the ZIP64 record" (-1).
    put16(out_, n > 0xFFFF ? 0xFFFF : (uint32_t)n);
    put16(out_, n > 0xFFFF ? 0xFFFF : (uint32_t)n);
    put32(out_, cd_size >= 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)cd_size);
    put32(out_, cd_offset >= 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)cd_offset);
    put16(out_, 0);  // comment length
    std::vector<uint8_t> done;
    done.swap(out_);
    central_.clear();
    names_.clear();
    return done;
}

}  // namespace sam
