#include <nlohmann/json.hpp>

#include "app/annotator_parts.h"
#include "app/platform.h"
#include "core/coco_json.h"

namespace sam {

namespace {

std::string server_api_url(const annotator &app) {
    std::string url = absolute_url(app.manifest_url);
    return url.substr(0, url.find("/datasets/")) + "/api/annotations/" + app.server_dataset;
}

// The browser's autosave wins when there is one (it holds every local edit,
// saved to the server or not); otherwise the server's copy, if served.
void restore_from_store(annotator &app, bool has_server, const std::string &server_text, double server_version) {
    platform_store_get(app.storage_key, [&app, has_server, server_text, server_version](bool found, std::string text,
                                                                                         double based_on) {
        if (found) {
            size_t n = import_saved(app, text, "autosave");
            app.server_version = has_server ? (based_on >= 0 ? based_on : server_version) : -1;
            app.notices.push_back("Restored " + std::to_string(n) + " annotations from this browser's autosave");
        } else if (has_server) {
            size_t n = import_saved(app, server_text, "server annotations");
            app.server_version = server_version;
            if (n) app.notices.push_back("Loaded " + std::to_string(n) + " annotations from the server");
        }
        finish_restore(app);
    });
}

std::string url_encode(const std::string &v) {
    static const char *hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : v) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += (char)c;
        else out += std::string("%") + hex[c >> 4] + hex[c & 15];
    }
    return out;
}

}  // namespace

// A fresh document holding the manifest's images (not undoable: they are the dataset).
status reset_document(annotator &app) {
    app.doc = annotation_document();
    for (const manifest_image &im : app.dataset.images) {
        status st = app.doc.add_image(doc_image{im.id, coco_file_name(im), im.width, im.height});
        if (!st) return st;
    }
    app.doc.clear_history();
    app.selected_annotation = 0;
    app.overlay_dirty = true;
    return status::success();
}

std::string absolute_url(const std::string &url) { return platform_absolute_url(url); }

// scripts/serve serves datasets at /datasets/<name>/ and their annotations at
// /api/annotations/<name>; any other manifest URL has no server store.
std::string served_dataset_name(const std::string &manifest_url) {
    std::string url = absolute_url(manifest_url);
    size_t q = url.find_first_of("?#");
    if (q != std::string::npos) url.resize(q);
    const std::string marker = "/datasets/";
    size_t at = url.find(marker);
    if (at == std::string::npos) return {};
    size_t name_end = url.find('/', at + marker.size());
    if (name_end == std::string::npos || url.substr(name_end) != "/manifest.json") return {};
    return url.substr(at + marker.size(), name_end - at - marker.size());
}

// Adds a saved COCO text (autosave or server) to the document; returns annotations added.
size_t import_saved(annotator &app, const std::string &text, const std::string &source) {
    coco_import_options opt;
    opt.add_unknown_images = false;
    opt.match_base_name = true;
    coco_import_report rep;
    status st = coco_import(text, source, app.doc, rep, opt);
    if (!st) {
        add_error(app, "could not restore from " + source + ": " + st.message);
        return 0;
    }
    if (rep.annotations_skipped)
        app.notices.push_back(source + ": " + std::to_string(rep.annotations_skipped) +
                              " annotations on images not in this dataset were skipped");
    return rep.annotations_added;
}

void finish_restore(annotator &app) {
    ensure_category(app);
    app.doc.clear_history();
    app.restore_done = true;
    app.autosaved_revision = app.doc.revision();
    app.server_saved_revision = app.doc.revision();
    app.overlay_dirty = true;
}

// GET /api/annotations/<name>: the COCO text (without its "version") and the version.
void fetch_server_annotations(annotator &app, std::function<void(bool, const std::string &, double)> done) {
    http_request r;
    r.url = server_api_url(app);
    platform_http(r, [&app, done](int code, std::string body, std::string error) {
        using json = nlohmann::json;
        json j = json::parse(body, nullptr, false);
        if (code != 200 || j.is_discarded() || !j.is_object() || !j["version"].is_number()) {
            app.server_error = "server annotations unavailable: " +
                               (error.empty() ? "HTTP " + std::to_string(code) : error);
            return done(false, "", -1);
        }
        double version = j["version"].get<double>();
        j.erase("version");
        done(true, j.dump(), version);
    });
}

void start_restore(annotator &app) {
    app.restore_done = false;
    if (app.server_dataset.empty()) return restore_from_store(app, false, "", -1);
    http_request datasets;
    datasets.url = server_api_url(app).substr(0, server_api_url(app).find("/api/")) + "/api/datasets";
    platform_http(datasets, [&app](int code, std::string body, std::string) {
        nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
        app.server_embed = code == 200 && !j.is_discarded() && j.is_object() && j["embed"].is_boolean() &&
                           j["embed"].get<bool>();
    });
    fetch_server_annotations(app, [&app](bool ok, const std::string &text, double version) {
        if (!ok) app.server_dataset.clear();  // not saving where we cannot read
        restore_from_store(app, ok, text, version);
    });
}

void tick_persistence(annotator &app) {
    if (!app.restore_done) return;
    uint64_t rev = app.doc.revision();
    if (rev != app.autosaved_revision) {
        platform_store_put(app.storage_key, coco_export(app.doc, coco_lossless_options()), app.server_version);
        app.autosaved_revision = rev;
        app.autosave_count++;
    }
    if (app.server_dataset.empty() || !app.server_conflict.empty() || app.server_saving ||
        rev == app.server_saved_revision || platform_now_ms() < app.server_due_ms)
        return;
    using json = nlohmann::json;
    http_request r;
    r.method = "PUT";
    r.url = server_api_url(app);
    r.if_match = std::to_string((long long)app.server_version);
    std::string coco = coco_export(app.doc, coco_lossless_options());
    r.body = "{\"version\":" + r.if_match + ",\"coco\":" + coco + "}";
    app.server_saving = true;
    platform_http(r, [&app, rev, coco](int code, std::string body, std::string error) {
        app.server_saving = false;
        json j = json::parse(body, nullptr, false);
        double v = (!j.is_discarded() && j.is_object() && j["version"].is_number()) ? j["version"].get<double>() : -1;
        if (code == 200 && v >= 0) {
            app.server_version = v;
            app.server_saved_revision = rev;
            app.server_error.clear();
            platform_store_put(app.storage_key, coco, v);  // the autosave is now based on v
        } else if (code == 409) {
            std::string msg = (!j.is_discarded() && j.is_object() && j["error"].is_string()) ? j["error"].get<std::string>() : body;
            app.server_conflict = "The server's annotations changed (version " + std::to_string((long long)v) +
                                  "); yours are kept in this browser. " + msg;
            app.server_conflict_version = v;
        } else {
            app.server_error = "saving to the server failed: " +
                               (error.empty() ? "HTTP " + std::to_string(code) + " " + body.substr(0, 200) : error);
            app.server_due_ms = platform_now_ms() + 5000;  // retry later
        }
    });
}

// scripts/serve --encoder embeds a dropped image into the served dataset
// (POST /api/embed); the new manifest entry joins the image list and opens.
void upload_for_embedding(annotator &app, const std::string &name, std::vector<uint8_t> bytes) {
    http_request r;
    r.method = "POST";
    std::string api = server_api_url(app);
    r.url = api.substr(0, api.find("/api/")) + "/api/embed?dataset=" + app.server_dataset + "&name=" + url_encode(name);
    r.content_type = "application/octet-stream";
    r.body_bytes = std::move(bytes);
    app.notices.push_back("Embedding " + name + " on the server...");
    platform_http(r, [&app, name](int code, std::string body, std::string error) {
        nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
        if (code != 200 || j.is_discarded() || !j.is_object() || !j["id"].is_number_integer() ||
            !j["file"].is_string() || !j["embedding"].is_string() || !j["width"].is_number_integer() ||
            !j["height"].is_number_integer()) {
            std::string why = !error.empty() ? error
                              : (!j.is_discarded() && j.is_object() && j["error"].is_string())
                                  ? j["error"].get<std::string>()
                                  : "HTTP " + std::to_string(code);
            return add_error(app, name + ": the server could not embed it: " + why);
        }
        manifest_image e{j["id"].get<int>(), j["file"].get<std::string>(), j["width"].get<int>(),
                         j["height"].get<int>(), j["sha256"].is_string() ? j["sha256"].get<std::string>() : "",
                         j["embedding"].get<std::string>(), "float32"};
        int index = -1;
        for (size_t i = 0; i < app.dataset.images.size(); ++i)
            if (app.dataset.images[i].id == e.id) index = (int)i;
        if (index < 0) {
            app.dataset.images.push_back(e);
            index = (int)app.dataset.images.size() - 1;
        }
        if (!app.doc.find_image(e.id)) {
            status st = app.doc.add_image(doc_image{e.id, coco_file_name(e), e.width, e.height});
            if (!st) return add_error(app, name + ": " + st.message);
        }
        app.notices.push_back("Embedded " + name + " on the server");
        annotator_open_image(app, index);
    });
}

}  // namespace sam
