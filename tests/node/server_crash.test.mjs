// scripts/serve under kill -9 (issue 13): the SQLite store keeps the last committed
// version of every unit (and all its history) whatever moment a write is killed at; the
// next start removes the temp files of killed writers (and only those), and an embed
// killed at any point leaves no half entry and no orphan file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { spawn_server, wait_for } from './server_harness.mjs';
import { TINY } from './embed_harness.mjs';
import { test_picture } from './png_file.mjs';
import { TEMP_HOST } from '../../scripts/server/atomic_file.mjs';

let tmp;

before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-crash-')); });
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// One image's unit of about 2 MB whose every annotation carries the write's number.
function unit_body(seq) {
    const ring = [];
    for (let k = 0; k < 500; k++) {
        const a = (2 * Math.PI * k) / 500;
        ring.push(Math.round(500 + 200 * Math.cos(a) + (seq % 7)), Math.round(500 + 200 * Math.sin(a)));
    }
    const anns = Array.from({ length: 400 }, (_, i) => ({ id: i + 1, category_id: 1, iscrowd: 0, seq, segmentation: [ring] }));
    return JSON.stringify({ annotations: anns });
}

// {sent: the last body byte has left, answer: {status, body}}.
function put(port, version, body) {
    let sent;
    const sent_p = new Promise((r) => { sent = r; });
    const answer = new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/api/annotations/ds/images/a.png', headers: { 'If-Match': `"${version}"`, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
            let text = '';
            res.on('data', (d) => { text += d; });
            res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.on('finish', sent);
        req.end(body);
    });
    return { sent: sent_p, answer };
}

test('kill -9 during writes: the store keeps the last committed version and its whole history', async () => {
    const dir = path.join(tmp, 'store', 'ds');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: 1, images: [{ id: 1, file: 'images/a.png', width: 1000, height: 1000 }] }));
    let srv = await spawn_server([dir]);
    const cats = await fetch(`${srv.url}api/annotations/ds/categories`, { method: 'PUT', headers: { 'If-Match': '0' }, body: JSON.stringify({ categories: [{ id: 1, name: 'ring' }] }) });
    assert.equal(cats.status, 200);
    const sent = new Map();  // version -> seq of the write that made it
    let version = 0, seq = 0;
    const outcomes = [];
    // Kill points after the last body byte left: during receipt, parse, the core's check, the
    // commit; 'wal': the moment the commit starts writing the WAL (its mtime moves).
    const delays = [0, 30, 100, 250, 500, 900, 1500, 'wal', 'wal', 'wal'];
    const wal = path.join(dir, 'annotations.sqlite-wal');
    const wal_mtime = () => fs.statSync(wal, { bigint: true, throwIfNoEntry: false })?.mtimeNs ?? 0n;
    try {
        for (const delay of delays) {
            for (let k = 0; k < 2; k++) {
                seq++;
                const r = await put(srv.port, version, unit_body(seq)).answer;
                assert.equal(r.status, 200, JSON.stringify(r.body));
                version = r.body.version;
                sent.set(version, seq);
            }
            seq++;
            const doomed = unit_body(seq);
            const doomed_put = put(srv.port, version, doomed);
            const inflight = doomed_put.answer.catch(() => null);
            const mtime = wal_mtime();
            let answered = false;
            inflight.then(() => { answered = true; });
            await doomed_put.sent;
            if (delay === 'wal') await wait_for(() => wal_mtime() !== mtime || answered, 'the commit', { timeout_ms: 60000, every_ms: 1 });
            else await new Promise((r) => setTimeout(r, delay));
            await srv.kill();
            const answer = await inflight;
            srv = await spawn_server([dir]);
            const now = await (await fetch(`${srv.url}api/annotations/ds/images/a.png`)).json();
            // Either the killed write had committed (and may even have answered) or it left nothing.
            assert.ok(now.version === version || now.version === version + 1, `delay ${delay}: version ${now.version}, last acknowledged ${version}`);
            if (answer?.status === 200) assert.equal(now.version, version + 1);
            outcomes.push(`${delay}: ${now.version === version + 1 ? 'kept' : 'not committed'}`);
            if (now.version === version + 1) sent.set(now.version, seq);
            version = now.version;
            assert.equal(now.annotations.length, 400);
            assert.ok(now.annotations.every((a) => a.seq === sent.get(version)), `delay ${delay}: content of version ${version} is not what was sent for it`);
            const history = (await (await fetch(`${srv.url}api/annotations/ds/images/a.png/history`)).json()).versions;
            assert.deepEqual(history.map((h) => h.version), Array.from({ length: version }, (_, i) => version - i));
            for (const v of [1, Math.ceil(version / 2), version]) {
                const past = await (await fetch(`${srv.url}api/annotations/ds/images/a.png/history/${v}`)).json();
                assert.ok(past.annotations.every((a) => a.seq === sent.get(v)), `history ${v}`);
            }
        }
    } finally { await srv.stop(); }
    console.log(`the killed write, by kill point: ${outcomes.join(', ')}`);
    const db = new Database(path.join(dir, 'annotations.sqlite'), { readonly: true });
    try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally { db.close(); }
    // No temp files of ours: the store writes none.
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.')), []);
});

// A pid that is certainly dead: a process that has exited.
function dead_pid() {
    return spawnSync('true').pid;
}

test('the next start removes the temp files of dead writers on this host, and only those', async () => {
    const dir = path.join(tmp, 'leftovers', 'ds');
    for (const d of ['images/sub', 'embeddings']) fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: 1, images: [] }));
    const dead = dead_pid();
    const hex = 'a1b2c3d4e5f6';
    const removed = [
        `.manifest.json.tmp-${TEMP_HOST}-${dead}-${hex}`,
        `images/.upload.tmp-${TEMP_HOST}-${dead}-${hex}.png`,
        `images/sub/.cat.jpg.tmp-${TEMP_HOST}-${dead}-${hex}`,
        `embeddings/.cat.npy.tmp-${TEMP_HOST}-${dead}-${hex}`,
        // Names older servers gave their temp files (no host in them).
        `.annotations.json.tmp-${dead}-${hex}`,
        `images/.upload-${dead}-${hex}.jpg`,
    ];
    const kept = [
        `.manifest.json.tmp-${TEMP_HOST}-${process.pid}-${hex}`,   // a live writer (this test)
        `.manifest.json.tmp-otherhost-${dead}-${hex}`,             // another machine's (cluster shard)
        `embeddings/.cat.npy.tmp-${dead}-${hex}`,                  // old embedder name: not ours to judge
        '.keep', 'images/.DS_Store', 'embeddings/cat.npy',
    ];
    for (const f of [...removed, ...kept]) fs.writeFileSync(path.join(dir, f), 'x'.repeat(1000));
    const srv = await spawn_server([dir]);
    try {
        await wait_for(() => /\ndataset ds:/.test(srv.output()), 'start-up lines');
        for (const f of removed) {
            assert.ok(!fs.existsSync(path.join(dir, f)), `${f} was left`);
            assert.ok(srv.output().includes(`removed ${path.join(dir, f)}`), f);
        }
        for (const f of kept) assert.ok(fs.existsSync(path.join(dir, f)), `${f} was removed`);
    } finally { await srv.stop(); }
});

function files_under(dir, sub) {
    const out = [];
    const walk = (d) => {
        for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else out.push(path.relative(dir, p));
        }
    };
    walk(path.join(dir, sub));
    return out.sort();
}

test('an embed killed at any point leaves no half entry, no orphan file, no temp file', async () => {
    const dir = path.join(tmp, 'embed', 'ds');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: 1, images: [] }));
    const encoder = ['--encoder', path.join(TINY, 'encoder.onnx')];
    // Kill points: the journal exists, the upload's temp image exists, the embedding exists.
    const stages = [
        () => fs.readdirSync(dir).some((f) => f.startsWith('.embed-journal-')),
        () => fs.existsSync(path.join(dir, 'images')) && fs.readdirSync(path.join(dir, 'images')).some((f) => f.startsWith('.upload.tmp-')),
        () => files_under(dir, 'embeddings').some((f) => f.endsWith('.npy') && !path.basename(f).startsWith('.')),
    ];
    let picture = 0, killed_mid_embed = 0;
    for (const [i, stage] of stages.entries()) {
        const srv = await spawn_server([...encoder, dir]);
        const before_manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
        let finished = false;
        const upload = fetch(`${srv.url}api/embed?dataset=ds&name=kill${i}.png`, { method: 'POST', body: test_picture(1600, 1200, 500 + picture++) })
            .then(() => { finished = true; }, () => { finished = true; });
        await wait_for(() => stage() || finished, `stage ${i}`, { timeout_ms: 60000, every_ms: 5 });
        if (!finished) killed_mid_embed++;
        await srv.kill();
        await upload;
        const restarted = await spawn_server([dir]);
        try {
            await wait_for(() => /\ndataset ds:/.test(restarted.output()), 'start-up lines');
            const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
            // The manifest is the old one or the old one plus one complete entry.
            assert.deepEqual(m.images.slice(0, before_manifest.images.length), before_manifest.images);
            assert.ok(m.images.length - before_manifest.images.length <= 1);
            const named = new Set(m.images.flatMap((e) => [e.file, e.embedding]));
            for (const e of m.images) {
                assert.ok(fs.existsSync(path.join(dir, e.file)) && fs.existsSync(path.join(dir, e.embedding)), `entry ${e.file} names a missing file`);
            }
            const on_disk = [...files_under(dir, 'images'), ...files_under(dir, 'embeddings')];
            assert.deepEqual(on_disk.filter((f) => !named.has(f)), [], `stage ${i}: files the manifest does not name`);
            assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.')), [], `stage ${i}: dotfiles left in the dataset`);
        } finally { await restarted.stop(); }
    }
    assert.ok(killed_mid_embed >= 1, 'no kill landed inside an embed');
});
