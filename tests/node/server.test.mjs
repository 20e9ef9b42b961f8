// Tests of scripts/serve: headers and MIME types, path attacks, the body limit,
// versioned whole-document annotations (concurrent PUTs, restart persistence), POST /api/embed.
// The store's per-image API, security, limits and crashes have their own suites (server_*.test.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { spawn_server, raw_request, wait_for } from './server_harness.mjs';
import { TINY, run_embed, make_images, read_json } from './embed_harness.mjs';
import { test_picture } from './png_file.mjs';
import { read_npy, npy_to_f32 } from '../../scripts/embedder/npy_file.mjs';

const SECRET = 'TOPSECRET-do-not-serve';
let tmp, app, ds, srv;

const MANIFEST_IMAGES = Array.from({ length: 3 }, (_, i) => ({ id: i + 1, file: `images/img${i}.jpg`, width: 64, height: 48 }));

// A whole COCO document of the dataset with n triangles on its first image.
function coco(n) {
    return {
        images: MANIFEST_IMAGES.map((im) => ({ id: im.id, file_name: im.file.slice('images/'.length), width: im.width, height: im.height })),
        annotations: Array.from({ length: n }, (_, i) => ({ id: i + 1, image_id: 1, category_id: 1, segmentation: [[1, 1, 20, 1, 10, 15 + (i % 30)]], iscrowd: 0 })),
        categories: [{ id: 1, name: 'cat' }],
    };
}

before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-serve-'));
    app = path.join(tmp, 'site');
    ds = path.join(tmp, 'data', 'cats');
    fs.mkdirSync(path.join(app, 'sub'), { recursive: true });
    fs.mkdirSync(path.join(ds, 'embeddings'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'outside'));
    fs.writeFileSync(path.join(tmp, 'secret.txt'), SECRET);
    fs.writeFileSync(path.join(tmp, 'outside', 'secret.txt'), SECRET);
    fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><title>app</title>');
    fs.writeFileSync(path.join(app, 'app.js'), 'export {};');
    fs.writeFileSync(path.join(app, 'ort.mjs'), 'export {};');
    fs.writeFileSync(path.join(app, 'ort.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    fs.writeFileSync(path.join(app, 'sub', 'page.txt'), 'inside');
    fs.writeFileSync(path.join(app, '.hidden'), SECRET);
    fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(app, 'link_out.txt'));
    fs.symlinkSync(path.join(tmp, 'outside'), path.join(app, 'linkdir'));
    fs.symlinkSync(path.join(app, 'sub', 'page.txt'), path.join(app, 'link_in.txt'));
    fs.writeFileSync(path.join(ds, 'manifest.json'), JSON.stringify({ version: 1, images: MANIFEST_IMAGES }));
    fs.writeFileSync(path.join(ds, 'decoder.onnx'), Buffer.alloc(16, 7));
    fs.writeFileSync(path.join(ds, 'embeddings', 'a.npy'), Buffer.alloc(32, 1));
    srv = await spawn_server(['--app', app, '--max-body', '1', ds]);
});

after(async () => {
    await srv?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
});

test('first stdout line names the port; loopback by default', () => {
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(srv.port > 0);
});

test('cross-origin isolation headers and MIME types', async () => {
    const cases = {
        '/': 'text/html', '/index.html': 'text/html', '/app.js': 'text/javascript', '/ort.mjs': 'text/javascript',
        '/ort.wasm': 'application/wasm', '/datasets/cats/decoder.onnx': 'application/octet-stream',
        '/datasets/cats/embeddings/a.npy': 'application/octet-stream', '/datasets/cats/manifest.json': 'application/json',
        '/link_in.txt': 'text/plain',
    };
    for (const [url, mime] of Object.entries(cases)) {
        const r = await fetch(new URL(url, srv.url));
        assert.equal(r.status, 200, url);
        assert.equal(r.headers.get('content-type').split(';')[0], mime, url);
        assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin', url);
        assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp', url);
        assert.equal(r.headers.get('cross-origin-resource-policy'), 'same-origin', url);
        await r.arrayBuffer();
    }
    const wasm = Buffer.from(await (await fetch(new URL('/ort.wasm', srv.url))).arrayBuffer());
    assert.deepEqual([...wasm.subarray(0, 4)], [0, 0x61, 0x73, 0x6d]);
    const api = await fetch(new URL('/api/datasets', srv.url));
    assert.equal(api.headers.get('cross-origin-embedder-policy'), 'require-corp');
    const list = await api.json();
    assert.deepEqual(list.datasets.map((d) => d.name), ['cats']);
    assert.equal(list.datasets[0].manifest, '/datasets/cats/manifest.json');
});

test('no directory listings', async () => {
    for (const url of ['/sub/', '/sub', '/datasets/cats/', '/datasets/cats/embeddings/', '/datasets/']) {
        const r = await raw_request(srv.port, { target: url });
        assert.equal(r.status, 404, url);
        assert.ok(!r.body.toString().includes('a.npy') && !r.body.toString().includes('page.txt'), url);
    }
});

test('path attacks never reach files outside the roots', async () => {
    const targets = [
        '/../secret.txt', '/../../secret.txt', '/sub/../../secret.txt', '/sub/../index.html',
        '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/.%2e/secret.txt', '/%2e%2e%2fsecret.txt', '/..%2fsecret.txt',
        '/sub%2f..%2f..%2fsecret.txt', '/%252e%252e/secret.txt', '/%252e%252e%252fsecret.txt', '/%25252e%25252e/secret.txt',
        '/..\\secret.txt', '/sub\\..\\..\\secret.txt', '/%5c..%5csecret.txt', '/..%5csecret.txt',
        '/secret.txt%00.html', '/%00/../secret.txt', '/%c0%ae%c0%ae/secret.txt',
        `/${path.join(tmp, 'secret.txt')}`, `//${path.join(tmp, 'secret.txt')}`, `/datasets/cats/${path.join(tmp, 'secret.txt')}`,
        `http://127.0.0.1/../secret.txt`, `file://${path.join(tmp, 'secret.txt')}`, '/etc/passwd', '//etc/passwd',
        '/link_out.txt', '/linkdir/secret.txt', '/linkdir/', '/.hidden', '/%2ehidden',
        '/datasets/cats/../../secret.txt', '/datasets/cats/%2e%2e/%2e%2e/secret.txt', '/datasets/%2e%2e/secret.txt',
        '/datasets/cats/..%2f..%2fsecret.txt', '/datasets/..%2f..%2f/secret.txt', '/datasets/cats/%2e%2e%5c%2e%2e%5csecret.txt',
    ];
    for (const target of targets) {
        const r = await raw_request(srv.port, { target });
        assert.ok([400, 403, 404].includes(r.status), `${target} -> ${r.status}`);
        assert.ok(!r.body.toString('latin1').includes(SECRET), `${target} leaked the file`);
    }
    // A raw NUL byte in the request line is refused by the HTTP parser or by us.
    const nul = await raw_request(srv.port, { target: '/secret.txt\0.html' }).catch(() => ({ status: 400, body: Buffer.alloc(0) }));
    assert.ok([400, 403, 404].includes(nul.status));
    assert.ok(!nul.body.toString('latin1').includes(SECRET));
    // The escape routes themselves work for legitimate files: a refusal is not just "everything 404s".
    assert.equal((await raw_request(srv.port, { target: '/sub/page.txt' })).status, 200);
    assert.equal((await raw_request(srv.port, { target: '/%73ub/page.txt' })).status, 200);
});

test('annotations: validation, versions, stale PUT refused', async () => {
    const url = new URL('/api/annotations/cats', srv.url);
    let r = await fetch(url);
    assert.equal(r.status, 200);
    const first = await r.json();
    assert.equal(first.version, 0);
    assert.equal(r.headers.get('etag'), '"0"');

    r = await fetch(url, { method: 'PUT', headers: { 'If-Match': '0' }, body: '{"images": [' });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error, /not valid JSON/);
    r = await fetch(url, { method: 'PUT', headers: { 'If-Match': '0' }, body: JSON.stringify({ images: [], annotations: {} }) });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error, /"annotations" must be an array/);
    r = await fetch(url, { method: 'PUT', body: JSON.stringify(coco(1)) });
    assert.equal(r.status, 428);
    await r.json();

    r = await fetch(url, { method: 'PUT', headers: { 'If-Match': '"0"' }, body: JSON.stringify(coco(1)) });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).version, 1);
    // The envelope form carries its own version.
    r = await fetch(url, { method: 'PUT', body: JSON.stringify({ version: 1, coco: coco(2) }) });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).version, 2);
    r = await fetch(url, { method: 'PUT', headers: { 'If-Match': '1' }, body: JSON.stringify(coco(3)) });
    assert.equal(r.status, 409);
    assert.equal((await r.json()).version, 2);
    r = await fetch(url);
    const doc = await r.json();
    assert.equal(doc.version, 2);
    assert.equal(doc.annotations.length, 2);
    assert.equal(doc.images.length, MANIFEST_IMAGES.length);
    assert.equal(r.status, 200);
    // The store is the SQLite file; no annotations.json is written any more.
    assert.ok(fs.existsSync(path.join(ds, 'annotations.sqlite')));
    assert.ok(!fs.existsSync(path.join(ds, 'annotations.json')));
    assert.equal((await fetch(new URL('/api/annotations/nope', srv.url))).status, 404);
});

test('concurrent PUTs on one version: exactly one wins', async () => {
    const url = new URL('/api/annotations/cats', srv.url);
    const { version } = await (await fetch(url)).json();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) =>
        fetch(url, { method: 'PUT', headers: { 'If-Match': String(version) }, body: JSON.stringify(coco(10 + i)) })
            .then(async (r) => ({ status: r.status, body: await r.json() }))));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 409);
    assert.equal(ok.length, 1);
    assert.equal(refused.length, 5);
    for (const r of refused) assert.equal(r.body.version, version + 1);
    const doc = await (await fetch(url)).json();
    assert.equal(doc.version, version + 1);
    assert.equal(doc.annotations.length, 10 + results.indexOf(ok[0]));
    // No temp files left behind by the atomic writes.
    assert.deepEqual(fs.readdirSync(ds).filter((f) => f.includes('.tmp')), []);
});

test('body limit: 413 for a declared or streamed body over --max-body', async () => {
    const big = JSON.stringify({ ...coco(0), pad: 'x'.repeat(1.5 * 1024 * 1024) });
    const url = new URL('/api/annotations/cats', srv.url);
    const r = await fetch(url, { method: 'PUT', headers: { 'If-Match': '0' }, body: big }).catch((e) => e);
    assert.equal(r.status, 413);
    // Chunked: no Content-Length, so the server must count as it reads and stop.
    const status = await new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: srv.port, path: '/api/annotations/cats', method: 'PUT', headers: { 'If-Match': '0', 'Transfer-Encoding': 'chunked' } }, (res) => {
            answered = true;
            res.resume();
            resolve(res.statusCode);
            req.destroy();
        });
        req.on('error', reject);
        let answered = false;
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const pump = () => {
            // Keep sending far beyond the limit; the server must answer long before the end.
            while (sent < 64 * 1024 * 1024 && !answered) {
                sent += chunk.length;
                if (!req.write(chunk)) { req.once('drain', pump); return; }
            }
            if (!answered) req.end();
        };
        pump();
    });
    assert.equal(status, 413);
    // The server is still healthy afterwards.
    assert.equal((await fetch(new URL('/api/datasets', srv.url))).status, 200);
});

test('annotations survive a server restart', async () => {
    const url = new URL('/api/annotations/cats', srv.url);
    const before_restart = await (await fetch(url)).json();
    await srv.stop();
    srv = await spawn_server(['--app', app, '--max-body', '1', ds]);
    const after_restart = await (await fetch(new URL('/api/annotations/cats', srv.url))).json();
    assert.deepEqual(after_restart, before_restart);
    const r = await fetch(new URL('/api/annotations/cats', srv.url), { method: 'PUT', headers: { 'If-Match': String(before_restart.version) }, body: JSON.stringify(coco(1)) });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).version, before_restart.version + 1);
});

test('non-loopback bind prints a warning and a token', async () => {
    const other = await spawn_server(['--host', '0.0.0.0', '--app', app]);
    try {
        assert.match(other.token, /^[A-Za-z0-9_-]{32}$/);
        await wait_for(() => /WARNING: bound to 0\.0\.0\.0/.test(other.stderr()), 'the warning');
    } finally { await other.stop(); }
});

test('POST /api/embed is refused without an encoder', async () => {
    const r = await fetch(new URL('/api/embed?dataset=cats', srv.url), { method: 'POST', body: Buffer.from([0xff, 0xd8, 0xff]) });
    assert.equal(r.status, 404);
    assert.match((await r.json()).error, /--encoder/);
});

test('POST /api/embed: sniffed type, embedded once, cached by content, manifest updated', async () => {
    const src = path.join(tmp, 'embed-src');
    const dsdir = path.join(tmp, 'data', 'pets');
    make_images(src, 2);
    const r0 = await run_embed(['--encoder', path.join(TINY, 'encoder.onnx'), '--decoder', path.join(TINY, 'decoder.onnx'), '--images', src, '--out', dsdir]);
    assert.equal(r0.code, 0, r0.stderr);
    const before_upload = read_json(path.join(dsdir, 'manifest.json'));
    const es = await spawn_server(['--app', app, '--max-body', '1', '--encoder', path.join(TINY, 'encoder.onnx'), dsdir]);
    const post = async (body, query = '') => {
        const r = await fetch(new URL(`/api/embed?dataset=pets${query}`, es.url), { method: 'POST', body });
        return { status: r.status, body: await r.json() };
    };
    try {
        // Bytes the embedder already has (under another name): answered from the manifest.
        const known = fs.readFileSync(path.join(src, 'img01.png'));
        let r = await post(known, '&name=copy.png');
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.cached, true);
        assert.equal(r.body.id, before_upload.images[1].id);

        // A new picture, named .jpg by the client but PNG inside: stored as .png.
        const fresh = test_picture(72, 50, 42);
        r = await post(fresh, '&name=../../My%20Photo.jpg');
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const entry = r.body;
        assert.equal(entry.cached, false);
        assert.equal(entry.file, 'images/My_Photo.png');
        assert.deepEqual([entry.width, entry.height], [72, 50]);
        assert.equal(entry.id, 3);
        assert.equal(entry.embedding_url, `/datasets/pets/${entry.embedding}`);
        const npy = read_npy(Buffer.from(await (await fetch(new URL(entry.embedding_url, es.url))).arrayBuffer()));
        assert.deepEqual(npy.shape, [1, 256, 64, 64]);
        // Same values as the command-line embedder gives for the same picture.
        const cli_src = path.join(tmp, 'embed-src2');
        fs.mkdirSync(cli_src);
        fs.writeFileSync(path.join(cli_src, 'fresh.png'), fresh);
        const r1 = await run_embed(['--encoder', path.join(TINY, 'encoder.onnx'), '--images', cli_src, '--out', path.join(tmp, 'cli-ds')]);
        assert.equal(r1.code, 0, r1.stderr);
        const cli_values = npy_to_f32(read_npy(fs.readFileSync(path.join(tmp, 'cli-ds', 'embeddings', 'fresh.npy'))));
        const got = npy_to_f32(npy);
        let diff = 0;
        for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - cli_values[i]));
        assert.ok(diff <= 1e-5, `upload and CLI embeddings differ by ${diff}`);
        const img = Buffer.from(await (await fetch(new URL(entry.image_url, es.url))).arrayBuffer());
        assert.deepEqual(img, fresh);

        const m = read_json(path.join(dsdir, 'manifest.json'));
        assert.deepEqual(m.images.slice(0, 2), before_upload.images);
        assert.equal(m.images.length, 3);
        assert.equal(m.images[2].sha256, entry.sha256);
        const mtime = fs.statSync(path.join(dsdir, entry.embedding)).mtimeMs;

        // The same bytes again: nothing recomputed, no new entry.
        r = await post(fresh, '&name=again.png');
        assert.equal(r.body.cached, true);
        assert.equal(r.body.id, entry.id);
        assert.equal(fs.statSync(path.join(dsdir, entry.embedding)).mtimeMs, mtime);
        assert.equal(read_json(path.join(dsdir, 'manifest.json')).images.length, 3);

        // Two different uploads at once: distinct ids, both in the manifest.
        const both = await Promise.all([post(test_picture(30, 30, 5), '&name=a.png'), post(test_picture(30, 30, 6), '&name=a.png')]);
        for (const b of both) assert.equal(b.status, 200, JSON.stringify(b.body));
        assert.notEqual(both[0].body.id, both[1].body.id);
        assert.notEqual(both[0].body.file, both[1].body.file);
        assert.equal(read_json(path.join(dsdir, 'manifest.json')).images.length, 5);

        // Not an image / a broken image / too big / unknown dataset.
        r = await post(Buffer.from('GIF89a not accepted'));
        assert.equal(r.status, 415);
        r = await post(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(500, 7)]), '&name=broken.jpg');
        assert.equal(r.status, 422);
        assert.match(r.body.error, /broken\.jpg/);
        assert.ok(!r.body.error.includes('.upload-'), r.body.error);
        r = await post(Buffer.concat([fresh, Buffer.alloc(2 * 1024 * 1024)]));
        assert.equal(r.status, 413);
        const nope = await fetch(new URL('/api/embed?dataset=nope', es.url), { method: 'POST', body: fresh });
        assert.equal(nope.status, 404);
        await nope.arrayBuffer();
        assert.equal(read_json(path.join(dsdir, 'manifest.json')).images.length, 5);
        assert.deepEqual(fs.readdirSync(path.join(dsdir, 'images')).filter((f) => f.startsWith('.')), []);
    } finally { await es.stop(); }
});
