#include "app/persistence.h"

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

namespace sam {

namespace {

using json = nlohmann::json;

struct local_unit {
    std::string text;
    double base = -1;     // the server version it was based on (-1: none)
    bool pending = false; // holds edits the server has not acknowledged
};

size_t array_size(const std::string &text) {
    json j = json::parse(text, nullptr, false);
    return j.is_array() ? j.size() : 0;
}

const char *k_sync_prefix = "sync:";

// The unit's sync record: the server version its text is based on, and whether the server
// has that text yet. Kept apart from the text so the server's answer rewrites a few bytes.
store_unit sync_record(const persistence_state &p, const std::string &unit, double version, bool pending) {
    store_unit u;
    u.key = store_unit_key(p.key, k_sync_prefix + unit);
    u.number = version;
    u.flags = pending && p.server.mode != server_mode::none ? 1 : 0;
    return u;
}

void write(persistence_state &p, std::vector<store_unit> out) {
    if (out.empty()) return;
    size_t bytes = 0;
    for (const store_unit &u : out) bytes += u.key.size() + u.text.size();
    p.last_write_bytes = bytes;
    p.write_bytes += bytes;
    p.write_count++;
    platform_store_write(std::move(out), [](bool) {});
}

// One transaction with the current content of `units` and their sync records.
void write_units(persistence_state &p, const document_state &d, const std::vector<std::string> &units, bool pending) {
    std::vector<store_unit> out;
    for (const std::string &name : units) {
        store_unit u;
        u.key = store_unit_key(p.key, name);
        const std::string file = unit_file_name(name);
        if (!file.empty()) {
            const doc_image *im = d.doc.find_image_by_file_name(file);
            if (!im) continue;
            u.text = document_image_unit(d, im->id);
        } else {
            u.text = document_categories_unit(d);
        }
        auto v = p.server.versions.find(name);
        const double version = v == p.server.versions.end() ? -1 : v->second;
        u.number = version;
        out.push_back(std::move(u));
        out.push_back(sync_record(p, name, version, pending));
    }
    write(p, std::move(out));
}

std::vector<std::string> unit_names(const document_state &d, const unit_changes &c) {
    std::vector<std::string> names;
    if (c.categories) names.push_back(categories_unit_name());
    for (int64_t id : c.images)
        if (const doc_image *im = d.doc.find_image(id)) names.push_back(image_unit_name(im->file_name));
    return names;
}

void finish(persistence_state &p, document_state &d, std::function<void()> &done) {
    document_take_changes(d);  // the restore itself is not an edit...
    document_ensure_category(d);
    document_clear_history(d);
    const unit_changes made = document_take_changes(d);  // ...but a default category made now is
    if (made.categories) write_units(p, d, {categories_unit_name()}, true);
    server_mark(p.server, d, made);
    p.restore_done = true;
    p.saved_revision = d.doc.revision();
    if (p.server.mode == server_mode::whole_document && !p.server.whole_dirty) p.server.saved_revision = d.doc.revision();
    if (done) done();
}

coco_import_options restore_options() {
    coco_import_options opt;
    opt.add_unknown_images = false;
    opt.match_base_name = true;
    return opt;
}

// The old autosave: one COCO text for the whole dataset. Loaded as it was (it held every
// local edit), then written as units so the next load finds those.
void migrate_single(persistence_state &p, document_state &d, app_messages &m, const server_snapshot &snap,
                    std::function<void()> done) {
    platform_store_read_single(p.key, [&p, &d, &m, snap, done](bool found, std::string text, double number) mutable {
        if (!found && snap.ok) {
            // nothing in this browser: the server's copy
            std::vector<std::pair<std::string, std::string>> files;
            size_t n = 0;
            for (const auto &kv : snap.units)
                if (!unit_file_name(kv.first).empty()) {
                    files.emplace_back(unit_file_name(kv.first), kv.second);
                    n += array_size(kv.second);
                }
            auto cats = snap.units.find(categories_unit_name());
            coco_import_report rep;
            status st = document_import(d, document_assemble_units(d, cats == snap.units.end() ? "[]" : cats->second, files),
                                        "server annotations", restore_options(), rep);
            if (!st) add_error(m, "could not restore from the server: " + st.message);
            if (n) add_notice(m, "Loaded " + std::to_string(rep.annotations_added) + " annotations from the server");
            return finish(p, d, done);
        }
        if (found) {
            coco_import_report rep;
            status st = document_import(d, text, "autosave", restore_options(), rep);
            if (!st) add_error(m, "could not restore from autosave: " + st.message);
            if (rep.annotations_skipped)
                add_notice(m, "autosave: " + std::to_string(rep.annotations_skipped) +
                                  " annotations on images not in this dataset were skipped");
            if (p.server.mode == server_mode::whole_document) p.server.store_version = number >= 0 ? number : snap.store_version;
            add_notice(m, "Restored " + std::to_string(rep.annotations_added) + " annotations from this browser's autosave");
            finish(p, d, done);
            // now as units (one transaction): the old record stays, unused, as it was
            std::vector<std::string> all;
            for (const doc_image &im : d.doc.images()) all.push_back(image_unit_name(im.file_name));
            all.push_back(categories_unit_name());
            write_units(p, d, all, false);
            return;
        }
        finish(p, d, done);
    });
}

void merge(persistence_state &p, document_state &d, app_messages &m, std::map<std::string, local_unit> local,
           server_snapshot snap, std::function<void()> done) {
    server_sync_state &s = p.server;
    if (snap.ok) {
        s.mode = snap.mode;
        s.store_version = snap.store_version;
        s.versions = snap.versions;
    }
    if (local.empty()) return migrate_single(p, d, m, snap, std::move(done));
    std::map<std::string, std::string> chosen;
    size_t from_local = 0, from_server = 0;
    double oldest_pending = -1;
    bool any_pending = false;
    std::vector<std::string> names;
    for (const auto &kv : local) names.push_back(kv.first);
    for (const auto &kv : snap.units)
        if (!local.count(kv.first)) names.push_back(kv.first);
    for (const std::string &name : names) {
        auto l = local.find(name);
        auto u = snap.units.find(name);
        auto v = snap.versions.find(name);
        const double server_version = v == snap.versions.end() ? 0 : v->second;
        bool take_local = l != local.end();
        if (take_local && snap.ok && s.mode == server_mode::per_image)
            take_local = l->second.pending || l->second.base >= server_version || u == snap.units.end();
        const bool image = !unit_file_name(name).empty();
        if (take_local) {
            chosen[name] = l->second.text;
            if (image) from_local += array_size(l->second.text);
            if (l->second.pending && s.mode != server_mode::none) {
                any_pending = true;
                if (oldest_pending < 0 || l->second.base < oldest_pending) oldest_pending = l->second.base;
                if (s.mode == server_mode::per_image) {
                    s.dirty.insert(name);
                    s.versions[name] = l->second.base >= 0 ? l->second.base : 0;
                }
            }
        } else if (u != snap.units.end()) {
            chosen[name] = u->second;
            if (image) from_server += array_size(u->second);
        }
    }
    if (s.mode == server_mode::whole_document && any_pending) {
        s.whole_dirty = true;
        if (oldest_pending >= 0) s.store_version = oldest_pending;
    }
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto &kv : chosen)
        if (!unit_file_name(kv.first).empty()) files.emplace_back(unit_file_name(kv.first), kv.second);
    auto cats = chosen.find(categories_unit_name());
    coco_import_report rep;
    status st = document_import(d, document_assemble_units(d, cats == chosen.end() ? "[]" : cats->second, files),
                                "autosave", restore_options(), rep);
    if (!st) add_error(m, "could not restore the saved annotations: " + st.message);
    add_notice(m, "Restored " + std::to_string(from_local) + " annotations from this browser's autosave" +
                      (from_server ? " and " + std::to_string(from_server) + " from the server" : ""));
    finish(p, d, done);
}

}  // namespace

std::string store_unit_key(const std::string &key, const std::string &unit) { return key + "|" + unit; }

void persistence_start(persistence_state &p, document_state &d, app_messages &m, std::function<void()> done) {
    p.restore_done = false;
    const std::string prefix = store_unit_key(p.key, "");
    platform_store_list(prefix, [&p, &d, &m, prefix, done](std::vector<store_unit> units) {
        std::map<std::string, local_unit> local;
        std::map<std::string, std::pair<double, bool>> sync;
        for (store_unit &u : units) {
            if (u.key.compare(0, prefix.size(), prefix) != 0) continue;
            const std::string name = u.key.substr(prefix.size());
            if (name.compare(0, 5, k_sync_prefix) == 0) sync[name.substr(5)] = {u.number, (u.flags & 1) != 0};
            else local[name] = local_unit{std::move(u.text), u.number, false};
        }
        for (auto &kv : local) {
            auto it = sync.find(kv.first);
            if (it == sync.end()) continue;
            kv.second.base = it->second.first;
            kv.second.pending = it->second.second;
        }
        if (p.server.dataset.empty()) return merge(p, d, m, std::move(local), server_snapshot{}, done);
        server_fetch(p.server, [&p, &d, &m, local = std::move(local), done](server_snapshot snap) mutable {
            if (!snap.ok) {
                p.server.error = "server annotations unavailable: " + snap.error;
                p.server.mode = server_mode::none;  // not saving where we cannot read
            }
            merge(p, d, m, std::move(local), std::move(snap), done);
        });
    });
}

bool persistence_pending(const persistence_state &p, const document_state &d) {
    return p.restore_done && !d.changed.empty();
}

void persistence_tick(persistence_state &p, document_state &d, double now_ms) {
    if (!p.restore_done) return;
    if (!d.changed.empty()) {
        if (p.unsaved_since < 0) p.unsaved_since = now_ms;
        const double due = p.unsaved_since + k_save_delay_ms;
        if (now_ms < due && p.wake_at != due) {
            p.wake_at = due;  // one timer per wait; a frame before it finds the write not due yet
            platform_wake_after(due - now_ms + 1);
        }
        if (now_ms >= due) {
            const unit_changes c = document_take_changes(d);
            write_units(p, d, unit_names(d, c), true);
            server_mark(p.server, d, c);
            p.unsaved_since = -1;
        }
    }
    if (d.changed.empty()) p.saved_revision = d.doc.revision();
    server_tick(p.server, d, now_ms, [&p](const std::string &unit, double version) {
        // the server has this unit now: so says the browser's copy (unless it changed since)
        if (!p.server.dirty.count(unit)) write(p, {sync_record(p, unit, version, false)});
    });
}

}  // namespace sam
