#include "app/server_sync.h"

#include <cctype>
#include <nlohmann/json.hpp>

#include "app/messages.h"
#include "core/coco_json.h"

namespace sam {

namespace {

using json = nlohmann::json;
const char *k_image_prefix = "image:";

std::string error_of(const json &j, const std::string &body) {
    return (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string())
               ? j["error"].get<std::string>()
               : body.substr(0, 200);
}

double version_of(const json &j) {
    return (!j.is_discarded() && j.is_object() && j.contains("version") && j["version"].is_number())
               ? j["version"].get<double>()
               : -1;
}

std::string version_text(double v) { return std::to_string((long long)(v < 0 ? 0 : v)); }

// GET index answered: now the assembled document, its annotations grouped per image.
void fetch_assembled(server_sync_state &s, server_snapshot snap, std::function<void(server_snapshot)> done) {
    platform_http(server_request(s, "GET", s.api), [snap, done](int code, std::string body, std::string error) mutable {
        json j = json::parse(body, nullptr, false);
        if (code != 200 || j.is_discarded() || !j.is_object()) {
            snap.error = error.empty() ? "HTTP " + std::to_string(code) : error;
            return done(std::move(snap));
        }
        std::map<int64_t, std::string> names;  // image id -> unit
        if (j.contains("images") && j["images"].is_array())
            for (const json &im : j["images"])
                if (im.is_object() && im.contains("id") && im["id"].is_number_integer() && im.contains("file_name") &&
                    im["file_name"].is_string())
                    names[im["id"].get<int64_t>()] = image_unit_name(im["file_name"].get<std::string>());
        std::map<std::string, json> grouped;
        if (j.contains("annotations") && j["annotations"].is_array())
            for (const json &a : j["annotations"]) {
                if (!a.is_object() || !a.contains("image_id") || !a["image_id"].is_number_integer()) continue;
                auto it = names.find(a["image_id"].get<int64_t>());
                if (it == names.end()) continue;
                json &unit = grouped[it->second];
                if (unit.is_null()) unit = json::array();
                unit.push_back(a);
            }
        for (auto &kv : grouped) snap.units[kv.first] = kv.second.dump();
        snap.units[categories_unit_name()] =
            j.contains("categories") && j["categories"].is_array() ? j["categories"].dump() : "[]";
        if (snap.mode == server_mode::whole_document) snap.store_version = version_of(j);
        snap.ok = true;
        done(std::move(snap));
    });
}

void put_unit(server_sync_state &s, const document_state &d, const std::string &unit,
              const std::function<void(const std::string &, double)> &saved) {
    const std::string file = unit_file_name(unit);
    http_request r;
    if (unit == categories_unit_name()) {
        r = server_request(s, "PUT", s.api + "/categories");
        r.body = "{\"categories\":" + document_categories_unit(d) + "}";
    } else {
        const doc_image *im = d.doc.find_image_by_file_name(file);
        if (!im) return;  // not an image of this document (any more): nothing to save
        r = server_request(s, "PUT", s.api + "/images/" + url_encode_component(file));
        r.body = "{\"annotations\":" + document_image_unit(d, im->id) + "}";
    }
    auto it = s.versions.find(unit);
    r.if_match = "\"" + version_text(it == s.versions.end() ? 0 : it->second) + "\"";
    s.saving = true;
    s.saving_unit = unit;
    s.puts++;
    s.last_put_bytes = r.body.size();
    s.put_bytes += r.body.size();
    platform_http(r, [&s, unit, saved](int code, std::string body, std::string error) {
        s.saving = false;
        s.saving_unit.clear();
        json j = json::parse(body, nullptr, false);
        const double v = version_of(j);
        if (code == 200 && v >= 0) {
            s.versions[unit] = v;
            s.error.clear();
            if (saved) saved(unit, v);
            return;
        }
        if (code == 409) {
            server_conflict c;
            c.unit = unit;
            c.version = v;
            const std::string what = unit == categories_unit_name() ? "categories" : unit_file_name(unit);
            c.message = "The server's " + what + " changed (version " + version_text(v) +
                        "); yours are kept in this browser. " + error_of(j, body);
            if (!j.is_discarded() && j.is_object()) {
                if (j.contains("annotations") && j["annotations"].is_array()) c.theirs = j["annotations"].dump();
                else if (j.contains("categories") && j["categories"].is_array()) c.theirs = j["categories"].dump();
            }
            s.conflicts.push_back(std::move(c));
            return;
        }
        if (code == 400 || code == 413 || code == 422) {
            // the content itself is refused: sending it again would not help; it stays in the browser
            s.error = "the server refused " + unit + ": HTTP " + std::to_string(code) + " " + error_of(j, body);
            return;
        }
        s.dirty.insert(unit);  // try again later
        s.error = "saving to the server failed: " +
                  (error.empty() ? "HTTP " + std::to_string(code) + " " + body.substr(0, 200) : error);
        s.due_ms = platform_now_ms() + 5000;
        platform_wake_after(5000);
    });
}

void put_whole(server_sync_state &s, const document_state &d, uint64_t revision) {
    http_request r = server_request(s, "PUT", s.api);
    r.if_match = version_text(s.store_version);
    r.body = "{\"version\":" + r.if_match + ",\"coco\":" + coco_export(d.doc, coco_lossless_options()) + "}";
    s.whole_dirty = false;
    s.saving = true;
    s.puts++;
    s.last_put_bytes = r.body.size();
    s.put_bytes += r.body.size();
    platform_http(r, [&s, revision](int code, std::string body, std::string error) {
        s.saving = false;
        json j = json::parse(body, nullptr, false);
        const double v = version_of(j);
        if (code == 200 && v >= 0) {
            s.store_version = v;
            s.saved_revision = revision;
            s.error.clear();
        } else if (code == 409) {
            s.conflicts.push_back(server_conflict{"", "The server's annotations changed (version " + version_text(v) +
                                                          "); yours are kept in this browser. " + error_of(j, body),
                                                  v, ""});
            s.whole_dirty = true;
        } else {
            s.whole_dirty = true;
            s.error = "saving to the server failed: " +
                      (error.empty() ? "HTTP " + std::to_string(code) + " " + body.substr(0, 200) : error);
            s.due_ms = platform_now_ms() + 5000;
            platform_wake_after(5000);
        }
    });
}

bool in_conflict(const server_sync_state &s, const std::string &unit) {
    for (const server_conflict &c : s.conflicts)
        if (c.unit == unit) return true;
    return false;
}

}  // namespace

std::string image_unit_name(const std::string &file_name) { return k_image_prefix + file_name; }
const char *categories_unit_name() { return "categories"; }

std::string unit_file_name(const std::string &unit) {
    return unit.compare(0, 6, k_image_prefix) == 0 ? unit.substr(6) : "";
}

std::string served_dataset_name(const std::string &absolute_manifest_url) {
    std::string url = absolute_manifest_url;
    const size_t q = url.find_first_of("?#");
    if (q != std::string::npos) url.resize(q);
    const std::string marker = "/datasets/";
    const size_t at = url.find(marker);
    if (at == std::string::npos) return {};
    const size_t name_end = url.find('/', at + marker.size());
    if (name_end == std::string::npos || url.substr(name_end) != "/manifest.json") return {};
    return url.substr(at + marker.size(), name_end - at - marker.size());
}

http_request server_request(const server_sync_state &s, const std::string &method, const std::string &url) {
    http_request r;
    r.method = method;
    r.url = url;
    if (!s.token.empty()) r.authorization = "Bearer " + s.token;
    return r;
}

std::string url_encode_component(const std::string &v) {
    static const char *hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : v) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '!' || c == '*' || c == '\'' ||
            c == '(' || c == ')')
            out += (char)c;
        else
            out += std::string("%") + hex[c >> 4] + hex[c & 15];
    }
    return out;
}

void server_fetch(server_sync_state &s, std::function<void(server_snapshot)> done) {
    platform_http(server_request(s, "GET", s.api + "/index"), [&s, done](int code, std::string body, std::string error) {
        server_snapshot snap;
        json j = json::parse(body, nullptr, false);
        if (code == 404 || code == 405) {
            snap.mode = server_mode::whole_document;  // an older server: GET/PUT of the whole document only
            return fetch_assembled(s, std::move(snap), done);
        }
        if (code != 200 || j.is_discarded() || !j.is_object()) {
            snap.error = error.empty() ? "HTTP " + std::to_string(code) : error;
            return done(std::move(snap));
        }
        snap.mode = server_mode::per_image;
        snap.store_version = version_of(j);
        if (j.contains("categories") && j["categories"].is_object())
            snap.versions[categories_unit_name()] = version_of(j["categories"]);
        if (j.contains("images") && j["images"].is_array())
            for (const json &im : j["images"])
                if (im.is_object() && im.contains("file_name") && im["file_name"].is_string())
                    snap.versions[image_unit_name(im["file_name"].get<std::string>())] = version_of(im);
        fetch_assembled(s, std::move(snap), done);
    });
}

void server_mark(server_sync_state &s, const document_state &d, const unit_changes &c) {
    if (s.mode == server_mode::none || c.empty()) return;
    if (s.mode == server_mode::whole_document) {
        s.whole_dirty = true;
        return;
    }
    if (c.categories) s.dirty.insert(categories_unit_name());
    for (int64_t id : c.images)
        if (const doc_image *im = d.doc.find_image(id)) s.dirty.insert(image_unit_name(im->file_name));
}

void server_tick(server_sync_state &s, const document_state &d, double now_ms,
                 const std::function<void(const std::string &, double)> &saved) {
    if (s.mode == server_mode::none || s.saving || now_ms < s.due_ms) return;
    if (s.mode == server_mode::whole_document) {
        if (s.whole_dirty && s.conflicts.empty()) put_whole(s, d, d.doc.revision());
        else if (!s.whole_dirty && s.conflicts.empty() && d.changed.empty()) s.saved_revision = d.doc.revision();
        return;
    }
    // categories first: the images' annotations may use a new one
    std::string next;
    if (s.dirty.count(categories_unit_name()) && !in_conflict(s, categories_unit_name())) next = categories_unit_name();
    for (auto it = s.dirty.begin(); next.empty() && it != s.dirty.end(); ++it)
        if (!in_conflict(s, *it) && !(s.dirty.count(categories_unit_name()))) next = *it;
    if (next.empty()) {
        if (s.dirty.empty() && s.conflicts.empty() && d.changed.empty()) s.saved_revision = d.doc.revision();
        return;
    }
    s.dirty.erase(next);
    put_unit(s, d, next, saved);
}

void server_resolve(server_sync_state &s, document_state &d, bool take_theirs, app_messages &m) {
    if (s.conflicts.empty()) return;
    server_conflict c = s.conflicts.front();
    s.conflicts.erase(s.conflicts.begin());
    if (c.unit.empty()) {  // the whole document (an older server)
        s.store_version = c.version;
        if (!take_theirs) {
            s.whole_dirty = true;
            s.due_ms = 0;
            return;
        }
        platform_http(server_request(s, "GET", s.api), [&s, &d, &m](int code, std::string body, std::string) {
            json j = json::parse(body, nullptr, false);
            if (code != 200 || j.is_discarded() || !j.is_object()) return add_error(m, "could not load the server's annotations");
            s.store_version = version_of(j);
            j.erase("version");
            std::vector<doc_image> images = d.doc.images();
            document_reset(d, images);
            coco_import_options opt;
            opt.add_unknown_images = false;
            opt.match_base_name = true;
            coco_import_report rep;
            status st = document_import(d, j.dump(), "server annotations", opt, rep);
            if (!st) add_error(m, st.message);
            document_ensure_category(d);
            document_clear_history(d);
            s.whole_dirty = false;
            add_notice(m, "Loaded " + std::to_string(rep.annotations_added) + " annotations from the server");
        });
        return;
    }
    s.versions[c.unit] = c.version;
    if (take_theirs && !c.theirs.empty()) {
        coco_import_options opt;
        opt.add_unknown_images = false;
        coco_import_report rep;
        const std::string file = unit_file_name(c.unit);
        if (!file.empty()) {
            // their annotations of this image replace ours: one undo step (undo brings ours back)
            const doc_image *im = d.doc.find_image_by_file_name(file);
            if (!im) return;
            const int64_t image_id = im->id;
            document_begin_group(d, "take the server's " + file);
            std::vector<int64_t> mine;
            for (const annotation &a : d.doc.annotations())
                if (a.image_id == image_id) mine.push_back(a.id);
            for (int64_t id : mine) document_delete_annotation(d, id);
            status st = document_import(d, document_assemble_units(d, document_categories_unit(d), {{file, c.theirs}}),
                                        "server " + file, opt, rep);
            if (st) document_end_group(d);
            else {
                document_cancel_group(d);
                add_error(m, st.message);
            }
        } else {
            // categories: theirs join ours (by name), nothing of ours goes
            status st = document_import(d, "{\"images\":[],\"annotations\":[],\"categories\":" + c.theirs + "}",
                                        "server categories", opt, rep);
            if (!st) add_error(m, st.message);
        }
    }
    // ours goes up with the server's version; taken annotations mark their unit by the edit itself
    if (!take_theirs || c.theirs.empty() || unit_file_name(c.unit).empty()) s.dirty.insert(c.unit);
    s.due_ms = 0;
}

}  // namespace sam
