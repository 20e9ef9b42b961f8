// annotations_store.mjs - the annotations of the served datasets, as the HTTP thread sees
// them: reads straight from each DATASET/annotations.sqlite (a read-only connection; WAL
// lets it read the last commit while a write is under way) and writes handed to the
// store's worker thread (store_worker.mjs), which parses, validates and commits them.
//   const store = await annotations_store.open(new Map([['cats', '/data/cats']]));  // imports, or throws
//   store.notices                                  // lines to print (imports, files not read)
//   const ds = store.dataset('cats');              // {dir, db, images} or undefined
//   const {status, body} = await store.write('cats', 'put_image', {name, if_match}, bytes);
//   store.export_text('cats')                      // {text: the COCO document (a Buffer), version}
//   await store.close();
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { annotations_db, STORE_FILE, CATEGORIES } from './annotations_db.mjs';
import { dataset_images } from './dataset_images.mjs';
import { find_native_tool } from '../lib/native_tool.mjs';

const COMMA = Buffer.from(',');

// A Buffer may be a view into Node's shared pool: only a whole ArrayBuffer can be moved.
function transferable(buf) {
    if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) return buf;
    return new Uint8Array(buf);
}

export class annotations_store {
    static async open(datasets, { coco_tool = find_native_tool('sam_coco', 'SAM_COCO') } = {}) {
        const s = new annotations_store();
        s.coco_tool = coco_tool;
        s.datasets = new Map();
        s.notices = [];
        s.pending = new Map();
        s.next_id = 1;
        s.worker = null;
        s.exports = new Map();  // name -> {key, text}: one export text per store version
        try {
            for (const [name, dir] of datasets) {
                const { notices } = await s.#call('open', dir);
                s.notices.push(...notices);
                s.datasets.set(name, { dir, db: new annotations_db(path.join(dir, STORE_FILE), { readonly: true }), images: new dataset_images(dir) });
            }
        } catch (err) {
            await s.close();
            throw err;
        }
        return s;
    }

    #start_worker() {
        const w = new Worker(new URL('./store_worker.mjs', import.meta.url), { workerData: { coco_tool: this.coco_tool } });
        w.on('message', ({ id, result, error, stack }) => {
            const p = this.pending.get(id);
            if (!p) return;
            this.pending.delete(id);
            if (error) p.reject(Object.assign(new Error(error), { worker_stack: stack }));
            else p.resolve(result);
        });
        // A dead worker fails what it held; the next write starts a new one (and reopens).
        const fail = (err) => {
            if (this.worker !== w) return;
            this.worker = null;
            for (const p of this.pending.values()) p.reject(err);
            this.pending.clear();
        };
        w.on('error', fail);
        w.on('exit', (code) => fail(new Error(`the store's worker exited (${code})`)));
        this.worker = w;
        return w;
    }

    #call(op, dir, args = {}, body = null) {
        let w = this.worker;
        const reopen = !w && op !== 'open' && op !== 'close';
        if (!w) w = this.#start_worker();
        if (reopen) for (const ds of this.datasets.values()) this.#post(w, 'open', ds.dir).catch(() => {});
        return this.#post(w, op, dir, args, body);
    }

    #post(w, op, dir, args = {}, body = null) {
        return new Promise((resolve, reject) => {
            const id = this.next_id++;
            this.pending.set(id, { resolve, reject });
            const msg = { id, op, dir, args };
            if (body) {
                msg.body = transferable(body);
                w.postMessage(msg, [msg.body.buffer]);
            } else {
                w.postMessage(msg);
            }
        });
    }

    dataset(name) { return this.datasets.get(name); }

    // op: put_image {name, if_match} | put_categories {if_match} | restore {kind, name, if_match}
    // | put_document {if_match}; resolves {status, body}. `body` (a Buffer) is moved to the
    // worker, not copied: the caller must not use it afterwards.
    write(name, op, args, body) { return this.#call(op, this.datasets.get(name).dir, args, body); }

    // The COCO document assembled from the store: images from the manifest (then images the
    // store holds that the manifest no longer names, with fresh ids where theirs are taken),
    // every unit's annotations (image_id = the exported image's id), the categories, and
    // "version", the store version. Built by joining stored bytes (a Buffer); cached per version.
    export_text(name) {
        const ds = this.datasets.get(name);
        const images = ds.images.current();
        const snap = ds.db.snapshot();
        const key = `${snap.version}/${images.key}`;
        const cached = this.exports.get(name);
        if (cached?.key === key) return { text: cached.text, version: snap.version };
        const units = new Map(snap.images.map((u) => [u.name, u]));
        const out = images.list.map((im) => ({ image: im, unit: units.get(im.file_name) }));
        const taken = new Set(images.list.map((im) => im.id));
        let next = images.max_id + 1;
        for (const u of [...units.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
            if (images.by_name.has(u.name) || u.count === 0) continue;
            let id = u.image_id;
            if (taken.has(id)) { while (taken.has(next)) next++; id = next; }
            taken.add(id);
            out.push({ image: { id, file_name: u.name, width: u.width, height: u.height }, unit: u });
        }
        // Each unit's array without its brackets, joined by commas: the stored bytes as they are.
        const parts = [Buffer.from(`{"images":${JSON.stringify(out.map((o) => o.image))},"annotations":[`)];
        let first = true;
        for (const { image, unit } of out) {
            if (!unit || unit.count === 0) continue;
            const bytes = unit.image_id === image.id ? unit.content : Buffer.from(JSON.stringify(JSON.parse(unit.content.toString()).map((a) => ({ ...a, image_id: image.id }))));
            if (!first) parts.push(COMMA);
            parts.push(bytes.subarray(1, bytes.length - 1));
            first = false;
        }
        parts.push(Buffer.from(`],"categories":${snap.categories?.content ?? '[]'},"version":${snap.version}}`));
        const text = Buffer.concat(parts);
        this.exports.set(name, { key, text });
        return { text, version: snap.version };
    }

    // GET .../index: {version, categories: {version}, images: [{file_name, version, count}]}
    // for the images of the manifest that were ever saved.
    index(name) {
        const ds = this.datasets.get(name);
        const { by_name } = ds.images.current();
        const snap = ds.db.index();
        return {
            version: snap.version,
            categories: { version: snap.categories_version },
            images: snap.images.filter((u) => by_name.has(u.file_name)),
        };
    }

    unit(name, kind, unit_name) {
        return this.datasets.get(name).db.unit(kind, kind === CATEGORIES ? '' : unit_name);
    }

    async close() {
        const w = this.worker;
        if (w) {
            await this.#post(w, 'close', '').catch(() => {});
            this.worker = null;
            await w.terminate();
        }
        for (const ds of this.datasets.values()) ds.db.close();
        this.datasets.clear();
    }
}
