// Security of scripts/serve against other web pages (issue 13): every write route refuses
// a foreign Origin / Sec-Fetch-Site / Host and leaves the dataset as it was; reads under a
// foreign Host (DNS rebinding) and foreign-origin API reads are refused; OPTIONS grants
// no CORS; the token flow with --token / --host; framing and referrer headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn_server, raw_request } from './server_harness.mjs';
import { TINY } from './embed_harness.mjs';
import { test_picture } from './png_file.mjs';

let tmp, ds, srv, own;

const annotation = (id) => ({ id, category_id: 1, segmentation: [[1, 1, 9, 1, 5, 8]], iscrowd: 0 });

before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-security-'));
    ds = path.join(tmp, 'ds');
    fs.mkdirSync(path.join(ds, 'images'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'index.html'), '<!doctype html><title>app</title>');
    fs.writeFileSync(path.join(ds, 'images', 'a.png'), test_picture(16, 12, 1));
    fs.writeFileSync(path.join(ds, 'manifest.json'), JSON.stringify({ version: 1, images: [{ id: 1, file: 'images/a.png', width: 16, height: 12 }] }));
    srv = await spawn_server(['--app', tmp, '--encoder', path.join(TINY, 'encoder.onnx'), ds]);
    own = `http://127.0.0.1:${srv.port}`;
    // A first version of each unit, so restore has something to restore.
    const put = (target, body, v) => raw_request(srv.port, { method: 'PUT', target, headers: { 'If-Match': `"${v}"` }, body: JSON.stringify(body) });
    assert.equal((await put('/api/annotations/ds/categories', { categories: [{ id: 1, name: 'cat' }] }, 0)).status, 200);
    assert.equal((await put('/api/annotations/ds/images/a.png', { annotations: [annotation(1)] }, 0)).status, 200);
});

after(async () => {
    await srv?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
});

async function state() {
    const index = JSON.parse((await raw_request(srv.port, { target: '/api/annotations/ds/index' })).body);
    return { index, manifest: fs.readFileSync(path.join(ds, 'manifest.json'), 'utf8'), files: fs.readdirSync(path.join(ds, 'images')).sort() };
}

// Every state-changing route, with a body it would accept from the app's own page.
function write_routes() {
    return [
        { method: 'PUT', target: '/api/annotations/ds', headers: { 'If-Match': '2' }, body: JSON.stringify({ images: [{ id: 1, file_name: 'a.png', width: 16, height: 12 }], annotations: [], categories: [] }) },
        { method: 'PUT', target: '/api/annotations/ds/images/a.png', headers: { 'If-Match': '1' }, body: JSON.stringify({ annotations: [annotation(1), annotation(2)] }) },
        { method: 'PUT', target: '/api/annotations/ds/categories', headers: { 'If-Match': '1' }, body: JSON.stringify({ categories: [{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }] }) },
        { method: 'POST', target: '/api/annotations/ds/images/a.png/restore', headers: { 'If-Match': '1' }, body: JSON.stringify({ version: 1 }) },
        { method: 'POST', target: '/api/annotations/ds/categories/restore', headers: { 'If-Match': '1' }, body: JSON.stringify({ version: 1 }) },
        // The attack of the issue: a "simple" request (text/plain, no preflight) adding an image.
        { method: 'POST', target: '/api/embed?dataset=ds&name=evil.png', headers: { 'Content-Type': 'text/plain' }, body: test_picture(20, 20, 99) },
        { method: 'DELETE', target: '/api/annotations/ds', headers: {}, body: null },
        { method: 'PATCH', target: '/api/annotations/ds/images/a.png', headers: {}, body: '{}' },
    ];
}

test('every write route refuses foreign Origin, Sec-Fetch-Site and Host; nothing changes', async () => {
    const before_state = await state();
    const port = srv.port;
    const attacks = [
        { Origin: 'https://evil.example' },
        { Origin: 'null' },
        { Origin: `http://127.0.0.1:${port + 1}` },           // another local server: same site, other origin
        { Origin: `https://127.0.0.1:${port}` },              // other scheme
        { Origin: `http://127.0.0.1.evil.example:${port}` },
        { 'Sec-Fetch-Site': 'cross-site' },
        { 'Sec-Fetch-Site': 'same-site' },
        { 'Sec-Fetch-Site': 'none' },                         // no user types a PUT into the address bar
        { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` },  // DNS rebinding
        { Host: `evil.example:${port}` },
        { Host: `127.0.0.1:${port + 1}` },
        { Host: `127.0.0.1:${port}`, Origin: 'https://evil.example', 'Sec-Fetch-Site': 'same-origin' },
    ];
    for (const route of write_routes()) {
        for (const attack of attacks) {
            const r = await raw_request(port, { ...route, headers: { ...route.headers, ...attack } });
            assert.equal(r.status, 403, `${route.method} ${route.target} with ${JSON.stringify(attack)} -> ${r.status} ${r.body}`);
            assert.match(JSON.parse(r.body).error, /not this server's own page|is not served here/);
            assert.equal(r.headers['access-control-allow-origin'], undefined);
        }
    }
    assert.deepEqual(await state(), before_state, 'a refused request changed the dataset');
});

test("the server's own pages may write (positive control for the refusals above)", async () => {
    const port = srv.port;
    const routes = write_routes();
    let r = await raw_request(port, { ...routes[1], headers: { ...routes[1].headers, Origin: own, 'Sec-Fetch-Site': 'same-origin' } });
    assert.equal(r.status, 200, String(r.body));
    assert.equal(JSON.parse(r.body).version, 2);
    // localhost is the same server under another loopback name.
    r = await raw_request(port, { ...routes[2], headers: { ...routes[2].headers, Host: `localhost:${port}`, Origin: `http://localhost:${port}` } });
    assert.equal(r.status, 200, String(r.body));
    // No Origin and no Sec-Fetch-*: not a browser page (curl, scripts): allowed on loopback.
    r = await raw_request(port, { method: 'POST', target: '/api/annotations/ds/images/a.png/restore', headers: { 'If-Match': '2' }, body: JSON.stringify({ version: 1 }) });
    assert.equal(r.status, 200, String(r.body));
    assert.deepEqual(JSON.parse(r.body), { version: 3, store_version: 5, restored_from: 1 });
    r = await raw_request(port, { ...routes[5], headers: { 'Content-Type': 'application/octet-stream', Origin: own } });
    assert.equal(r.status, 200, String(r.body));
    assert.equal(JSON.parse(r.body).file, 'images/evil.png');
});

test('reads under a foreign Host are refused (DNS rebinding), API reads from foreign origins too', async () => {
    const port = srv.port;
    const reads = ['/', '/index.html', '/api/datasets', '/api/annotations/ds', '/api/annotations/ds/index',
        '/api/annotations/ds/images/a.png', '/datasets/ds/manifest.json', '/datasets/ds/images/a.png'];
    for (const target of reads) {
        for (const host of [`evil.example:${port}`, `evil.example`, `127.0.0.1:${port + 1}`, `127.0.0.1.nip.io:${port}`, '']) {
            const r = await raw_request(port, { target, headers: { Host: host } });
            assert.equal(r.status, 403, `GET ${target} Host "${host}" -> ${r.status}`);
            assert.ok(!r.body.includes('"images"') && !r.body.includes('<title>'), `GET ${target} Host ${host} leaked content`);
        }
        assert.equal((await raw_request(port, { target })).status, 200, target);
    }
    for (const target of reads.filter((t) => t.startsWith('/api/'))) {
        for (const h of [{ Origin: 'https://evil.example' }, { 'Sec-Fetch-Site': 'cross-site' }, { Origin: 'null' }]) {
            const r = await raw_request(port, { target, headers: h });
            assert.equal(r.status, 403, `GET ${target} ${JSON.stringify(h)} -> ${r.status}`);
        }
        assert.equal((await raw_request(port, { target, headers: { Origin: own, 'Sec-Fetch-Site': 'same-origin' } })).status, 200, target);
    }
    // Another site may still link to the app: a navigation is not an API call.
    assert.equal((await raw_request(port, { target: '/', headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' } })).status, 200);
    // A raw request without any Host header (HTTP/1.0 style) is not served either.
    const sock = await new Promise((resolve) => {
        const chunks = [];
        const s = net.connect(port, '127.0.0.1', () => s.write('GET /api/datasets HTTP/1.0\r\n\r\n'));
        s.on('data', (d) => chunks.push(d));
        s.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    assert.match(sock, /^HTTP\/1\.[01] 403/);
});

test('OPTIONS: no CORS allowance; 403 for a foreign preflight, 204 + Allow otherwise', async () => {
    const port = srv.port;
    for (const target of ['/api/annotations/ds', '/api/embed', '/api/annotations/ds/images/a.png']) {
        const pre = await raw_request(port, { method: 'OPTIONS', target, headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'if-match' } });
        assert.equal(pre.status, 403, target);
        const own_pre = await raw_request(port, { method: 'OPTIONS', target, headers: { Origin: own } });
        assert.equal(own_pre.status, 204, target);
        assert.match(own_pre.headers.allow, /PUT/);
        for (const r of [pre, own_pre]) {
            for (const h of Object.keys(r.headers)) assert.ok(!h.startsWith('access-control-'), `${target}: ${h}`);
        }
    }
});

test('every response refuses framing and referrers', async () => {
    for (const target of ['/', '/api/datasets', '/nope']) {
        const r = await raw_request(srv.port, { target });
        assert.equal(r.headers['x-frame-options'], 'DENY', target);
        assert.match(r.headers['content-security-policy'], /frame-ancestors 'none'/, target);
        assert.equal(r.headers['referrer-policy'], 'no-referrer', target);
    }
});

test('the store files are not served as dataset files', async () => {
    assert.ok(fs.existsSync(path.join(ds, 'annotations.sqlite')));
    for (const f of ['annotations.sqlite', 'annotations.sqlite-wal', 'annotations.sqlite-shm']) {
        assert.equal((await raw_request(srv.port, { target: `/datasets/ds/${f}` })).status, 404, f);
    }
});

test('--token: every request needs the token; ?token= on a page load sets an HttpOnly SameSite=Strict cookie', async () => {
    const t = await spawn_server(['--token', '--app', tmp, ds]);
    try {
        assert.match(t.token, /^[A-Za-z0-9_-]{32}$/);
        assert.match(t.output(), new RegExp(`\\nopen http://127\\.0\\.0\\.1:${t.port}/\\?token=${t.token}\\n`));
        const p = t.port;
        for (const target of ['/', '/index.html', '/api/datasets', '/api/annotations/ds', '/datasets/ds/manifest.json']) {
            assert.equal((await raw_request(p, { target })).status, 401, target);
            assert.equal((await raw_request(p, { target: `${target}?token=wrong` })).status, 401, target);
            assert.equal((await raw_request(p, { target, headers: { Authorization: 'Bearer wrong' } })).status, 401, target);
            assert.equal((await raw_request(p, { target, headers: { Cookie: `sam_token_${p}=wrong` } })).status, 401, target);
        }
        const page = await raw_request(p, { target: `/?token=${t.token}` });
        assert.equal(page.status, 200);
        const cookie = page.headers['set-cookie'];
        assert.match(cookie, new RegExp(`^sam_token_${p}=${t.token};`));
        assert.match(cookie, /HttpOnly/);
        assert.match(cookie, /SameSite=Strict/);
        // The page's own fetches carry the cookie; its API calls send the bearer token.
        const jar = { Cookie: `other=1; sam_token_${p}=${t.token}` };
        // Another server's cookie (another port on this host) is not this one's token.
        assert.equal((await raw_request(p, { target: '/datasets/ds/manifest.json', headers: { Cookie: `sam_token_${p + 1}=${t.token}` } })).status, 401);
        assert.equal((await raw_request(p, { target: '/datasets/ds/manifest.json', headers: jar })).status, 200);
        assert.equal((await raw_request(p, { target: '/api/annotations/ds/index', headers: { Authorization: `Bearer ${t.token}` } })).status, 200);
        const idx = JSON.parse((await raw_request(p, { target: '/api/annotations/ds/index', headers: jar })).body);
        const body = JSON.stringify({ annotations: [annotation(7)] });
        const v = JSON.parse((await raw_request(p, { target: '/api/annotations/ds/images/a.png', headers: jar })).body).version;
        // A token in the query is for page loads only, never for a write.
        let r = await raw_request(p, { method: 'PUT', target: `/api/annotations/ds/images/a.png?token=${t.token}`, headers: { 'If-Match': String(v) }, body });
        assert.equal(r.status, 401);
        // The token does not lift the Origin rule.
        r = await raw_request(p, { method: 'PUT', target: '/api/annotations/ds/images/a.png', headers: { 'If-Match': String(v), Authorization: `Bearer ${t.token}`, Origin: 'https://evil.example' }, body });
        assert.equal(r.status, 403);
        r = await raw_request(p, { method: 'PUT', target: '/api/annotations/ds/images/a.png', headers: { 'If-Match': String(v), Authorization: `Bearer ${t.token}`, Origin: `http://127.0.0.1:${p}` }, body });
        assert.equal(r.status, 200, String(r.body));
        assert.equal(JSON.parse((await raw_request(p, { target: '/api/annotations/ds/index', headers: jar })).body).version, idx.version + 1);
    } finally { await t.stop(); }
});

test('--host beyond loopback requires the token without being asked', async () => {
    const t = await spawn_server(['--host', '0.0.0.0', '--app', tmp, ds]);
    try {
        assert.ok(t.token);
        assert.equal((await raw_request(t.port, { target: '/api/datasets' })).status, 401);
        assert.equal((await raw_request(t.port, { target: '/api/datasets', headers: { Authorization: `Bearer ${t.token}` } })).status, 200);
        // Its machine name is one it answers to; other names are still refused.
        assert.equal((await raw_request(t.port, { target: '/api/datasets', headers: { Host: `${os.hostname()}:${t.port}`, Authorization: `Bearer ${t.token}` } })).status, 200);
        assert.equal((await raw_request(t.port, { target: '/api/datasets', headers: { Host: `evil.example:${t.port}`, Authorization: `Bearer ${t.token}` } })).status, 403);
    } finally { await t.stop(); }
});
