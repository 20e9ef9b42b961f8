// static_files.mjs - maps a raw request path onto a file under one served root,
// refusing anything that could escape it, and streams the file with its MIME type.
//   const file = await resolve_static(root, raw_path)  -> absolute real path or null
//   send_file(req, res, file)
// raw_path is the undecoded path of the request line (no query). Every refusal
// returns null so the caller answers 404 (or 400 for malformed encodings).
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';

export const MIME_TYPES = {
    '.html': 'text/html; charset=utf-8',
    '.htm': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.json': 'application/json; charset=utf-8',
    '.map': 'application/json; charset=utf-8',
    '.wasm': 'application/wasm',
    '.onnx': 'application/octet-stream',
    '.ort': 'application/octet-stream',
    '.npy': 'application/octet-stream',
    '.data': 'application/octet-stream',
    '.bin': 'application/octet-stream',
    '.png': 'image/png',
    '.jpg': 'image/jpeg',
    '.jpeg': 'image/jpeg',
    '.gif': 'image/gif',
    '.webp': 'image/webp',
    '.svg': 'image/svg+xml',
    '.ico': 'image/x-icon',
    '.txt': 'text/plain; charset=utf-8',
    '.md': 'text/plain; charset=utf-8',
};

export function mime_type(file) {
    return MIME_TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
}

export class bad_path extends Error {}

// Splits a raw URL path into safe decoded segments, or throws bad_path.
// We decode once, ourselves, rather than letting WHATWG URL do it: that parser
// folds `\` into `/` and resolves `%2e%2e`, hiding the attack from the checks.
export function path_segments(raw_path) {
    if (typeof raw_path !== 'string' || !raw_path.startsWith('/')) throw new bad_path('path must start with /');
    if (/[\\\0]/.test(raw_path)) throw new bad_path('backslash or NUL in path');
    // Encoded separators or NUL would make one segment act as several after decoding.
    if (/%(2f|5c|00)/i.test(raw_path)) throw new bad_path('encoded separator in path');
    const out = [];
    for (const raw of raw_path.split('/')) {
        if (raw === '') continue;
        let seg;
        try { seg = decodeURIComponent(raw); } catch { throw new bad_path('malformed percent-encoding'); }
        // A '%' surviving one decode means double encoding (%252e): never legitimate here.
        if (seg.includes('%')) throw new bad_path('double-encoded path');
        if (/[\\/\0]/.test(seg)) throw new bad_path('separator in segment');
        if (seg === '.' || seg === '..') throw new bad_path('dot segment');
        // Dotfiles (.git, temp files of atomic writes) are never served.
        if (seg.startsWith('.')) throw new bad_path('hidden file');
        out.push(seg);
    }
    return out;
}

function inside(root_real, p) {
    return p === root_real || p.startsWith(root_real.endsWith(path.sep) ? root_real : root_real + path.sep);
}

// Returns the real path of a regular file under root for these segments, or null.
// Directories resolve to their index.html (no listings).
export async function resolve_static(root, segments) {
    let root_real;
    try { root_real = await fs.promises.realpath(root); } catch { return null; }
    let candidate = path.join(root_real, ...segments);
    if (!inside(root_real, candidate)) return null;
    let real;
    try { real = await fs.promises.realpath(candidate); } catch { return null; }
    // Symlinks may point anywhere: judge where they land, not their name.
    if (!inside(root_real, real)) return null;
    let st = await fs.promises.stat(real).catch(() => null);
    if (st && st.isDirectory()) {
        candidate = path.join(real, 'index.html');
        real = await fs.promises.realpath(candidate).catch(() => null);
        if (!real || !inside(root_real, real)) return null;
        st = await fs.promises.stat(real).catch(() => null);
    }
    if (!st || !st.isFile()) return null;
    return real;
}

// Streams the file; the stream (and its descriptor) is destroyed when the client goes away
// (pipeline), and a response whose client left while the file was opening closes it at once.
export async function send_file(req, res, file, extra_headers = {}) {
    let fh;
    try { fh = await fs.promises.open(file, 'r'); } catch { return false; }
    let st;
    try { st = await fh.stat(); } catch { await fh.close(); return false; }
    if (res.destroyed) { await fh.close(); return true; }
    const etag = `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const headers = {
        'Content-Type': mime_type(file),
        'Content-Length': st.size,
        'Last-Modified': st.mtime.toUTCString(),
        'ETag': etag,
        'Cache-Control': 'no-cache',
        ...extra_headers,
    };
    if (req.headers['if-none-match'] === etag) {
        await fh.close();
        delete headers['Content-Length'];
        res.writeHead(304, headers);
        res.end();
        return true;
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') { await fh.close(); res.end(); return true; }
    pipeline(fh.createReadStream(), res, () => {});  // the read stream closes fh (autoClose)
    return true;
}
