// zip_reader: numpy's deflated .npz archives of ../shared/sam-reference read back equal to
// what CMake's own unpacker (libarchive) made of them; zip_writer's archives (stored,
// ZIP64) round-trip; damaged archives fail with the file and the entry named; entries
// that cannot be read but may be skipped become notes.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/zip_reader.h"
#include "core/zip_writer.h"
#include "reference_data.h"

namespace {

std::vector<uint8_t> bytes_of(const std::string &s) { return std::vector<uint8_t>(s.begin(), s.end()); }

sam::status read(const std::vector<uint8_t> &z, std::vector<sam::zip_entry> &out, std::vector<std::string> &notes,
                 const sam::zip_read_options &o = {}) {
    return sam::zip_read(z.data(), z.size(), "t.zip", out, notes, o);
}

// Offset of the first central directory header (we write no archive comment).
size_t central_dir(const std::vector<uint8_t> &z) {
    const size_t e = z.size() - 22;
    return (size_t)z[e + 16] | (size_t)z[e + 17] << 8 | (size_t)z[e + 18] << 16 | (size_t)z[e + 19] << 24;
}

}  // namespace

TEST_CASE("zip_reader: numpy's deflated .npz files equal libarchive's unpacking") {
    for (const char *npz : {"coco_rle/masks", "decoder/decoder_io", "preprocess/preprocess"}) {
        const std::string folder = std::string(npz).substr(std::string(npz).find('/') + 1);
        const std::vector<uint8_t> z = read_file_bytes(std::string(SAM_REFERENCE_DIR) + "/" + npz + ".npz");
        CHECK(sam::is_zip(z.data(), z.size()));
        std::vector<sam::zip_entry> files;
        std::vector<std::string> notes;
        const sam::status st = read(z, files, notes);
        REQUIRE_MESSAGE(st.ok(), st.message);
        CHECK(notes.empty());
        REQUIRE(files.size() > 1);
        size_t bytes = 0;
        for (const sam::zip_entry &e : files) {
            CHECK(e.data == read_file_bytes(std::string(SAM_REFERENCE_NPY_DIR) + "/" + folder + "/" + e.name));
            bytes += e.data.size();
        }
        MESSAGE(std::string(npz) << ".npz: " << files.size() << " deflated entries, " << bytes << " bytes");
    }
}

TEST_CASE("zip_reader: zip_writer's archives round-trip, ZIP64 included") {
    sam::zip_writer w;
    REQUIRE(w.add("labels/a.txt", (const uint8_t *)"0 0.1 0.1 0.5 0.1 0.5 0.5\n", 26).ok());
    REQUIRE(w.add("empty.txt", nullptr, 0).ok());
    const std::vector<uint8_t> z = w.finish();
    std::vector<sam::zip_entry> files;
    std::vector<std::string> notes;
    REQUIRE(read(z, files, notes).ok());
    REQUIRE(files.size() == 2);
    CHECK(files[0].name == "labels/a.txt");
    CHECK(std::string(files[0].data.begin(), files[0].data.end()) == "0 0.1 0.1 0.5 0.1 0.5 0.5\n");
    CHECK(files[1].data.empty());

    sam::zip_writer big;
    for (int i = 0; i < 66000; i++) REQUIRE(big.add("f/" + std::to_string(i), (const uint8_t *)"x", 1).ok());
    const std::vector<uint8_t> z64 = big.finish();
    REQUIRE(read(z64, files, notes).ok());
    CHECK(files.size() == 66000);
    CHECK(files.back().name == "f/65999");
    // the entry limit is checked before anything is read
    sam::zip_read_options o;
    o.max_entries = 1000;
    const sam::status st = read(z64, files, notes, o);
    CHECK_FALSE(st.ok());
    CHECK(st.message == "t.zip: 66000 entries, more than the limit of 1000");
}

TEST_CASE("zip_reader: damaged archives fail naming the file and the entry") {
    sam::zip_writer w;
    REQUIRE(w.add("a.txt", (const uint8_t *)"hello", 5).ok());
    const std::vector<uint8_t> good = w.finish();
    std::vector<sam::zip_entry> files;
    std::vector<std::string> notes;

    sam::status st = read(bytes_of("just some text, not an archive at all"), files, notes);
    CHECK(st.message == "t.zip: not a ZIP archive (no end of central directory record)");
    CHECK_FALSE(sam::is_zip((const uint8_t *)"text", 4));

    std::vector<uint8_t> crc = good;
    crc[30 + 5] ^= 1;  // a byte of the data ("hello" after the 30-byte header and the name)
    st = read(crc, files, notes);
    CHECK(st.message == "t.zip: a.txt: CRC-32 mismatch (corrupt archive)");

    std::vector<uint8_t> cut(good.begin() + 10, good.end());  // the local header's offset is now wrong
    st = read(cut, files, notes);
    CHECK_FALSE(st.ok());
    CHECK(st.message.rfind("t.zip: ", 0) == 0);

    std::vector<uint8_t> huge = good;
    const size_t cd = central_dir(huge);
    for (int i = 0; i < 4; i++) huge[cd + 24 + i] = 0xEE;  // uncompressed size ~4 GB
    st = read(huge, files, notes);
    CHECK(st.message == "t.zip: a.txt: the archive unpacks to more than 512 MiB");
}

TEST_CASE("zip_reader: encrypted entries and unknown methods are skipped with a note") {
    sam::zip_writer w;
    REQUIRE(w.add("secret.txt", (const uint8_t *)"x", 1).ok());
    REQUIRE(w.add("bz.txt", (const uint8_t *)"y", 1).ok());
    REQUIRE(w.add("plain.txt", (const uint8_t *)"z", 1).ok());
    std::vector<uint8_t> z = w.finish();
    size_t cd = central_dir(z);
    z[cd + 8] |= 1;  // encrypted
    cd += 46 + 10;   // the next entry (name "secret.txt", no extra field or comment)
    z[cd + 10] = 12;  // bzip2
    std::vector<sam::zip_entry> files;
    std::vector<std::string> notes;
    REQUIRE(read(z, files, notes).ok());
    REQUIRE(files.size() == 1);
    CHECK(files[0].name == "plain.txt");
    CHECK(notes == std::vector<std::string>{"t.zip: secret.txt: encrypted; skipped",
                                            "t.zip: bz.txt: compression method 12 not supported (only stored and "
                                            "deflated); skipped"});
}
