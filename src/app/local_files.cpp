#include "app/local_files.h"

#include <algorithm>
#include <cctype>

#include "core/zip_reader.h"

namespace sam {

namespace {

std::string lower(std::string s) {
    for (char &c : s) c = (char)std::tolower((unsigned char)c);
    return s;
}

bool ends_with(const std::string &s, const std::string &suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string base_name(const std::string &path) {
    const size_t slash = path.find_last_of("/\\");
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::string file_stem(const std::string &path) {
    const std::string b = base_name(path);
    const size_t dot = b.rfind('.');
    return dot == std::string::npos || dot == 0 ? b : b.substr(0, dot);
}

local_kind local_file_kind(const std::string &name, const std::vector<uint8_t> &bytes) {
    const std::string n = lower(name), base = base_name(n);
    if (base.empty() || base[0] == '.') return local_kind::other;  // .DS_Store and the like in a dropped folder
    if (ends_with(n, ".zip") || is_zip(bytes.data(), bytes.size())) return local_kind::zip;
    if (ends_with(n, ".npy")) return local_kind::embedding;
    if (ends_with(n, ".json")) return local_kind::coco_json;
    if (ends_with(n, ".yaml") || ends_with(n, ".yml")) return local_kind::data_yaml;
    if (base == "classes.txt" || ends_with(n, ".names")) return local_kind::class_names;
    if (ends_with(n, ".txt")) return local_kind::labels_txt;
    for (const char *skip : {".md", ".csv", ".cache", ".py", ".html"})
        if (ends_with(n, skip)) return local_kind::other;
    return local_kind::image;
}

namespace {

// The most whitespace-separated tokens on a line that is not blank or a # comment (-1: no such line).
int most_tokens_on_a_line(const std::string &text) {
    int most = -1;
    size_t at = 0;
    while (at < text.size()) {
        size_t end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        int tokens = 0;
        bool in_token = false, comment = false;
        for (size_t i = at; i < end; ++i) {
            const unsigned char c = (unsigned char)text[i];
            if (!in_token && tokens == 0 && c == '#') comment = true;
            const bool space = std::isspace(c) != 0;
            if (!space && !in_token) tokens++;
            in_token = !space;
        }
        if (!comment && tokens > 0) most = std::max(most, tokens);
        at = end + 1;
    }
    return most;
}

}  // namespace

bool is_yolo_segmentation_text(const std::string &text) { return most_tokens_on_a_line(text) > 6; }

bool has_label_lines(const std::string &text) { return most_tokens_on_a_line(text) > 0; }

std::string label_path_in_folder(const std::string &path) {
    std::string p = path;
    std::replace(p.begin(), p.end(), '\\', '/');
    for (size_t at = p.size(); at != std::string::npos && at > 0;) {
        const size_t found = p.rfind("labels/", at - 1);
        if (found == std::string::npos) break;
        if (found == 0 || p[found - 1] == '/') return p.substr(found + 7);
        at = found;
    }
    return p;
}

local_plan local_files_plan(local_files_state &s, bool can_encode) {
    local_plan plan;
    std::vector<std::string> images, embeddings = s.embeddings;
    for (const std::string &im : s.images) {
        auto npy = std::find_if(embeddings.begin(), embeddings.end(),
                                [&im](const std::string &e) { return file_stem(e) == file_stem(im); });
        if (npy == embeddings.end()) {
            images.push_back(im);
            continue;
        }
        plan.pairs.emplace_back(im, *npy);
        embeddings.erase(npy);
    }
    // One image and one embedding of different names: opened together, as they always were.
    if (images.size() == 1 && embeddings.size() == 1) {
        plan.pairs.emplace_back(images[0], embeddings[0]);
        images.clear();
        embeddings.clear();
    }
    if (can_encode) {
        plan.encode = images;
        images.clear();
    }
    s.images = images;
    s.embeddings = embeddings;
    return plan;
}

}  // namespace sam
