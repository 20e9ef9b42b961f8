// annotations_store.mjs - the COCO annotations of one dataset, versioned.
// DATASET/annotations.json holds the COCO document plus a top-level integer
// "version" (pycocotools ignores unknown keys). get() -> {version, coco};
// put(base_version, coco) -> {ok, version} or {ok:false, conflict, version}.
// A put based on an old version is refused so two tabs never overwrite each other.
import fs from 'node:fs';
import path from 'node:path';
import { write_file_atomic } from './atomic_file.mjs';

export const ANNOTATIONS_FILE = 'annotations.json';

// Returns an error message for a body that is not a COCO document, or '' when fine.
export function validate_coco(coco) {
    if (coco === null || typeof coco !== 'object' || Array.isArray(coco)) return 'body must be a JSON object with images, annotations and categories arrays';
    for (const key of ['images', 'annotations', 'categories']) {
        if (!Array.isArray(coco[key])) return `"${key}" must be an array (got ${coco[key] === undefined ? 'nothing' : typeof coco[key]})`;
        const i = coco[key].findIndex((x) => x === null || typeof x !== 'object' || Array.isArray(x));
        if (i >= 0) return `"${key}"[${i}] must be an object`;
    }
    return '';
}

export class annotations_store {
    constructor(dataset_dir) {
        this.file = path.join(dataset_dir, ANNOTATIONS_FILE);
        this.queue = Promise.resolve();  // serialises read-check-write per dataset
    }

    async #read() {
        let text;
        try { text = await fs.promises.readFile(this.file, 'utf8'); } catch (err) {
            if (err.code === 'ENOENT') return { version: 0, coco: { images: [], annotations: [], categories: [] } };
            throw err;
        }
        const coco = JSON.parse(text);
        const version = Number.isInteger(coco.version) ? coco.version : 1;
        delete coco.version;
        return { version, coco };
    }

    #locked(fn) {
        const run = this.queue.then(fn, fn);
        this.queue = run.catch(() => {});
        return run;
    }

    get() { return this.#locked(() => this.#read()); }

    put(base_version, coco) {
        return this.#locked(async () => {
            const current = await this.#read();
            if (base_version !== current.version) return { ok: false, conflict: true, version: current.version };
            const version = current.version + 1;
            const { version: _drop, ...rest } = coco;
            await write_file_atomic(this.file, JSON.stringify({ ...rest, version }));
            return { ok: true, version };
        });
    }
}
