// annotations_writer.mjs - every write to one dataset's annotations store: per-image and
// categories units (PUT, restore), the legacy whole-document PUT, and the import of an
// old DATASET/annotations.json on first start. Runs in the store's worker thread
// (store_worker.mjs), one write at a time, so parsing and checking a large body never
// holds up the HTTP thread. Each write: parse (400) -> version check (409) -> the core's
// COCO import rules (coco_check.mjs, 422 with the field) -> the store's own rules inside
// the commit's transaction (annotations_rules.mjs) -> commit (annotations_db.mjs).
//   const w = new annotations_writer(dir, checker); const notices = await w.open();
//   const {status, body} = await w.put_image('a.jpg', 3, bytes);
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { annotations_db, store_conflict, unit_key, STORE_FILE, IMAGE, CATEGORIES } from './annotations_db.mjs';
import { dataset_images } from './dataset_images.mjs';
import { core_failure } from './coco_check.mjs';
import {
    store_refusal, invalid, is_object, parse_json_body, parse_version, validate_coco,
    check_annotation_fields, check_annotation_ids,
} from './annotations_rules.mjs';

export const LEGACY_FILE = 'annotations.json';
export const IMPORTED_FILE = 'annotations.imported.json';
const RETRIES = 3;  // a commit that lost a race with another process re-checks this often

const ok = (body) => ({ status: 200, body });

// Stored bytes equal to this JSON text.
const same = (stored, text) => !!stored && stored.length === Buffer.byteLength(text) && stored.toString() === text;

// image_id set to the unit's image; a spread keeps an existing key where it was.
const with_image_id = (a, id) => ({ ...a, image_id: id });

export class annotations_writer {
    constructor(dir, checker) {
        this.dir = dir;
        this.checker = checker;
        this.db = new annotations_db(path.join(dir, STORE_FILE));
        this.images = new dataset_images(dir);
    }

    // First start: imports annotations.json (validated like a PUT, images outside the
    // manifest kept), then renames it to annotations.imported.json. Throws, naming the
    // file, when it cannot be imported: nothing is changed then. Returns notices.
    async open() {
        const legacy = path.join(this.dir, LEGACY_FILE);
        const text = fs.existsSync(legacy) ? fs.readFileSync(legacy) : null;
        const sha256 = text && crypto.createHash('sha256').update(text).digest('hex');
        if (this.db.initialized()) {
            if (!text) return [];
            // Killed between the import's commit and the rename: finish the rename.
            if (this.db.meta('imported_sha256') === sha256) return [this.#retire(legacy)];
            return [`${legacy} is not read: this dataset's annotations live in ${STORE_FILE} (send the file with PUT /api/annotations/<dataset> to load it)`];
        }
        if (!text) {
            this.db.mark_created();
            return [];
        }
        let r;
        try {
            const { value } = parse_json_body(text);
            const problem = validate_coco(value);
            if (problem) throw new store_refusal(400, `not a COCO document: ${problem}`);
            const version = Number.isInteger(value.version) && value.version >= 1 ? value.version : 1;
            const { version: _drop, ...coco } = value;
            r = await this.#write_document(coco, JSON.stringify(coco), { import_version: version, meta: { imported_from: LEGACY_FILE, imported_sha256: sha256 } });
        } catch (err) {
            if (!(err instanceof store_refusal)) throw err;
            r = err;
        }
        if (r.status !== 200) {
            // Leave the folder as it was: no half-made store next to the file that failed.
            this.db.close();
            for (const f of [STORE_FILE, `${STORE_FILE}-wal`, `${STORE_FILE}-shm`]) fs.rmSync(path.join(this.dir, f), { force: true });
            throw new Error(`${legacy} cannot be imported into ${STORE_FILE}: ${r.body.error}. Fix or move the file; nothing was changed`);
        }
        return [`imported ${legacy} (${r.body.annotations} annotations) into ${STORE_FILE}`, this.#retire(legacy)];
    }

    #retire(legacy) {
        let dest = path.join(this.dir, IMPORTED_FILE);
        for (let i = 2; fs.existsSync(dest); i++) dest = path.join(this.dir, `annotations.imported-${i}.json`);
        fs.renameSync(legacy, dest);
        return `renamed ${legacy} to ${path.basename(dest)} (kept as it was; the store does not read it again)`;
    }

    close() { this.db.close(); }

    async #guarded(fn) {
        try { return await fn(); } catch (err) {
            if (err instanceof store_refusal) return { status: err.status, body: err.body };
            throw err;
        }
    }

    #image(name) {
        const img = this.images.current().by_name.get(name);
        if (!img) throw new store_refusal(404, `"${name}" is not an image of this dataset (${path.basename(this.dir)}/manifest.json)`);
        return img;
    }

    put_image(name, if_match, bytes) {
        return this.#guarded(() => {
            const img = this.#image(name);
            const { value } = parse_json_body(bytes);
            if (!is_object(value) || !Array.isArray(value.annotations)) throw invalid('annotations', 'expected a body {"annotations": [...]}');
            return this.#write_image(img, value.annotations, if_match);
        });
    }

    put_categories(if_match, bytes) {
        return this.#guarded(() => {
            const { value } = parse_json_body(bytes);
            if (!is_object(value) || !Array.isArray(value.categories)) throw invalid('categories', 'expected a body {"categories": [...]}');
            return this.#write_categories(value.categories, if_match);
        });
    }

    // kind: 'image' (name = file_name) or 'categories'; body {"version": n}.
    restore(kind, name, if_match, bytes) {
        return this.#guarded(async () => {
            const img = kind === IMAGE ? this.#image(name) : null;
            const { value } = parse_json_body(bytes);
            const n = is_object(value) ? value.version : undefined;
            if (!Number.isInteger(n) || n < 1) throw invalid('version', 'expected a body {"version": n} with n >= 1');
            const past = this.db.past(kind, kind === IMAGE ? name : '', n);
            if (!past) throw new store_refusal(404, `no version ${n} of ${kind === IMAGE ? `"${name}"` : 'the categories'}`);
            const content = JSON.parse(past.content.toString());
            const r = kind === IMAGE ? await this.#write_image(img, content, if_match) : await this.#write_categories(content, if_match);
            if (r.status === 200) r.body.restored_from = n;
            return r;
        });
    }

    // The legacy whole-document PUT: If-Match (or the body's "version") is the store version.
    put_document(if_match, bytes) {
        return this.#guarded(() => {
            const { value, text } = parse_json_body(bytes);
            let coco = value, base = if_match, coco_text = text;
            if (is_object(value) && value.coco !== undefined) {
                coco = value.coco;
                coco_text = null;
                if (base === undefined) base = parse_version(value.version);
            } else if (base === undefined && is_object(value)) {
                base = parse_version(value.version);
            }
            const problem = validate_coco(coco);
            if (problem) throw new store_refusal(400, `not a COCO document: ${problem}`);
            const version = this.db.store_version();
            if (base === undefined || Number.isNaN(base)) throw new store_refusal(428, 'send the version you edited: If-Match: <version> or {"version", "coco"}', { version });
            if (base !== version) throw new store_refusal(409, `stale version ${base}: the annotations are at version ${version}`, { version });
            return this.#write_document(coco, coco_text ?? JSON.stringify(coco), { store_version: version });
        });
    }

    async #core_check(text) {
        const r = await this.checker.check(text);
        if (!r.ok) {
            const f = core_failure(r.error);
            throw new store_refusal(f.status, f.error, f.field ? { field: f.field } : {});
        }
        return r;
    }

    async #write_image(img, annotations, if_match) {
        const name = img.file_name;
        for (let attempt = 0; ; attempt++) {
            const cur = this.db.unit(IMAGE, name);
            const have = cur?.version ?? 0;
            if (if_match !== have) {
                throw new store_refusal(409, `stale version ${if_match}: "${name}" is at version ${have}`,
                    { version: have, annotations: cur ? JSON.parse(cur.content.toString()) : [] });
            }
            annotations.forEach((a, i) => {
                if (is_object(a) && a.image_id !== undefined && a.image_id !== img.id) {
                    throw invalid(`annotations[${i}].image_id`, `${JSON.stringify(a.image_id)} is not the id of "${name}" (${img.id}); it may be left out`);
                }
            });
            const filled = annotations.map((a) => (is_object(a) ? with_image_id(a, img.id) : a));
            const content = JSON.stringify(filled);
            const cats = this.db.unit(CATEGORIES, '');
            const image = { id: img.id, file_name: name, width: img.width, height: img.height };
            await this.#core_check(`{"images":[${JSON.stringify(image)}],"categories":${cats?.content ?? '[]'},"annotations":${content}}`);
            if (same(cur?.content, content)) return ok({ version: have });
            try {
                const r = this.db.commit([{ kind: IMAGE, name, content, count: filled.length, image: img, annotations: filled }], {
                    expect: new Map([[unit_key(IMAGE, name), have], [unit_key(CATEGORIES, ''), cats?.version ?? 0]]),
                    rules: (db) => {
                        check_annotation_ids(filled, 'annotations', (id) => db.annotation_owner(id), name);
                        check_annotation_fields(filled, 'annotations');
                    },
                });
                return ok({ version: r.versions.get(unit_key(IMAGE, name)), store_version: r.store_version });
            } catch (err) {
                if (!(err instanceof store_conflict) || attempt >= RETRIES) throw err;
            }
        }
    }

    async #write_categories(categories, if_match) {
        for (let attempt = 0; ; attempt++) {
            const cur = this.db.unit(CATEGORIES, '');
            const have = cur?.version ?? 0;
            if (if_match !== have) {
                throw new store_refusal(409, `stale version ${if_match}: the categories are at version ${have}`,
                    { version: have, categories: cur ? JSON.parse(cur.content.toString()) : [] });
            }
            const content = JSON.stringify(categories);
            await this.#core_check(`{"images":[],"annotations":[],"categories":${content}}`);
            if (same(cur?.content, content)) return ok({ version: have });
            try {
                const r = this.db.commit([{ kind: CATEGORIES, name: '', content, count: categories.length }], {
                    expect: new Map([[unit_key(CATEGORIES, ''), have]]),
                    rules: (db) => {
                        const ids = new Set(categories.map((c) => c.id));
                        for (const u of db.category_usage()) {
                            if (!ids.has(u.category_id)) {
                                throw invalid('categories', `category ${u.category_id} is still used by ${u.n} annotation${u.n === 1 ? '' : 's'} (e.g. on "${u.first}"); recategorise or delete them first`);
                            }
                        }
                    },
                });
                return ok({ version: r.versions.get(unit_key(CATEGORIES, '')), store_version: r.store_version });
            } catch (err) {
                if (!(err instanceof store_conflict) || attempt >= RETRIES) throw err;
            }
        }
    }

    // A whole COCO document becomes per-image units: each image's annotations (image_id
    // mapped to the manifest's id), the categories, and [] for stored images it leaves out.
    // Only units whose content changed get a new version. Images must be the manifest's
    // (same width/height), or ones the store already holds without the manifest naming
    // them; an import keeps unknown images as such (exported, not editable per image).
    async #write_document(coco, coco_text, { store_version = null, import_version = null, meta = {} }) {
        await this.#core_check(coco_text);
        const { by_name } = this.images.current();
        const stored = new Map(this.db.snapshot().images.map((u) => [u.name, u]));
        const targets = new Map();  // COCO image id -> {file_name, id, width, height}
        coco.images.forEach((im, i) => {
            const s = stored.get(im.file_name);
            const known = by_name.get(im.file_name) ||
                (s && { id: s.image_id, file_name: im.file_name, width: s.width, height: s.height }) ||
                (import_version !== null && { id: im.id, file_name: im.file_name, width: im.width, height: im.height });
            if (!known) throw invalid(`images[${i}].file_name`, `"${im.file_name}" is not an image of this dataset (manifest.json)`);
            if (known.width !== im.width || known.height !== im.height) {
                throw invalid(`images[${i}]`, `"${im.file_name}" is ${im.width}x${im.height} here but ${known.width}x${known.height} in the dataset`);
            }
            targets.set(im.id, { file_name: known.file_name, id: known.id, width: known.width, height: known.height });
        });
        check_annotation_ids(coco.annotations, 'annotations');
        check_annotation_fields(coco.annotations, 'annotations');
        const units = new Map([...targets.values()].map((t) => [t.file_name, { image: t, annotations: [] }]));
        for (const a of coco.annotations) {
            const t = targets.get(a.image_id);
            units.get(t.file_name).annotations.push(with_image_id(a, t.id));
        }
        for (const [name, s] of stored) if (!units.has(name) && s.count > 0) units.set(name, { image: { id: s.image_id, width: s.width, height: s.height }, annotations: [] });
        const changes = [];
        for (const [name, u] of units) {
            const content = JSON.stringify(u.annotations);
            if (same(stored.get(name)?.content, content) || (!stored.has(name) && u.annotations.length === 0)) continue;
            changes.push({ kind: IMAGE, name, content, count: u.annotations.length, image: u.image, annotations: u.annotations });
        }
        const cats_content = JSON.stringify(coco.categories);
        const cats = this.db.unit(CATEGORIES, '');
        if (!same(cats?.content, cats_content) && !(coco.categories.length === 0 && !cats)) {
            changes.push({ kind: CATEGORIES, name: '', content: cats_content, count: coco.categories.length });
        }
        if (changes.length === 0 && import_version === null) return ok({ version: this.db.store_version(), annotations: coco.annotations.length });
        try {
            const r = this.db.commit(changes, { store_version, set_store_version: import_version, meta });
            return ok({ version: r.store_version, annotations: coco.annotations.length });
        } catch (err) {
            if (err instanceof store_conflict) throw new store_refusal(409, `stale version ${store_version}: the annotations are at version ${err.version}`, { version: err.version });
            throw err;
        }
    }
}
