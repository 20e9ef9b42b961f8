// zip_writer.h - a store-only ZIP archive built in memory, so a browser download of many
// files (label texts, PNG masks) is one file. Entries are stored uncompressed (method 0):
// PNGs are already deflated and label texts are small. CRC-32 per entry (the PNG/zlib
// polynomial, also used by png_encode), UTF-8 names, fixed DOS timestamp (1980-01-01
// 00:00 unless given) so the same files give the same bytes, ZIP64 end records when
// there are more than 65535 entries or the central directory starts past 4 GiB.
//   sam::zip_writer z; z.add("yolo_seg/data.yaml", p, n); std::vector<uint8_t> zip = z.finish();
#pragma once
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"

namespace sam {

// CRC-32 (ISO 3309 / ITU-T V.42, as zlib's crc32): pass the previous result to continue.
uint32_t crc32(const uint8_t *data, size_t size, uint32_t crc = 0);

class zip_writer {
public:
    // dos_date/dos_time as in the ZIP headers: ((year-1980)<<9 | month<<5 | day), (h<<11 | m<<5 | s/2).
    explicit zip_writer(uint16_t dos_date = (1 << 5) | 1, uint16_t dos_time = 0) : date_(dos_date), time_(dos_time) {}

    // Refuses (archive unchanged) an empty name, one starting with '/', containing '\\',
    // a NUL byte or a "." or ".." part, a duplicate, or an entry of 4 GiB or more
    // (per-entry ZIP64 sizes are not written).
    status add(const std::string &name, const uint8_t *data, size_t size);
    size_t entries() const { return central_.size(); }

    // The archive: the entries, the central directory and the end records. The writer is
    // empty afterwards.
    std::vector<uint8_t> finish();

private:
    struct entry {
        std::string name;
        uint32_t crc = 0, size = 0;
        uint64_t offset = 0;
    };
    uint16_t date_, time_;
    std::vector<uint8_t> out_;
    std::vector<entry> central_;
    std::set<std::string> names_;
};

}  // namespace sam
