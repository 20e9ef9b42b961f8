// dataset_images.mjs - the images of a dataset as the annotations store sees them: the
// COCO image records {id, file_name, width, height} of DATASET/manifest.json, keyed by
// COCO file_name (the manifest's `file` inside images/: "images/a/b.jpg" -> "a/b.jpg",
// the app's coco_file_name). Re-read only when the manifest file changes (POST /api/embed
// replaces it atomically, so a new inode or mtime marks a new version).
//   const images = new dataset_images(dir);
//   const {list, by_name, max_id} = images.current();
import fs from 'node:fs';
import path from 'node:path';

export function coco_file_name(file) {
    for (const prefix of ['images/', 'local:']) if (file.startsWith(prefix)) return file.slice(prefix.length);
    return file;
}

export class dataset_images {
    constructor(dir) {
        this.file = path.join(dir, 'manifest.json');
        this.key = null;
        this.value = { list: [], by_name: new Map(), max_id: 0, key: 'none' };
    }

    current() {
        const st = fs.statSync(this.file, { throwIfNoEntry: false, bigint: true });
        const key = st ? `${st.ino}:${st.size}:${st.mtimeNs}` : 'none';
        if (key === this.key) return this.value;
        const list = [];
        if (st) {
            let m;
            try { m = JSON.parse(fs.readFileSync(this.file, 'utf8')); } catch (err) {
                // A manifest being replaced is never torn (atomic rename); this is a broken file.
                throw new Error(`${this.file}: not valid JSON (${err.message})`);
            }
            for (const e of Array.isArray(m?.images) ? m.images : []) {
                if (!e || typeof e.file !== 'string' || !Number.isInteger(e.id) || !Number.isInteger(e.width) || !Number.isInteger(e.height)) continue;
                list.push({ id: e.id, file_name: coco_file_name(e.file), width: e.width, height: e.height });
            }
        }
        const by_name = new Map(list.map((im) => [im.file_name, im]));
        this.key = key;
        this.value = { list, by_name, max_id: list.reduce((a, im) => Math.max(a, im.id), 0), key };
        return this.value;
    }
}
