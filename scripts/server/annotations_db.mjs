// annotations_db.mjs - the SQLite file that holds one dataset's annotations
// (DATASET/annotations.sqlite, WAL mode): per-image units and one categories unit, each
// with an integer version and every earlier version kept, plus a store-wide version that
// grows on every write. Contents are the UTF-8 bytes of JSON exactly as validated and
// stored (one image's COCO annotations array, with image_id filled; or the categories
// array), kept as BLOBs so a reader hands them to a response without decoding them.
//   const db = new annotations_db(file);                       // writer: creates the schema
//   const ro = new annotations_db(file, { readonly: true });   // readers (other thread)
//   db.commit([{kind: 'image', name: 'a.jpg', content, count, image, annotations}], {expect})
// A commit is one transaction: a kill -9 at any moment leaves the last committed state.
import Database from 'better-sqlite3';

export const STORE_FILE = 'annotations.sqlite';
export const CATEGORIES = 'categories';
export const IMAGE = 'image';
const SCHEMA_VERSION = 1;

export function unit_key(kind, name) { return `${kind}\0${name}`; }

export class store_conflict extends Error {
    constructor(kind, name, version) { super(`${kind} ${name} is at version ${version}`); this.kind = kind; this.name = name; this.version = version; }
}

export class annotations_db {
    constructor(file, { readonly = false } = {}) {
        this.file = file;
        this.db = new Database(file, readonly ? { readonly: true, fileMustExist: true } : {});
        this.db.pragma('busy_timeout = 10000');
        if (!readonly) {
            this.db.pragma('journal_mode = WAL');
            // FULL: a commit is on disk before the client hears "saved".
            this.db.pragma('synchronous = FULL');
            this.db.exec(`
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS units (
                    kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, count INTEGER NOT NULL,
                    image_id INTEGER, width INTEGER, height INTEGER,
                    PRIMARY KEY (kind, name)) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS versions (
                    kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
                    saved_at TEXT NOT NULL, count INTEGER NOT NULL, bytes INTEGER NOT NULL, content BLOB NOT NULL,
                    PRIMARY KEY (kind, name, version));
                CREATE TABLE IF NOT EXISTS annotation_ids (
                    id INTEGER PRIMARY KEY, name TEXT NOT NULL, category_id INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS annotation_ids_name ON annotation_ids (name);
                CREATE INDEX IF NOT EXISTS annotation_ids_category ON annotation_ids (category_id);`);
        }
        this.q = {
            meta: this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
            unit: this.db.prepare(`SELECT u.version, u.image_id, u.width, u.height, v.content, v.count, v.saved_at
                FROM units u JOIN versions v ON v.kind = u.kind AND v.name = u.name AND v.version = u.version
                WHERE u.kind = ? AND u.name = ?`),
            index: this.db.prepare("SELECT name AS file_name, version, count FROM units WHERE kind = 'image' ORDER BY name"),
            history: this.db.prepare('SELECT version, saved_at, count, bytes FROM versions WHERE kind = ? AND name = ? ORDER BY version DESC'),
            past: this.db.prepare('SELECT version, saved_at, count, content FROM versions WHERE kind = ? AND name = ? AND version = ?'),
            image_units: this.db.prepare(`SELECT u.name, u.version, u.image_id, u.width, u.height, v.count, v.content FROM units u
                JOIN versions v ON v.kind = u.kind AND v.name = u.name AND v.version = u.version WHERE u.kind = 'image'`),
            owner: this.db.prepare('SELECT name FROM annotation_ids WHERE id = ?').pluck(),
            usage: this.db.prepare(`SELECT category_id, count(*) AS n, min(name) AS first FROM annotation_ids GROUP BY category_id`),
        };
        if (!readonly) {
            Object.assign(this.q, {
                set_meta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
                add_version: this.db.prepare('INSERT INTO versions (kind, name, version, saved_at, count, bytes, content) VALUES (?, ?, ?, ?, ?, ?, ?)'),
                set_unit: this.db.prepare(`INSERT INTO units (kind, name, version, count, image_id, width, height) VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (kind, name) DO UPDATE SET version = excluded.version, count = excluded.count,
                    image_id = excluded.image_id, width = excluded.width, height = excluded.height`),
                drop_ids: this.db.prepare('DELETE FROM annotation_ids WHERE name = ?'),
                add_id: this.db.prepare('INSERT INTO annotation_ids (id, name, category_id) VALUES (?, ?, ?)'),
            });
        }
        const schema = this.meta('schema');
        if (schema !== undefined && schema !== SCHEMA_VERSION) throw new Error(`${file}: store schema ${schema}, this server reads ${SCHEMA_VERSION}`);
    }

    meta(key) { return this.q.meta.get(key); }
    initialized() { return this.meta('created') !== undefined; }
    store_version() { return this.meta('store_version') ?? 0; }
    unit(kind, name) { return this.q.unit.get(kind, name) || null; }
    version_of(kind, name) { return this.unit(kind, name)?.version ?? 0; }
    history(kind, name) { return this.q.history.all(kind, name); }
    past(kind, name, version) { return this.q.past.get(kind, name, version) || null; }
    annotation_owner(id) { return this.q.owner.get(id); }
    category_usage() { return this.q.usage.all(); }

    // One consistent snapshot (a read transaction) of every unit with its content (export).
    snapshot() {
        return this.db.transaction(() => ({
            version: this.store_version(),
            categories: this.unit(CATEGORIES, ''),
            images: this.q.image_units.all(),
        }))();
    }

    // The same without contents: {version, categories_version, images: [{file_name, version, count}]}.
    index() {
        return this.db.transaction(() => ({
            version: this.store_version(),
            categories_version: this.version_of(CATEGORIES, ''),
            images: this.q.index.all(),
        }))();
    }

    // Writes the changed units (content: a JSON string) as their next versions and bumps the store version once,
    // in one IMMEDIATE transaction. `expect` (optional) maps unit_key(kind, name) -> the
    // version the write was validated against (the unit itself, and e.g. the categories its
    // check used), `store_version` the store version; a mismatch (another process wrote
    // meanwhile) throws store_conflict and writes nothing. `rules(db)` runs inside the
    // transaction, for checks that read other units; it throws to refuse.
    commit(changes, { expect = null, store_version = null, rules = null, set_store_version = null, meta = {} } = {}) {
        return this.db.transaction(() => {
            const current = this.store_version();
            if (store_version !== null && store_version !== current) throw new store_conflict('store', '', current);
            for (const [key, want] of expect || []) {
                const cut = key.indexOf('\0');
                const kind = key.slice(0, cut), name = key.slice(cut + 1);
                const have = this.version_of(kind, name);
                if (want !== have) throw new store_conflict(kind, name, have);
            }
            if (rules) rules(this);
            const saved_at = new Date().toISOString();
            const versions = new Map();
            // Every image's old ids go first: a whole-document write may move an id between images.
            for (const c of changes) if (c.kind === IMAGE) this.q.drop_ids.run(c.name);
            for (const c of changes) {
                const v = this.version_of(c.kind, c.name) + 1;
                const bytes = Buffer.from(c.content);
                this.q.add_version.run(c.kind, c.name, v, saved_at, c.count, bytes.length, bytes);
                this.q.set_unit.run(c.kind, c.name, v, c.count, c.image?.id ?? null, c.image?.width ?? null, c.image?.height ?? null);
                if (c.kind === IMAGE) for (const a of c.annotations) this.q.add_id.run(a.id, c.name, a.category_id);
                versions.set(unit_key(c.kind, c.name), v);
            }
            const next = set_store_version ?? current + 1;
            this.q.set_meta.run('store_version', next);
            this.#mark_created(saved_at);
            for (const [k, v] of Object.entries(meta)) this.q.set_meta.run(k, v);
            return { store_version: next, versions };
        }).immediate();
    }

    // A first start with nothing to import: the store exists, at version 0.
    mark_created() { this.db.transaction(() => this.#mark_created(new Date().toISOString())).immediate(); }

    #mark_created(at) {
        if (this.initialized()) return;
        this.q.set_meta.run('created', at);
        this.q.set_meta.run('schema', SCHEMA_VERSION);
    }

    set_meta(key, value) { this.q.set_meta.run(key, value); }

    close() { this.db.close(); }
}
