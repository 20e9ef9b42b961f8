// zip_reader.h - the files of a ZIP archive held in memory, for archives people drop on
// the annotator (a zipped YOLO labels folder). Reads the central directory (ZIP64 end
// records too), then each entry's local header and data: stored (method 0) or deflated
// (method 8, inflated by stb_image's zlib decoder, built in image_decode_stb.cpp), its
// CRC-32 checked. Folders, encrypted entries and other methods are skipped with a note;
// sizes are bounded before anything is allocated. Hostile input: every offset is checked.
//   std::vector<sam::zip_entry> files; std::vector<std::string> notes;
//   sam::status st = sam::zip_read(bytes, n, "labels.zip", files, notes);  // files[i].name, .data
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace sam {

struct zip_entry {
    std::string name;           // as stored ('/'-separated, UTF-8 or CP437 as the archive has it)
    std::vector<uint8_t> data;  // uncompressed bytes
};

struct zip_read_options {
    size_t max_entries = 100000;
    uint64_t max_total_bytes = 512ull << 20;  // sum of uncompressed sizes
};

// True when the bytes start like a ZIP archive (a local header or an empty archive's end record).
bool is_zip(const uint8_t *bytes, size_t n);

// Fails (with `name` and the problem; `out` left empty) when the archive's directory cannot be read, an entry
// lies outside the bytes, inflates to another size or fails its CRC, or the limits are
// exceeded; entries it cannot read but may skip (folders, encryption, methods other than 0
// and 8) go to `notes` as "name: entry: why".
status zip_read(const uint8_t *bytes, size_t n, const std::string &name, std::vector<zip_entry> &out,
                std::vector<std::string> &notes, const zip_read_options &options = zip_read_options());

}  // namespace sam
