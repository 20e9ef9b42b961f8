// http_server.mjs - the local annotation server (what scripts/serve runs).
//   const srv = await start_server({port, host, app_dirs, datasets, max_body_mb, embed});
//   srv.url, srv.datasets, await srv.close()
// Routes: / -> the app (first of app_dirs holding the file), /datasets/<name>/...
// -> a dataset folder, GET /api/datasets, GET/PUT /api/annotations/<name>,
// POST /api/embed?dataset=<name> (only with an encoder). Every response carries
// COOP/COEP/CORP so ONNX Runtime Web may use threads (SharedArrayBuffer).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { path_segments, resolve_static, send_file, bad_path } from './static_files.mjs';
import { annotations_store, validate_coco } from './annotations_store.mjs';

const ISOLATION_HEADERS = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
};

export class http_error extends Error {
    constructor(status, message, body) { super(message); this.status = status; this.body = body; }
}

// Reads at most `limit` bytes; beyond that it stops reading and throws 413, so a
// huge upload is never held in memory.
export function read_body(req, limit) {
    return new Promise((resolve, reject) => {
        const declared = Number(req.headers['content-length']);
        if (Number.isFinite(declared) && declared > limit) {
            reject(new http_error(413, `body of ${declared} bytes is over the limit of ${limit} bytes`));
            return;
        }
        const chunks = [];
        let size = 0;
        let done = false;
        req.on('data', (chunk) => {
            if (done) return;
            size += chunk.length;
            if (size > limit) {
                done = true;
                chunks.length = 0;
                req.pause();
                reject(new http_error(413, `body is over the limit of ${limit} bytes`));
                return;
            }
            chunks.push(chunk);
        });
        req.on('end', () => { if (!done) { done = true; resolve(Buffer.concat(chunks)); } });
        req.on('error', (err) => { if (!done) { done = true; reject(err); } });
    });
}

function send_json(res, status, obj, headers = {}) {
    const body = Buffer.from(JSON.stringify(obj));
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store', ...headers });
    res.end(body);
}

function send_error(req, res, status, message, body = {}) {
    if (res.headersSent) { res.destroy(); return; }
    send_json(res, status, { error: message, ...body });
    if (!req.complete) {
        // A refused upload is still arriving. Closing now would make the kernel
        // reset the connection and the client might never see the 413, so the
        // rest is read and thrown away (never stored); a client that keeps
        // sending for long is cut off.
        let discarded = 0;
        const cut = setTimeout(() => req.socket.destroy(), 15000);
        req.on('data', (d) => { discarded += d.length; if (discarded > 256 * 1024 * 1024) req.socket.destroy(); });
        req.on('end', () => clearTimeout(cut));
        req.on('close', () => clearTimeout(cut));
        req.resume();
    }
}

export function is_loopback(host) {
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

// Unique URL names for dataset folders: basename, then basename-2, -3 ...
export function name_datasets(dirs) {
    const out = new Map();
    for (const dir of dirs) {
        const base = path.basename(path.resolve(dir)).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '') || 'dataset';
        let name = base;
        for (let i = 2; out.has(name); i++) name = `${base}-${i}`;
        out.set(name, path.resolve(dir));
    }
    return out;
}

function parse_version(v) {
    if (v === undefined || v === null) return undefined;
    const s = String(v).trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
    return /^\d+$/.test(s) ? Number(s) : NaN;
}

export async function start_server(opts = {}) {
    const host = opts.host || '127.0.0.1';
    const app_dirs = (opts.app_dirs || []).map((d) => path.resolve(d));
    const datasets = name_datasets(opts.datasets || []);
    const limit = Math.round((opts.max_body_mb ?? 64) * 1024 * 1024);
    const stores = new Map([...datasets].map(([name, dir]) => [name, new annotations_store(dir)]));
    const embed = opts.embed || null;  // {embed_upload(dataset_dir, bytes, name) -> entry} or null

    async function handle(req, res) {
        for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
        const raw = req.url || '/';
        const q = raw.search(/[?#]/);
        const raw_path = q >= 0 ? raw.slice(0, q) : raw;
        const query = new URLSearchParams(q >= 0 && raw[q] === '?' ? raw.slice(q + 1).split('#')[0] : '');
        let segs;
        try { segs = path_segments(raw_path); } catch (err) {
            if (err instanceof bad_path) return send_error(req, res, 404, 'not found');
            throw err;
        }

        if (segs[0] === 'api') return handle_api(req, res, segs.slice(1), query);

        if (req.method !== 'GET' && req.method !== 'HEAD') return send_error(req, res, 405, 'method not allowed', {});
        let file = null;
        if (segs[0] === 'datasets' && segs.length >= 2) {
            const dir = datasets.get(segs[1]);
            if (dir) file = await resolve_static(dir, segs.slice(2));
        } else {
            for (const root of app_dirs) {
                file = await resolve_static(root, segs);
                if (file) break;
            }
        }
        if (!file || !(await send_file(req, res, file))) return send_error(req, res, 404, 'not found');
    }

    async function handle_api(req, res, segs, query) {
        if (segs[0] === 'datasets' && segs.length === 1) {
            if (req.method !== 'GET') return send_error(req, res, 405, 'method not allowed');
            return send_json(res, 200, {
                datasets: [...datasets].map(([name]) => ({
                    name,
                    url: `/datasets/${encodeURIComponent(name)}/`,
                    manifest: `/datasets/${encodeURIComponent(name)}/manifest.json`,
                    annotations: `/api/annotations/${encodeURIComponent(name)}`,
                })),
                embed: !!embed,
            });
        }
        if (segs[0] === 'annotations' && segs.length === 2) {
            const store = stores.get(segs[1]);
            if (!store) return send_error(req, res, 404, `no dataset named "${segs[1]}"`);
            if (req.method === 'GET' || req.method === 'HEAD') {
                const { version, coco } = await store.get();
                return send_json(res, 200, { ...coco, version }, { ETag: `"${version}"`, 'X-Annotations-Version': String(version) });
            }
            if (req.method === 'PUT') return put_annotations(req, res, store);
            return send_error(req, res, 405, 'method not allowed');
        }
        if (segs[0] === 'embed' && segs.length === 1) {
            if (req.method !== 'POST') return send_error(req, res, 405, 'method not allowed');
            if (!embed) return send_error(req, res, 404, 'embedding is off: start the server with --encoder encoder.onnx');
            const name = query.get('dataset') || (datasets.size === 1 ? [...datasets.keys()][0] : '');
            const dir = datasets.get(name);
            if (!dir) return send_error(req, res, 404, `no dataset named "${name}"`);
            const body = await read_body(req, limit);
            const entry = await embed.embed_upload(dir, body, query.get('name') || req.headers['x-file-name'] || '');
            return send_json(res, 200, { ...entry, embedding_url: `/datasets/${encodeURIComponent(name)}/${entry.embedding}`, image_url: `/datasets/${encodeURIComponent(name)}/${entry.file}` });
        }
        return send_error(req, res, 404, 'no such API');
    }

    async function put_annotations(req, res, store) {
        const body = await read_body(req, limit);
        let doc;
        try { doc = JSON.parse(body.toString('utf8')); } catch (err) {
            return send_error(req, res, 400, `body is not valid JSON: ${err.message}`);
        }
        let coco = doc;
        let base = parse_version(req.headers['if-match']);
        const envelope = doc && typeof doc === 'object' && !Array.isArray(doc) && doc.coco !== undefined;
        if (envelope) {
            coco = doc.coco;
            if (base === undefined) base = parse_version(doc.version);
        } else if (base === undefined && doc && typeof doc === 'object') {
            base = parse_version(doc.version);
        }
        const problem = validate_coco(coco);
        if (problem) return send_error(req, res, 400, `not a COCO document: ${problem}`);
        if (base === undefined || Number.isNaN(base)) {
            const { version } = await store.get();
            return send_error(req, res, 428, 'send the version you edited: If-Match: <version> or {"version", "coco"}', { version });
        }
        const r = await store.put(base, coco);
        if (!r.ok) return send_error(req, res, 409, `stale version ${base}: the annotations are at version ${r.version}`, { version: r.version });
        return send_json(res, 200, { version: r.version }, { ETag: `"${r.version}"`, 'X-Annotations-Version': String(r.version) });
    }

    const server = http.createServer((req, res) => {
        handle(req, res).catch((err) => {
            if (err instanceof http_error) return send_error(req, res, err.status, err.message, err.body);
            console.error(`${req.method} ${req.url}: ${err.stack || err}`);
            send_error(req, res, 500, 'internal error');
        });
    });
    server.requestTimeout = 0;  // embedding uploads on slow links
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port ?? 8080, host, () => { server.off('error', reject); resolve(); });
    });
    const addr = server.address();
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return {
        server,
        port: addr.port,
        url: `http://${shown}:${addr.port}/`,
        datasets,
        close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
    };
}
