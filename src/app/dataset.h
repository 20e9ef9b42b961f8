// dataset.h - the images being annotated and the shown one: the manifest (or the
// one-image session of a dropped image + .npy), the shown image's pixels
// (full resolution, EXIF-oriented, as decoded) and whether its embedding has reached
// the decoder. Files are fetched relative to the manifest; "local:<name>" URLs are
// files the user opened or dropped, kept in memory.
//   dataset_state d; load_resource(d, resource_url(d, entry.file), done);
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "app/manifest.h"
#include "app/platform.h"
#include "core/image.h"

namespace sam {

struct dataset_state {
    std::string manifest_url;  // "" = none (the open-files screen); "local:" = local files
    std::string decoder_url;   // ?decoder=<onnx>: forces ONNX Runtime Web with that file
    manifest data;
    bool manifest_loaded = false;
    int current = -1;          // index into data.images
    int load_generation = 0;   // bumps on image switch; stale fetch callbacks compare it
    image_u8 image;
    uint64_t image_revision = 0;  // bumps when `image` holds new pixels (the renderer uploads them)
    bool image_ready = false;
    uint64_t embedding_id = 0;    // the decoder's set_image id of the shown image
    bool embedding_ready = false;
    bool embedding_failed = false;  // the decoder refused it (the error is shown once)
    bool server_embed = false;    // scripts/serve --encoder: POST /api/embed embeds dropped images

    std::map<std::string, std::vector<uint8_t>> local_files;  // "local:<name>" -> bytes
};

const manifest_image *shown_entry(const dataset_state &d);
bool is_local_url(const std::string &url);
// A dataset path as a URL: local files by their "local:" name, the rest against the manifest.
std::string resource_url(const dataset_state &d, const std::string &relative);
// platform_fetch, or the bytes of a local file.
void load_resource(const dataset_state &d, const std::string &url, fetch_callback done);
// COCO file_name of a manifest image: its path inside images/ ("images/a/b.jpg" -> "a/b.jpg").
std::string coco_file_name(const manifest_image &im);

}  // namespace sam
