// Tests of scripts/bundle: the default sample dataset is embedded, the folder is
// self-contained, and it is served by scripts/serve --static and by
// python3 -m http.server with every file the manifest names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repo, TINY, read_json } from './embed_harness.mjs';
import { spawn_server } from './server_harness.mjs';
import { verify_bundle } from '../../scripts/server/bundle.mjs';

let tmp, app;

function run_bundle(args) {
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(repo, 'scripts/bundle'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
}

// Fetches every file a bundle's manifest names (and the app) from base_url and
// compares the bytes with the folder.
async function check_served(base_url, out) {
    const m = read_json(path.join(out, 'manifest.json'));
    const files = ['index.html', 'sam_annotator.js', 'manifest.json', m.model.decoder, ...(m.model.decoder_weights ? [m.model.decoder_weights] : []),
        ...m.images.flatMap((e) => [e.file, e.embedding])];
    for (const f of files) {
        const r = await fetch(new URL(f, base_url));
        assert.equal(r.status, 200, `${base_url}${f}`);
        assert.deepEqual(Buffer.from(await r.arrayBuffer()), fs.readFileSync(path.join(out, f)), f);
    }
    const root = await fetch(base_url);
    assert.equal(root.status, 200);
    assert.match(await root.text(), /sam_annotator\.js/);
}

// python3 -m http.server on a free port: a static host without COOP/COEP.
function start_python_server(dir) {
    const py = spawn('python3', ['-u', '-m', 'http.server', '--bind', '127.0.0.1', '--directory', dir, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
        let text = '';
        const timer = setTimeout(() => { py.kill('SIGKILL'); reject(new Error(`python3 -m http.server did not start: ${text}`)); }, 15000);
        py.stdout.on('data', (d) => {
            text += d;
            const mm = /port (\d+)/.exec(text);
            if (mm) { clearTimeout(timer); resolve({ url: `http://127.0.0.1:${mm[1]}/`, stop: () => py.kill('SIGTERM') }); }
        });
        py.on('exit', (code) => { clearTimeout(timer); reject(new Error(`python3 -m http.server exited ${code}: ${text}`)); });
    });
}

before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-bundle-'));
    app = path.join(tmp, 'site');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><script src="sam_annotator.js"></script>');
    fs.writeFileSync(path.join(app, 'sam_annotator.js'), '// app');
    fs.writeFileSync(path.join(app, 'sam_annotator.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('bundle of the sample pictures is self-contained and served by scripts/serve and python3 -m http.server', async () => {
    const out = path.join(tmp, 'demo');
    const work = path.join(tmp, 'work');
    const r = await run_bundle([out, '--app', app, '--model', TINY, '--work', work]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(verify_bundle(out), []);
    const m = read_json(path.join(out, 'manifest.json'));
    const samples = fs.readdirSync(path.join(repo, 'assets/samples')).filter((f) => f.endsWith('.jpg')).sort();
    assert.deepEqual(m.images.map((e) => e.file), samples.map((f) => `images/${f}`));
    assert.equal(m.model.id, 'sam-tiny-test');
    assert.deepEqual(fs.readFileSync(path.join(out, m.model.decoder)), fs.readFileSync(path.join(TINY, 'decoder.onnx')));
    assert.equal(m.model.decoder_weights, 'decoder.samw');
    assert.deepEqual(fs.readFileSync(path.join(out, m.model.decoder_weights)), fs.readFileSync(path.join(TINY, 'decoder.samw')));
    // the tiny encoder is small: the demo encodes dropped photos in the browser with it
    assert.equal(m.model.browser_encoder, true);
    assert.deepEqual(fs.readFileSync(path.join(out, m.model.encoder)), fs.readFileSync(path.join(TINY, 'encoder.onnx')));
    for (const e of m.images) assert.deepEqual(fs.readFileSync(path.join(out, e.file)), fs.readFileSync(path.join(repo, 'assets/samples', path.basename(e.file))));

    const srv = await spawn_server(['--static', out, '--app', path.join(tmp, 'no-app')]);
    try { await check_served(srv.url, out); } finally { await srv.stop(); }

    const py = await start_python_server(out);
    try { await check_served(py.url, out); } finally { py.stop(); }

    // A second run replaces the bundle (the work folder is reused: nothing re-embedded);
    // the server's annotation store in the work dataset stays out of the public bundle.
    const store_files = ['annotations.sqlite', 'annotations.sqlite-wal', 'annotations.json', 'annotations.imported.json'];
    for (const f of store_files) fs.writeFileSync(path.join(work, f), 'server state');
    const again = await run_bundle([out, '--app', app, '--model', TINY, '--work', work]);
    assert.equal(again.code, 0, again.stderr);
    for (const f of store_files) assert.ok(!fs.existsSync(path.join(out, f)), f);
    assert.match(again.stderr, /skipped/);
    assert.doesNotMatch(again.stderr, /embedded /);
});

test('bundle of the real app (build/wasm/site, which scripts/test builds first)', async () => {
    assert.ok(fs.existsSync(path.join(repo, 'build/wasm/site/index.html')), 'build/wasm/site not built: run scripts/build-wasm');
    const out = path.join(tmp, 'real');
    const r = await run_bundle([out, '--model', TINY, '--work', path.join(tmp, 'work')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(verify_bundle(out), []);
    for (const f of fs.readdirSync(path.join(repo, 'build/wasm/site'))) assert.ok(fs.existsSync(path.join(out, f)), f);

    // Opened with no URL parameters from a plain static host (one ORT thread):
    // the first sample shows up and a click produces mask candidates.
    const { launchBrowser, waitReady, waitState, imageToPage } = await import('../browser/browser_harness.mjs');
    const m = read_json(path.join(out, 'manifest.json'));
    const py = await start_python_server(out);
    const browser = await launchBrowser({ width: 1024, height: 700 });
    try {
        const page = await browser.open(py.url);
        await waitReady(page, browser.logs);
        let s = await waitState(page, (t) => t.image?.loaded && t.decoder?.status === 'ready', { what: 'first image + decoder', timeout: 60000 });
        assert.equal(s.image.id, m.images[0].id);
        assert.deepEqual([s.image.width, s.image.height], [m.images[0].width, m.images[0].height]);
        assert.equal(s.image_count, m.images.length);
        const count = s.decode_count;
        const at = imageToPage(s, Math.round(s.image.width / 2), Math.round(s.image.height / 2));
        await page.mouse.click(at.x, at.y);
        s = await waitState(page, (t) => t.points?.length === 1 && t.decode_count > count && t.candidates?.length > 0, { what: 'mask after a click', timeout: 60000 });
        assert.deepEqual(s.errors, []);
        await browser.shot(page, 'bundle-click');
    } finally {
        await browser.close();
        py.stop();
    }
});

test('bundle refuses a dataset naming missing files, and a folder it did not make', async () => {
    const bad = path.join(tmp, 'bad-ds');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'manifest.json'), JSON.stringify({
        version: 1, model: { id: 'x', encoder_sha256: '0', decoder: 'decoder.onnx' },
        images: [{ id: 1, file: '../outside.jpg', width: 1, height: 1, sha256: '0', embedding: 'embeddings/a.npy', embedding_dtype: 'float32' }],
    }));
    let r = await run_bundle([path.join(tmp, 'bad-out'), '--app', app, '--dataset', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\.\.\/outside\.jpg.*not a path inside the bundle/);
    assert.match(r.stderr, /decoder\.onnx, which is not in the bundle/);
    assert.ok(!fs.existsSync(path.join(tmp, 'bad-out')));

    const precious = path.join(tmp, 'precious');
    fs.mkdirSync(precious);
    fs.writeFileSync(path.join(precious, 'thesis.tex'), 'keep me');
    r = await run_bundle([precious, '--app', app, '--model', TINY, '--work', path.join(tmp, 'work')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a bundle made by scripts\/bundle/);
    assert.equal(fs.readFileSync(path.join(precious, 'thesis.tex'), 'utf8'), 'keep me');
});
