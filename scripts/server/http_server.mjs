// http_server.mjs - the local annotation server (what scripts/serve runs).
//   const srv = await start_server({port, host, app_dirs, datasets, max_body_mb, embed, ...limits});
//   srv.url, srv.token (null on loopback), srv.datasets, srv.notices, await srv.close()
// Routes: / -> the app (first of app_dirs holding the file), /datasets/<name>/... -> a
// dataset folder, GET /api/datasets, /api/annotations/<name>/... (annotations_api.mjs),
// POST /api/embed?dataset=<name> (only with an encoder). Every request passes the guard
// first (request_guard.mjs: Host, token, Origin); bodies are read within bounds
// (request_body.mjs). Every response carries COOP/COEP/CORP so ONNX Runtime Web may use
// threads (SharedArrayBuffer), and refuses to be framed by other pages.
import http from 'node:http';
import path from 'node:path';
import { path_segments, resolve_static, send_file, bad_path } from './static_files.mjs';
import { annotations_store } from './annotations_store.mjs';
import { handle_annotations } from './annotations_api.mjs';
import { request_guard, is_loopback, new_token } from './request_guard.mjs';
import { http_error, body_budget, read_body } from './request_body.mjs';
import { remove_leftovers } from './atomic_file.mjs';
import { STORE_FILE } from './annotations_db.mjs';
import { recover_embeds } from '../embedder/embed_journal.mjs';

export { http_error, is_loopback };

const SECURITY_HEADERS = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    // A page that frames the app could lead clicks into same-origin writes.
    'Content-Security-Policy': "frame-ancestors 'none'",
    'X-Frame-Options': 'DENY',
    // The page URL may hold ?token=; never hand it to another site.
    'Referrer-Policy': 'no-referrer',
};

// The store's own files are not content: never served as static files.
const STORE_FILES_RE = new RegExp(`^${STORE_FILE.replace('.', '\\.')}(-wal|-shm|-journal)?$`);

function send_text(res, status, text, headers = {}) {
    const body = Buffer.isBuffer(text) ? text : Buffer.from(text);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store', ...headers });
    res.end(res.req.method === 'HEAD' ? undefined : body);
}

function send_json(res, status, obj, headers = {}) {
    send_text(res, status, JSON.stringify(obj), headers);
}

function send_error(req, res, status, message, body = {}, { close = false, headers = {} } = {}) {
    if (res.headersSent) { res.destroy(); return; }
    if (close) {
        // A stalled upload: answer and hang up; its few buffered bytes are not worth reading.
        res.setHeader('Connection', 'close');
        res.once('finish', () => setTimeout(() => req.socket.destroy(), 500).unref());
    }
    send_json(res, status, { error: message, ...body }, headers);
    if (!req.complete && !close) {
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

// Decoded segments of an /api path. Unlike static paths, an API segment may hold an
// encoded "/" (a file_name like "a%2Fb.jpg"): it is only ever a lookup key.
function api_segments(raw_path) {
    const out = [];
    for (const raw of raw_path.split('/')) {
        if (raw === '') continue;
        try { out.push(decodeURIComponent(raw)); } catch { throw new http_error(400, 'malformed percent-encoding in the path'); }
    }
    return out;
}

export async function start_server(opts = {}) {
    const host = opts.host || '127.0.0.1';
    const app_dirs = (opts.app_dirs || []).map((d) => path.resolve(d));
    const datasets = name_datasets(opts.datasets || []);
    const limit = Math.round((opts.max_body_mb ?? 64) * 1024 * 1024);
    const budget = new body_budget(Math.round((opts.max_in_flight_mb ?? 4 * (opts.max_body_mb ?? 64)) * 1024 * 1024));
    const body_timeout_ms = Math.round((opts.body_timeout_s ?? 30) * 1000);
    const header_timeout_ms = Math.round((opts.header_timeout_s ?? 10) * 1000);
    const embed = opts.embed || null;  // {embed_upload(dataset_dir, bytes, name) -> entry} or null
    const token = opts.token === true || (opts.token === undefined && !is_loopback(host)) ? new_token() : (opts.token || null);
    const guard = new request_guard({ host, allow_hosts: opts.allow_hosts || [], token });

    // Crash hygiene before anything is served: a killed embed's half-made files, then the
    // temp files of dead writers (ours: the host and pid are in their names).
    const notices = [];
    for (const dir of datasets.values()) {
        notices.push(...recover_embeds(dir));
        for (const f of remove_leftovers(dir)) notices.push(`removed ${f} (left by a killed process)`);
    }
    const store = await annotations_store.open(datasets, opts.coco_tool ? { coco_tool: opts.coco_tool } : {});
    notices.push(...store.notices);
    const read = (req, res) => read_body(req, res, { limit, budget, timeout_ms: body_timeout_ms });

    async function handle(req, res) {
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
        const raw = req.url || '/';
        const q = raw.search(/[?#]/);
        const raw_path = q >= 0 ? raw.slice(0, q) : raw;
        const query = new URLSearchParams(q >= 0 && raw[q] === '?' ? raw.slice(q + 1).split('#')[0] : '');
        const is_api = raw_path === '/api' || raw_path.startsWith('/api/');
        const verdict = guard.check(req, query, { api: is_api });
        for (const [k, v] of Object.entries(verdict.headers)) res.setHeader(k, v);
        if (verdict.status === 204) { res.writeHead(204); res.end(); return; }
        if (verdict.status) return send_error(req, res, verdict.status, verdict.error);

        if (is_api) return handle_api(req, res, api_segments(raw_path).slice(1), query);

        let segs;
        try { segs = path_segments(raw_path); } catch (err) {
            if (err instanceof bad_path) return send_error(req, res, 404, 'not found');
            throw err;
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') return send_error(req, res, 405, 'method not allowed', {}, { headers: { Allow: 'GET, HEAD' } });
        let file = null;
        if (segs[0] === 'datasets' && segs.length >= 2) {
            const dir = datasets.get(segs[1]);
            const store_file = segs.length === 3 && STORE_FILES_RE.test(segs[2]);
            if (dir && !store_file) file = await resolve_static(dir, segs.slice(2));
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
            if (req.method !== 'GET' && req.method !== 'HEAD') return send_error(req, res, 405, 'method not allowed');
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
        if (segs[0] === 'annotations' && segs.length >= 2) {
            return handle_annotations({ store, read, send_json, send_text }, req, res, segs.slice(1));
        }
        if (segs[0] === 'embed' && segs.length === 1) {
            if (req.method !== 'POST') return send_error(req, res, 405, 'method not allowed');
            if (!embed) return send_error(req, res, 404, 'embedding is off: start the server with --encoder encoder.onnx');
            const name = query.get('dataset') || (datasets.size === 1 ? [...datasets.keys()][0] : '');
            const dir = datasets.get(name);
            if (!dir) return send_error(req, res, 404, `no dataset named "${name}"`);
            const body = await read(req, res);
            const entry = await embed.embed_upload(dir, body, query.get('name') || req.headers['x-file-name'] || '');
            return send_json(res, 200, { ...entry, embedding_url: `/datasets/${encodeURIComponent(name)}/${entry.embedding}`, image_url: `/datasets/${encodeURIComponent(name)}/${entry.file}` });
        }
        return send_error(req, res, 404, 'no such API');
    }

    const server = http.createServer({
        headersTimeout: header_timeout_ms,
        requestTimeout: 0,  // bodies have their own deadline (read_body), fitted to their size
        connectionsCheckingInterval: Math.max(100, Math.min(1000, header_timeout_ms / 2)),
        keepAliveTimeout: 5000,
    }, (req, res) => {
        handle(req, res).catch((err) => {
            if (err instanceof http_error) return send_error(req, res, err.status, err.message, err.body, err);
            console.error(`${req.method} ${req.url}: ${err.worker_stack || err.stack || err}`);
            send_error(req, res, 500, 'internal error');
        });
    });
    server.maxConnections = opts.max_connections ?? 128;
    // A socket with nothing moving either way (a client that stopped reading a download).
    server.setTimeout(Math.round((opts.idle_timeout_s ?? 120) * 1000));
    try {
        await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(opts.port ?? 8080, host, () => { server.off('error', reject); resolve(); });
        });
    } catch (err) {
        await store.close();
        throw err;
    }
    const addr = server.address();
    guard.port = addr.port;
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return {
        server,
        port: addr.port,
        url: `http://${shown}:${addr.port}/`,
        token,
        datasets,
        notices,
        budget,
        close: async () => {
            await new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); });
            await store.close();
        },
    };
}
