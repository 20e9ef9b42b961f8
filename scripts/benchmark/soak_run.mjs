// soak_run.mjs - scripts/soak: scripts/serve under concurrent load for a bounded time.
//   const r = await run_soak({ seconds: 60, log: console.log });
//   r.errors, r.latency.{get,put,download}: summarize() rows (ms), r.descriptors / r.rss_mb: {before, after}
// Load: small GETs (units, index, manifest, the app page), 4 MB embedding downloads in
// full, per-image PUTs with If-Match (one writer per image, plus one writer racing on a
// shared image whose 409s are expected), and downloads dropped after the first bytes.
// An error is any other status, a broken connection on a request not dropped on purpose,
// or a unit read back that is not what its writer stored. Descriptors and RSS of the
// server process are read from /proc before the load (after a warm-up) and after it
// (once the count stops falling).
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { start_serve } from './server.mjs';
import { summarize } from './stats.mjs';

const EMBEDDING_BYTES = 4 * 1024 * 1024;  // a float32 SAM embedding [1,256,64,64]
const N_IMAGES = 12;

function make_dataset(dir) {
    fs.mkdirSync(path.join(dir, 'embeddings'), { recursive: true });
    const images = Array.from({ length: N_IMAGES }, (_, i) => ({ id: i + 1, file: `images/img${i}.jpg`, width: 640, height: 480, embedding: `embeddings/img${i}.npy` }));
    for (const im of images) fs.writeFileSync(path.join(dir, im.embedding), Buffer.alloc(EMBEDDING_BYTES, im.id));
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: 1, images }));
    const app = path.join(dir, '..', 'app');
    fs.mkdirSync(app, { recursive: true });
    fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><title>soak</title>');
    return app;
}

function proc_figures(pid) {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { fds: fs.readdirSync(`/proc/${pid}/fd`).length, rss_mb: Math.round(kb('VmRSS') / 102.4) / 10, hwm_mb: Math.round(kb('VmHWM') / 102.4) / 10 };
}

// A unit of n RLE annotations tagged with its writer's sequence number.
function unit(first_id, n, seq) {
    return JSON.stringify({ annotations: Array.from({ length: n }, (_, k) => ({ id: first_id + k, category_id: 1 + (k % 2), iscrowd: 0, seq, segmentation: { size: [480, 640], counts: [1000 * k, 5000, 307200 - 1000 * k - 5000] } })) });
}

function dropped_download(port, target) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
        let got = 0;
        s.on('data', (d) => { got += d.length; if (got > 32 * 1024) s.destroy(); });
        s.on('error', () => {});
        s.on('close', () => resolve());
    });
}

export async function run_soak({ seconds = 60, log = () => {} } = {}) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-soak-'));
    const dir = path.join(tmp, 'ds');
    const app = make_dataset(dir);
    const srv = await start_serve(['--app', app, dir]);
    const base = srv.url;
    const port = Number(new URL(base).port);
    const api = `${base}api/annotations/ds/`;
    const latency = { get: [], put: [], download: [] };
    const counts = { get: 0, put: 0, conflict: 0, download: 0, dropped: 0 };
    const errors = [];
    const error = (what) => { if (errors.length < 50) errors.push(what); };
    const timed = async (kind, fn) => {
        const t = performance.now();
        const v = await fn();
        latency[kind].push(performance.now() - t);
        return v;
    };
    try {
        const cats = await fetch(`${api}categories`, { method: 'PUT', headers: { 'If-Match': '0' }, body: JSON.stringify({ categories: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }] }) });
        if (cats.status !== 200) throw new Error(`soak: categories PUT gave ${cats.status}`);
        // Warm-up, then the "before" figures.
        for (let i = 0; i < 3; i++) await (await fetch(`${base}datasets/ds/embeddings/img0.npy`)).arrayBuffer();
        await dropped_download(port, '/datasets/ds/embeddings/img0.npy');
        await new Promise((r) => setTimeout(r, 500));
        const before = proc_figures(srv.pid);
        const end = Date.now() + seconds * 1000;
        let seq = 0;

        const getter = async (g) => {
            for (let i = 0; Date.now() < end; i++) {
                const k = (i + g) % 4;
                const url = k === 0 ? `${api}images/img${i % N_IMAGES}.jpg` : k === 1 ? `${api}index` : k === 2 ? `${base}datasets/ds/manifest.json` : `${base}index.html`;
                try {
                    const r = await timed('get', async () => { const x = await fetch(url); await x.arrayBuffer(); return x; });
                    if (r.status !== 200) error(`GET ${url}: ${r.status}`);
                    counts.get++;
                } catch (err) { error(`GET ${url}: ${err.cause?.code || err.message}`); }
            }
        };
        const downloader = async (g) => {
            for (let i = 0; Date.now() < end; i++) {
                const url = `${base}datasets/ds/embeddings/img${(i + g) % N_IMAGES}.npy`;
                try {
                    const bytes = await timed('download', async () => {
                        const r = await fetch(url);
                        if (r.status !== 200) error(`GET ${url}: ${r.status}`);
                        return (await r.arrayBuffer()).byteLength;
                    });
                    if (bytes !== EMBEDDING_BYTES) error(`GET ${url}: ${bytes} bytes`);
                    counts.download++;
                } catch (err) { error(`GET ${url}: ${err.cause?.code || err.message}`); }
            }
        };
        const dropper = async (g) => {
            for (let i = 0; Date.now() < end; i++) {
                await dropped_download(port, `/datasets/ds/embeddings/img${(i + g) % N_IMAGES}.npy`);
                counts.dropped++;
            }
        };
        // Writer w owns images w, w+writers, ...; it knows their versions, so a 409 is an error.
        const writer = async (w, writers) => {
            const mine = Array.from({ length: N_IMAGES }, (_, i) => i).filter((i) => i % writers === w && i !== N_IMAGES - 1);
            const versions = new Map();
            for (let i = 0; Date.now() < end; i++) {
                const img = mine[i % mine.length];
                const s = ++seq;
                const url = `${api}images/img${img}.jpg`;
                try {
                    const r = await timed('put', () => fetch(url, { method: 'PUT', headers: { 'If-Match': `"${versions.get(img) ?? 0}"` }, body: unit(img * 1000 + 1, 20 + (s % 30), s) }));
                    const body = await r.json();
                    if (r.status !== 200) { error(`PUT ${url}: ${r.status} ${body.error}`); continue; }
                    versions.set(img, body.version);
                    counts.put++;
                    const back = await (await fetch(url)).json();
                    if (back.version !== body.version || back.annotations.some((a) => a.seq !== s)) error(`GET ${url} after PUT: not what was stored`);
                } catch (err) { error(`PUT ${url}: ${err.cause?.code || err.message}`); }
            }
        };
        // Races on the last image with whatever version it last saw: 409s are part of the game.
        const racer = async () => {
            const url = `${api}images/img${N_IMAGES - 1}.jpg`;
            let version = 0;
            while (Date.now() < end) {
                const s = ++seq;
                try {
                    const r = await timed('put', () => fetch(url, { method: 'PUT', headers: { 'If-Match': `"${version}"` }, body: unit(900001, 10, s) }));
                    const body = await r.json();
                    if (r.status === 200) { version = body.version; counts.put++; } else if (r.status === 409) { version = body.version; counts.conflict++; } else error(`PUT ${url}: ${r.status}`);
                } catch (err) { error(`PUT ${url}: ${err.cause?.code || err.message}`); }
            }
        };
        log(`soak: ${seconds} s against ${base} (4 GET clients, 2 downloaders, 2 droppers, 2 writers, 2 racers)`);
        // RSS every tenth of the run: growth that levels off is warm-up, steady growth a leak.
        const trace = [];
        const sampler = setInterval(() => trace.push(proc_figures(srv.pid).rss_mb), (seconds * 1000) / 10);
        await Promise.all([
            ...[0, 1, 2, 3].map(getter), ...[0, 1].map(downloader), ...[0, 1].map(dropper),
            writer(0, 2), writer(1, 2), racer(), racer(),
        ]);
        clearInterval(sampler);
        // After: wait until the descriptor count stops falling (sockets being closed).
        let after = proc_figures(srv.pid);
        for (let i = 0; i < 40; i++) {
            await new Promise((r) => setTimeout(r, 250));
            const now = proc_figures(srv.pid);
            if (now.fds >= after.fds && now.fds <= before.fds) { after = now; break; }
            after = now;
        }
        const index = await (await fetch(`${api}index`)).json();
        return {
            seconds, errors, counts, store_version: index.version,
            latency: { get: summarize(latency.get), put: summarize(latency.put), download: summarize(latency.download) },
            descriptors: { before: before.fds, after: after.fds },
            rss_mb: { before: before.rss_mb, after: after.rss_mb, peak: after.hwm_mb, trace },
        };
    } finally {
        await srv.close();
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

export function soak_table(r) {
    const row = (name, s) => `| ${name} | ${s.n} | ${s.p50} | ${s.p95} | ${s.max} |`;
    return [
        `Soak of scripts/serve, ${r.seconds} s on ${os.cpus().length} cores (load average ${os.loadavg().map((x) => x.toFixed(1)).join('/')} at the end)`,
        `requests: ${r.counts.get} small GETs, ${r.counts.download} full 4 MB downloads, ${r.counts.dropped} dropped downloads, ${r.counts.put} PUTs (+${r.counts.conflict} expected 409s); store version ${r.store_version}`,
        `errors: ${r.errors.length}${r.errors.length ? `\n  ${r.errors.slice(0, 10).join('\n  ')}` : ''}`,
        '',
        '| latency (ms) | n | p50 | p95 | max |',
        '| --- | ---: | ---: | ---: | ---: |',
        row('small GET', r.latency.get), row('PUT (one image)', r.latency.put), row('4 MB download', r.latency.download),
        '',
        `descriptors of the server: ${r.descriptors.before} before, ${r.descriptors.after} after`,
        `RSS of the server: ${r.rss_mb.before} MB before, ${r.rss_mb.after} MB after (peak ${r.rss_mb.peak} MB; during the run: ${r.rss_mb.trace.join(', ')} MB)`,
    ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const seconds = Number(process.argv[2] ?? 60);
    if (!(seconds > 0)) {
        console.error('usage: scripts/soak [SECONDS]   (default 60)');
        process.exit(2);
    }
    const r = await run_soak({ seconds, log: (s) => console.error(s) });
    console.log(soak_table(r));
    process.exit(r.errors.length || r.descriptors.after > r.descriptors.before + 2 ? 1 : 0);
}
