// server_sync.h - the client of scripts/serve's annotations API (the contract in
// /work/notes/annotations_api.md): per-image units, each with its own version, PUT
// one at a time with If-Match = the version it was edited from, so a save costs what
// the edit touched. A stale write comes back 409 with the server's copy: the unit is
// held (nothing lost, the browser store keeps it) until the user keeps theirs (the next
// PUT carries the server's version) or takes the server's. Servers without the
// per-image routes (GET .../index answers 404) get the old whole-document PUT.
// Every /api request carries `Authorization: Bearer <token>` when the page URL gave one.
//   server_sync_state s; s.dataset = "<name>"; server_fetch(s, manifest_url, done);
//   each frame: server_tick(s, doc, now);
#pragma once
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "app/document.h"
#include "app/messages.h"
#include "app/platform.h"

namespace sam {

enum class server_mode { none, per_image, whole_document };

struct server_conflict {
    std::string unit;     // "image:<file_name>", "categories", or "" (the whole document)
    std::string message;  // shown as is
    double version = -1;  // the server's current version of the unit
    std::string theirs;   // the server's unit: JSON array of annotations / categories
};

struct server_sync_state {
    std::string dataset;  // "<name>" when the manifest is /datasets/<name>/manifest.json, else ""
    std::string api;      // absolute URL of /api/annotations/<name>
    std::string token;    // ?token= of the page: sent as a bearer token
    server_mode mode = server_mode::none;
    double store_version = -1;               // whole document: the version our copy is based on
    std::map<std::string, double> versions;  // unit -> the server version our copy is based on
    std::set<std::string> dirty;             // units to PUT
    bool whole_dirty = false;                // whole-document mode: something changed
    bool saving = false;
    std::string saving_unit;
    double due_ms = 0;  // earliest time of the next PUT (retry after a failure)
    std::vector<server_conflict> conflicts;
    std::string error;
    uint64_t saved_revision = 0;  // document revision the server has caught up with
    int puts = 0;
    size_t last_put_bytes = 0, put_bytes = 0;
};

// What the server holds, read at restore: per unit its text and version.
struct server_snapshot {
    bool ok = false;
    server_mode mode = server_mode::none;
    std::string error;
    double store_version = -1;
    std::map<std::string, double> versions;     // per-image mode: from the index
    std::map<std::string, std::string> units;   // unit -> JSON array text
};

// Unit names (also the browser store's keys after the dataset prefix).
std::string image_unit_name(const std::string &file_name);
const char *categories_unit_name();
// "" if `unit` is not an image unit, else its file_name.
std::string unit_file_name(const std::string &unit);

// "<name>" when scripts/serve serves the manifest at /datasets/<name>/manifest.json, else "".
std::string served_dataset_name(const std::string &absolute_manifest_url);
// An http_request to the API (authorization set when there is a token).
http_request server_request(const server_sync_state &s, const std::string &method, const std::string &url);
std::string url_encode_component(const std::string &v);

// Reads the server's annotations: the index (per-image mode) and the assembled
// document, or (404 on the index) the whole document of an older server.
void server_fetch(server_sync_state &s, std::function<void(server_snapshot)> done);
// The units changed by an edit are to be saved.
void server_mark(server_sync_state &s, const document_state &d, const unit_changes &c);
// Sends the next PUT when none is in flight. `saved(unit, version)` runs after a unit's
// write succeeded (the browser store marks its copy as on the server).
void server_tick(server_sync_state &s, const document_state &d, double now_ms,
                 const std::function<void(const std::string &unit, double version)> &saved);
// The user's choice on the first conflict: keep theirs (true) or mine (false). Taking
// the server's copy of an image replaces its annotations (one undo step).
void server_resolve(server_sync_state &s, document_state &d, bool take_theirs, app_messages &m);

}  // namespace sam
