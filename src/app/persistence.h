// persistence.h - user work survives reloads and server crashes: the browser store
// (IndexedDB, always) holds one unit per image (its annotations) and one for the
// categories, written in one transaction per frame for just the units an edit touched,
// each with the server version it is based on and whether the server has it yet; the
// server (server_sync.h) gets the same units. COCO is assembled only for export.
// Restore: per unit, the browser's copy wins while it holds edits the server has not
// seen (or when there is no server), else the server's; the old single-record autosave
// (one COCO text per dataset) and a server with only the whole-document route still
// load (migrated into units on the next save).
//   persistence_start(p, doc, key, done);  each frame: persistence_tick(p, doc, now);
#pragma once
#include <functional>
#include <string>

#include "app/document.h"
#include "app/messages.h"
#include "app/server_sync.h"

namespace sam {

// Edits are written this long after the first unsaved one: quick edits share a write, and
// the frames right after an edit (showing it) do not wait for it.
constexpr double k_save_delay_ms = 100;

struct persistence_state {
    std::string key;             // the dataset's key in the browser store ("manifest:<url>", "local:<name>:<size>")
    bool restore_done = false;   // edits before that are refused
    uint64_t saved_revision = 0; // document revision the browser store has caught up with
    double unsaved_since = -1;   // platform_now_ms() of the first edit not yet written (-1: none)
    double wake_at = -1;         // the write the timer is set for
    int write_count = 0;         // transactions sent
    size_t last_write_bytes = 0, write_bytes = 0;
    server_sync_state server;
};

// Loads what was saved (browser store and server); calls done() when the document holds
// it (restore_done set). The document must hold the dataset's images.
void persistence_start(persistence_state &p, document_state &d, app_messages &m, std::function<void()> done);
// Saves what changed: the browser store k_save_delay_ms after the first unsaved edit (a
// timer wakes the page for it), the server when free.
void persistence_tick(persistence_state &p, document_state &d, double now_ms);
// An edit waits to be written.
bool persistence_pending(const persistence_state &p, const document_state &d);
// Browser-store key of a unit of dataset `key`.
std::string store_unit_key(const std::string &key, const std::string &unit);

}  // namespace sam
