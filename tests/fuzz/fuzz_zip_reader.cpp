// libFuzzer target: the ZIP reader on arbitrary bytes (what a person may drop on the
// annotator as a labels archive). Nothing may crash, read out of bounds or allocate
// beyond the limits; an archive it accepts holds entries whose sizes sum within the
// limit, and writing those entries again with zip_writer reads back equal.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/zip_reader.h"
#include "core/zip_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 20) return 0;
    sam::zip_read_options o;
    o.max_entries = 4096;
    o.max_total_bytes = 16u << 20;
    std::vector<sam::zip_entry> files;
    std::vector<std::string> notes;
    const sam::status st = sam::zip_read(data, size, "fuzz.zip", files, notes, o);
    if (!st.ok()) {
        if (st.message.compare(0, 10, "fuzz.zip: ") != 0 || !files.empty()) {
            std::fprintf(stderr, "refused with %zu entries left, or a message not naming the file: %s\n", files.size(),
                         st.message.c_str());
            std::abort();
        }
        return 0;
    }
    uint64_t total = 0;
    sam::zip_writer w;
    std::vector<const sam::zip_entry *> written;
    for (const sam::zip_entry &e : files) {
        total += e.data.size();
        if (w.add(e.name, e.data.data(), e.data.size()).ok()) written.push_back(&e);
    }
    if (files.size() > o.max_entries || total > o.max_total_bytes) std::abort();
    const std::vector<uint8_t> again = w.finish();
    std::vector<sam::zip_entry> back;
    if (!sam::zip_read(again.data(), again.size(), "again.zip", back, notes).ok() || back.size() != written.size()) std::abort();
    for (size_t i = 0; i < back.size(); i++)
        if (back[i].name != written[i]->name || back[i].data != written[i]->data) std::abort();
    return 0;
}
