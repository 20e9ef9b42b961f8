#include "app/dataset.h"

#include <cstdio>

#include "app/messages.h"

namespace sam {

void add_error(app_messages &m, std::string message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    m.errors.push_back(std::move(message));
}

void add_image_error(app_messages &m, std::string message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    m.image_errors.push_back(std::move(message));
}

void add_notice(app_messages &m, std::string message) { m.notices.push_back(std::move(message)); }

const manifest_image *shown_entry(const dataset_state &d) {
    if (d.current < 0 || d.current >= (int)d.data.images.size()) return nullptr;
    return &d.data.images[(size_t)d.current];
}

bool is_local_url(const std::string &url) { return url.compare(0, 6, "local:") == 0; }

std::string resource_url(const dataset_state &d, const std::string &relative) {
    return is_local_url(relative) ? relative : url_resolve(d.manifest_url, relative);
}

void load_resource(const dataset_state &d, const std::string &url, fetch_callback done) {
    if (!is_local_url(url)) return platform_fetch(url, std::move(done));
    auto it = d.local_files.find(url);
    if (it == d.local_files.end()) return done(status::failure(url.substr(6) + ": not opened"), {});
    std::vector<uint8_t> copy = it->second;
    done(status::success(), std::move(copy));
}

std::string coco_file_name(const manifest_image &im) {
    for (const std::string prefix : {"images/", "local:"})
        if (im.file.compare(0, prefix.size(), prefix) == 0) return im.file.substr(prefix.size());
    return im.file;
}

}  // namespace sam
