// web_store.cpp - the browser store of src/app/platform.h on IndexedDB: database
// "sam-annotator" version 2, object store "units" (key -> {text, number, flags, saved})
// for the per-image save units, and the version-1 store "autosave" (key -> {text,
// number}: one COCO text per dataset), kept and read only to migrate old saves.
// A write of several units is one transaction: all or none.
#include <emscripten.h>

#include <map>

#include "app/platform.h"
#include "platform/web/web_platform.h"

namespace sam {

namespace {

struct pending_list {
    std::string prefix;
    std::vector<store_unit> units;
    std::function<void(std::vector<store_unit>)> done;
};
std::map<int, pending_list> g_lists;
std::map<int, std::function<void(bool)>> g_writes;
std::map<int, std::function<void(bool, std::string, double)>> g_reads;
int g_next = 1;

EM_JS(void, sam_js_store_open, (), {
    if (Module.samStore) return;
    Module.samStore = new Promise((resolve, reject) => {
        const req = indexedDB.open('sam-annotator', 2);
        req.onupgradeneeded = () => {
            const db = req.result;
            if (!db.objectStoreNames.contains('autosave')) db.createObjectStore('autosave');
            if (!db.objectStoreNames.contains('units')) db.createObjectStore('units');
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
    });
});

// Every unit whose key starts with the prefix, one sam_on_store_unit call each, then sam_on_store_listed.
EM_JS(void, sam_js_store_list, (int id, const char *prefix_ptr), {
    const prefix = UTF8ToString(prefix_ptr);
    const toHeap = (s) => {
        const n = lengthBytesUTF8(s) + 1;
        const p = _malloc(n);
        stringToUTF8(s, p, n);
        return p;
    };
    Module.samStore
        .then((db) => new Promise((resolve, reject) => {
            const store = db.transaction('units', 'readonly').objectStore('units');
            const range = IDBKeyRange.bound(prefix, prefix + String.fromCharCode(0xffff));
            const keys = store.getAllKeys(range), values = store.getAll(range);
            values.onsuccess = () => resolve([ keys.result, values.result ]);
            values.onerror = () => reject(values.error);
        }))
        .then(([ keys, values ]) => {
            for (let i = 0; i < keys.length; i++) {
                const v = values[i] || {};
                const k = toHeap(String(keys[i])), t = toHeap(typeof v.text === 'string' ? v.text : '');
                Module._sam_on_store_unit(id, k, t, +v.number || 0, v.flags | 0);
                _free(k);
                _free(t);
            }
        }, (e) => console.error('autosave read failed:', e))
        .then(() => Module._sam_on_store_listed(id));
});

// Units are added to a batch, then committed as one transaction.
EM_JS(void, sam_js_store_add, (const char *key, const char *text, double number, int flags), {
    (Module.samStoreBatch = Module.samStoreBatch || []).push({key : UTF8ToString(key), value : {text : UTF8ToString(text), number, flags, saved : Date.now()}});
});

EM_JS(void, sam_js_store_commit, (int id), {
    const batch = Module.samStoreBatch || [];
    Module.samStoreBatch = [];
    Module.samStorePuts = (Module.samStorePuts || 0) + 1;  // tests wait for samStoreWrites to catch up
    Module.samStoreBytes = (Module.samStoreBytes || 0) + batch.reduce((a, u) => a + u.key.length + u.value.text.length, 0);
    Module.samStore
        .then((db) => new Promise((resolve, reject) => {
            const tx = db.transaction('units', 'readwrite');
            const store = tx.objectStore('units');
            for (const u of batch) store.put(u.value, u.key);
            tx.oncomplete = resolve;
            tx.onerror = () => reject(tx.error);
            tx.onabort = () => reject(tx.error);
        }))
        .then(() => {
            Module.samStoreWrites = (Module.samStoreWrites || 0) + 1;
            Module._sam_on_store_written(id, 1);
        }, (e) => {
            console.error('autosave write failed:', e);
            Module._sam_on_store_written(id, 0);
        });
});

EM_JS(void, sam_js_store_read_single, (int id, const char *key), {
    const k = UTF8ToString(key);
    const done = (v) => {
        const found = v && typeof v.text === 'string';
        const t = found ? v.text : "";
        const n = lengthBytesUTF8(t) + 1;
        const p = _malloc(n);
        stringToUTF8(t, p, n);
        Module._sam_on_store_single(id, found ? 1 : 0, p, found ? +v.number || 0 : 0);
        _free(p);
    };
    Module.samStore
        .then((db) => new Promise((resolve, reject) => {
            const req = db.transaction('autosave', 'readonly').objectStore('autosave').get(k);
            req.onsuccess = () => resolve(req.result);
            req.onerror = () => reject(req.error);
        }))
        .then(done, (e) => { console.error('autosave read failed:', e); done(null); });
});

}  // namespace

void platform_store_list(const std::string &prefix, std::function<void(std::vector<store_unit>)> done) {
    sam_js_store_open();
    const int id = g_next++;
    g_lists[id] = pending_list{prefix, {}, std::move(done)};
    sam_js_store_list(id, prefix.c_str());
}

void platform_store_write(std::vector<store_unit> units, std::function<void(bool)> done) {
    sam_js_store_open();
    const int id = g_next++;
    g_writes[id] = std::move(done);
    for (const store_unit &u : units) sam_js_store_add(u.key.c_str(), u.text.c_str(), u.number, u.flags);
    sam_js_store_commit(id);
}

void platform_store_read_single(const std::string &key, std::function<void(bool, std::string, double)> done) {
    sam_js_store_open();
    const int id = g_next++;
    g_reads[id] = std::move(done);
    sam_js_store_read_single(id, key.c_str());
}

void web_store_unit(int id, const char *key, const char *text, double number, int flags) {
    auto it = g_lists.find(id);
    if (it != g_lists.end()) it->second.units.push_back(store_unit{key ? key : "", text ? text : "", number, flags});
}

void web_store_listed(int id) {
    auto it = g_lists.find(id);
    if (it == g_lists.end()) return;
    pending_list l = std::move(it->second);
    g_lists.erase(it);
    l.done(std::move(l.units));
}

void web_store_written(int id, int ok) {
    auto it = g_writes.find(id);
    if (it == g_writes.end()) return;
    std::function<void(bool)> cb = std::move(it->second);
    g_writes.erase(it);
    cb(ok != 0);
}

void web_store_single(int id, int found, const char *text, double number) {
    auto it = g_reads.find(id);
    if (it == g_reads.end()) return;
    auto cb = std::move(it->second);
    g_reads.erase(it);
    cb(found != 0, text ? text : "", number);
}

}  // namespace sam
