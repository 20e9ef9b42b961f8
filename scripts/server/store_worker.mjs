// store_worker.mjs - the worker thread that owns every write to the annotations stores
// (started by annotations_store.mjs). Messages in: {id, op, dir, args, body?}; out:
// {id, result: {status, body}} or {id, error}. Jobs run one at a time, in arrival order,
// so version checks and commits never interleave; reads stay on the HTTP thread.
import { parentPort, workerData } from 'node:worker_threads';
import { annotations_writer } from './annotations_writer.mjs';
import { coco_checker } from './coco_check.mjs';

const checker = coco_checker.start(workerData.coco_tool);
const writers = new Map();
let queue = Promise.resolve();

function writer(dir) {
    const w = writers.get(dir);
    if (!w) throw new Error(`store of ${dir} is not open`);
    return w;
}

const ops = {
    async open(dir) {
        if (writers.has(dir)) return { notices: [] };
        const w = new annotations_writer(dir, checker);
        try {
            const notices = await w.open();
            writers.set(dir, w);
            return { notices };
        } catch (err) { w.close(); throw err; }
    },
    put_image: (dir, { name, if_match }, body) => writer(dir).put_image(name, if_match, body),
    put_categories: (dir, { if_match }, body) => writer(dir).put_categories(if_match, body),
    restore: (dir, { kind, name, if_match }, body) => writer(dir).restore(kind, name, if_match, body),
    put_document: (dir, { if_match }, body) => writer(dir).put_document(if_match, body),
    close() {
        for (const w of writers.values()) w.close();
        writers.clear();
        checker.close();
        return {};
    },
};

parentPort.on('message', ({ id, op, dir, args, body }) => {
    queue = queue.then(async () => {
        try {
            const result = await ops[op](dir, args || {}, body ? Buffer.from(body.buffer, body.byteOffset, body.byteLength) : null);
            parentPort.postMessage({ id, result });
        } catch (err) {
            parentPort.postMessage({ id, error: err.message, stack: err.stack });
        }
    });
});
