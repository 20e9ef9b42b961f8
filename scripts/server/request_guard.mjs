// request_guard.mjs - who may talk to the server, decided before any route runs.
//   const guard = new request_guard({ host: '127.0.0.1', allow_hosts: [], token: null });
//   guard.port = server_port;                      // once listening
//   const r = guard.check(req, query, {api});      // {headers}: go on; {status, error, headers}: answer that
// 1. Host: only names the server listens as (loopback names, --host, --allow-host; with
//    the server's port), so a DNS-rebinding page that calls us by its own name is refused.
// 2. Token (with --host beyond loopback, or --token): Authorization: Bearer, the cookie
//    set when a page was loaded with ?token=, or ?token= itself on a GET.
// 3. Origin: a state-changing request (anything but GET/HEAD/OPTIONS) and every /api
//    request must come from the server's own pages: Origin (when sent) one of ours,
//    Sec-Fetch-Site (when sent) same-origin. Requests with neither are not from a browser
//    page (curl, scripts) and pass. OPTIONS gets no CORS allowance: 403 from a foreign
//    origin, else 204 with Allow.
import crypto from 'node:crypto';
import os from 'node:os';

// Cookies are per host, not per port: the port in the name keeps two servers on one
// machine from overwriting each other's token.
export const token_cookie = (port) => `sam_token_${port}`;
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]', '::1'];

export function is_loopback(host) {
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function is_wildcard(host) { return host === '0.0.0.0' || host === '::' || host === '[::]'; }

// host[:port] of a Host header or an origin, lower-cased; IPv6 keeps its brackets.
function split_host(value) {
    const m = /^(\[[0-9a-f:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?$/i.exec(value || '');
    return m ? { name: m[1].toLowerCase(), port: m[2] === undefined ? null : Number(m[2]) } : null;
}

function same_secret(a, b) {
    const x = Buffer.from(String(a)), y = Buffer.from(String(b));
    return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function cookie(req, name) {
    for (const part of String(req.headers.cookie || '').split(';')) {
        const i = part.indexOf('=');
        if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
    }
    return null;
}

export function new_token() { return crypto.randomBytes(24).toString('base64url'); }

export class request_guard {
    constructor({ host = '127.0.0.1', allow_hosts = [], token = null } = {}) {
        this.port = null;
        this.token = token;
        const names = new Set(LOOPBACK_NAMES);
        const add = (h) => { const s = split_host(h.includes(':') && !h.startsWith('[') ? `[${h}]` : h); if (s) names.add(s.name); };
        add(host);
        for (const h of allow_hosts) add(h);
        // Bound to every interface: the machine's own names and addresses are ours too.
        if (is_wildcard(host)) {
            add(os.hostname());
            for (const list of Object.values(os.networkInterfaces())) for (const a of list || []) add(a.address);
        }
        this.names = names;
    }

    allowed_host(value) {
        const h = split_host(value);
        return !!h && this.names.has(h.name) && (h.port ?? 80) === this.port;
    }

    #authorized(req, query) {
        const auth = String(req.headers.authorization || '');
        if (auth.startsWith('Bearer ') && same_secret(auth.slice(7).trim(), this.token)) return { ok: true };
        const c = cookie(req, token_cookie(this.port));
        if (c && same_secret(c, this.token)) return { ok: true };
        const q = query.get('token');
        if (q && (req.method === 'GET' || req.method === 'HEAD') && same_secret(q, this.token)) {
            // The page's own fetches (scripts, the manifest, embeddings) carry the cookie.
            return { ok: true, headers: { 'Set-Cookie': `${token_cookie(this.port)}=${this.token}; Path=/; HttpOnly; SameSite=Strict` } };
        }
        return { ok: false };
    }

    #own_origin(origin) {
        const m = /^http:\/\/([^/]+)$/i.exec(origin);
        return !!m && this.allowed_host(m[1]);
    }

    check(req, query, { api = false } = {}) {
        if (!this.allowed_host(req.headers.host)) {
            return { status: 403, headers: {}, error: `Host "${req.headers.host ?? ''}" is not served here (scripts/serve --allow-host NAME adds a name)` };
        }
        let headers = {};
        if (this.token) {
            const a = this.#authorized(req, query);
            if (!a.ok) return { status: 401, headers: {}, error: 'a token is required: open the URL scripts/serve printed at start (…/?token=…), or send Authorization: Bearer <token>' };
            headers = a.headers || {};
        }
        const writes = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
        const origin = req.headers.origin;
        const site = req.headers['sec-fetch-site'];
        const foreign = (origin !== undefined && !this.#own_origin(origin)) ||
            (origin === undefined && site !== undefined && site !== 'same-origin' && !(site === 'none' && !writes));
        if (req.method === 'OPTIONS') {
            if (foreign) return { status: 403, headers, error: 'cross-origin requests are not allowed (no CORS here)' };
            return { status: 204, headers: { ...headers, Allow: 'GET, HEAD, PUT, POST, OPTIONS' } };
        }
        // A page of another site may link to the app (a navigation) but not call its API.
        if (foreign && (writes || api)) {
            return { status: 403, headers, error: `refused: ${origin !== undefined ? `Origin ${origin}` : `Sec-Fetch-Site ${site}`} is not this server's own page` };
        }
        return { headers };
    }
}
