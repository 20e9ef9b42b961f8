// web/sam_decoder_worker.js in headless Chromium, speaking the decoder worker protocol:
// from a plain static host (python3 -m http.server: not cross-origin isolated, so the
// single-threaded build) and from a COOP/COEP server (?threads=2: the -pthread build). The
// worker fetches the weights and the .npy embedding itself; its masks equal the official
// outputs (reference case e, with mask_input, and case c, a box) and are the same bits in
// both builds; batches come back in chunks; bad files are refused with a message naming them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './browser_harness.mjs';
import { startStaticServer } from './static_server.mjs';
import { read_npy, npy_to_f32 } from '../../scripts/embedder/npy_file.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const site = path.join(repo, 'build/wasm/site');
const ref = path.join(repo, 'build/native/reference');
const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const f32 = (rel) => Array.from(npy_to_f32(read_npy(fs.readFileSync(path.join(ref, 'decoder_io', rel)))));

// A folder holding the site and the files the worker fetches.
function makeRoot() {
    assert.ok(fs.existsSync(path.join(site, 'sam_decoder_worker.js')), 'build the site first: scripts/build-wasm');
    assert.ok(fs.existsSync(path.join(ref, 'decoder.samw')), 'build the native tree first (reference/decoder.samw)');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-worker-'));
    for (const f of fs.readdirSync(site)) fs.copyFileSync(path.join(site, f), path.join(root, f));
    fs.copyFileSync(path.join(ref, 'decoder.samw'), path.join(root, 'decoder.samw'));
    const w = fs.readFileSync(path.join(ref, 'decoder.samw'));
    fs.writeFileSync(path.join(root, 'cut.samw'), w.subarray(0, w.length - 4096));
    for (const c of ['c', 'e']) fs.copyFileSync(path.join(ref, 'decoder_io', `${c}.image_embeddings.npy`), path.join(root, `${c}.npy`));
    fs.writeFileSync(path.join(root, 'bad.npy'), 'not an npy file');
    return root;
}

// python3 -m http.server: the README's plain static host (no COOP/COEP headers).
async function startPlainServer(root) {
    const p = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '-d', root], { stdio: ['ignore', 'pipe', 'pipe'] });
    const port = await new Promise((resolve, reject) => {
        let text = '';
        const timer = setTimeout(() => reject(new Error(`http.server did not start: ${text}`)), 20000);
        p.stdout.on('data', (d) => {
            text += d;
            const m = /port (\d+)/.exec(text);
            if (m) { clearTimeout(timer); resolve(Number(m[1])); }
        });
        p.on('exit', (code) => reject(new Error(`http.server exited ${code}: ${text}`)));
    });
    return { url: `http://127.0.0.1:${port}`, close: () => p.kill() };
}

// Runs the protocol in the page: returns what the worker answered.
async function talk(page, query) {
    return page.evaluate(async ({ query, prompts }) => {
        const w = new Worker(`sam_decoder_worker.js${query}`);
        const inbox = [];
        const waiters = [];
        w.onmessage = (ev) => { inbox.push(ev.data); waiters.splice(0).forEach((f) => f()); };
        const next = async (type) => {
            for (;;) {
                const i = inbox.findIndex((m) => m.type === type);
                if (i >= 0) return inbox.splice(i, 1)[0];
                await new Promise((r) => waiters.push(r));
            }
        };
        const out = { isolated: self.crossOriginIsolated };
        w.postMessage({ type: 'load', url: 'cut.samw' });
        out.cut = await next('loaded');
        w.postMessage({ type: 'load', url: 'decoder.samw' });
        out.loaded = await next('loaded');
        w.postMessage({ type: 'embedding', id: 1, url: 'bad.npy' });
        out.badEmbedding = await next('embedding');
        const res = {};
        for (const c of ['c', 'e']) {
            // The decode is posted right behind the embedding: it must see the new one.
            w.postMessage({ type: 'embedding', id: 2, url: `${c}.npy` });
            const p = prompts[c];
            w.postMessage({ type: 'decode', id: 10, pointCoords: new Float32Array(p.coords), pointLabels: new Float32Array(p.labels),
                            maskInput: p.mask ? new Float32Array(p.mask) : null, origImSize: new Float32Array([512, 512]) });
            const e = await next('embedding');
            const r = await next('result');
            res[c] = { embeddingOk: e.ok, iou: Array.from(r.iou), lowRes: Array.from(r.lowRes), ms: r.ms, error: r.error };
        }
        out.results = res;
        w.postMessage({ type: 'decode', id: 11, pointCoords: new Float32Array([NaN, 1]), pointLabels: new Float32Array([1]),
                        maskInput: null, origImSize: new Float32Array([512, 512]) });
        out.badDecode = await next('result');
        const batch = [];
        const p = prompts.c;
        const prompt = { pointCoords: new Float32Array(p.coords), pointLabels: new Float32Array(p.labels) };
        w.postMessage({ type: 'embedding', id: 3, url: 'c.npy' });
        out.batchEmbedding = await next('embedding');
        w.postMessage({ type: 'batch', id: 20, prompts: Array.from({ length: 6 }, () => prompt), multimask: true });
        for (;;) {
            const m = await next('batch_result');
            batch.push({ offset: m.offset, count: m.count, k: m.k, done: m.done, error: m.error,
                         first: Array.from(m.lowRes.subarray(0, 65536 * 4)), iou: Array.from(m.iou) });
            if (m.done) break;
        }
        out.batch = batch;
        w.terminate();
        return out;
    }, { query, prompts: PROMPTS });
}

const PROMPTS = {
    c: { coords: f32('c.point_coords.npy'), labels: f32('c.point_labels.npy'), mask: null },
    e: { coords: f32('e.point_coords.npy'), labels: f32('e.point_labels.npy'), mask: f32('e.mask_input.npy') },
};

function checkAnswers(out, threads) {
    assert.equal(out.cut.ok, false);
    assert.match(out.cut.message, /cut\.samw: .*truncated/);
    assert.equal(out.loaded.ok, true, out.loaded.message);
    assert.equal(out.loaded.message, `backend=C++ wasm SIMD;threads=${threads};outputs=4`);
    assert.equal(out.badEmbedding.ok, false);
    assert.match(out.badEmbedding.message, /bad\.npy/);
    for (const c of ['c', 'e']) {
        const r = out.results[c];
        assert.ok(r.embeddingOk && !r.error, JSON.stringify(r.error));
        const want = f32(`${c}.multi.low_res_masks.npy`), wantIou = f32(`${c}.multi.iou_predictions.npy`);
        const d = Math.max(maxDiff(r.lowRes, want), maxDiff(r.iou, wantIou));
        console.log(`threads=${threads} case ${c}: max|worker - official| ${d.toExponential(2)}, decode ${r.ms.toFixed(1)} ms`);
        assert.ok(d <= 1e-5, `case ${c}: ${d}`);
    }
    assert.match(out.badDecode.error, /point_coords\[0\] = nan is not finite/);
    assert.deepEqual(out.batch.map((b) => [b.offset, b.count, b.done, b.k]), [[0, 4, false, 4], [4, 2, true, 4]]);
    for (const b of out.batch) {
        assert.equal(b.error, undefined);
        assert.deepEqual(b.first, out.results.c.lowRes);  // the same prompt as case c, same image
        assert.deepEqual(b.iou.slice(0, 4), out.results.c.iou);
    }
}

test('C++ decoder worker: plain static host (one thread) and COOP/COEP (two threads), same bits', { timeout: 300000 }, async () => {
    const root = makeRoot();
    const plain = await startPlainServer(root);
    const isolated = await startStaticServer({ '/': root });
    const b = await launchBrowser();
    try {
        const page1 = await b.open(`${plain.url}/sam_decoder_worker.js`);
        const one = await talk(page1, '');
        assert.equal(one.isolated, false);
        checkAnswers(one, 1);
        const page2 = await b.open(`${isolated.url.replace(/\/$/, '')}/sam_decoder_worker.js`);
        const two = await talk(page2, '?threads=2');
        assert.equal(two.isolated, true);
        checkAnswers(two, 2);
        for (const c of ['c', 'e']) assert.deepEqual(two.results[c].lowRes, one.results[c].lowRes);
    } finally {
        await b.close();
        plain.close();
        await isolated.close();
        fs.rmSync(root, { recursive: true, force: true });
    }
});
