// Command-line export of what the server stored: scripts/server/export_coco.mjs prints the
// same COCO document as GET /api/annotations/<name>, and scripts/convert reads a dataset
// folder's annotations.sqlite through it (YOLO segmentation labels from saved work).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn_server, repo } from './server_harness.mjs';

test('a saved dataset exports on the command line as the server exports it', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-convert-store-'));
    try {
        const ds = path.join(tmp, 'ds');
        fs.mkdirSync(ds);
        fs.writeFileSync(path.join(ds, 'manifest.json'), JSON.stringify({
            version: 1, images: [{ id: 1, file: 'images/a.png', width: 16, height: 12 }, { id: 2, file: 'images/b.png', width: 10, height: 10 }],
        }));
        const srv = await spawn_server(['--app', tmp, ds]);
        let served;
        try {
            const api = `${srv.url}api/annotations/ds/`;
            const put = async (target, body, version) => {
                const r = await fetch(new URL(target, api), { method: 'PUT', headers: { 'If-Match': `"${version}"` }, body: JSON.stringify(body) });
                assert.equal(r.status, 200, await r.text());
            };
            await put('categories', { categories: [{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }] }, 0);
            await put(`images/${encodeURIComponent('a.png')}`, { annotations: [
                { id: 7, category_id: 2, segmentation: [[2, 2, 12, 2, 12, 9, 2, 9]], area: 70, bbox: [2, 2, 10, 7], iscrowd: 0 },
            ] }, 0);
            served = await (await fetch(new URL('.', api).href.replace(/\/$/, ''))).json();
        } finally {
            await srv.stop();
        }
        delete served.version;
        const r = spawnSync('node', [path.join(repo, 'scripts/server/export_coco.mjs'), ds], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), served);
        assert.equal(served.annotations.length, 1);

        const out = path.join(tmp, 'yolo');
        const c = spawnSync(path.join(repo, 'scripts/convert'), ['export', ds, '--format', 'yolo_seg', '--out', out, '--no-images'], { encoding: 'utf8' });
        assert.equal(c.status, 0, c.stderr + c.stdout);
        const line = fs.readFileSync(path.join(out, 'labels', 'a.txt'), 'utf8').trim().split(/\s+/).map(Number);
        assert.equal(line[0], 1);  // "dog": the second category
        const xs = line.slice(1).filter((_, i) => i % 2 === 0), ys = line.slice(1).filter((_, i) => i % 2 === 1);
        assert.deepEqual([Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)].map((v) => +v.toFixed(3)), [0.125, 0.75, 0.167, 0.75]);
        assert.equal(fs.readFileSync(path.join(out, 'labels', 'b.txt'), 'utf8'), '');

        const bad = spawnSync('node', [path.join(repo, 'scripts/server/export_coco.mjs'), path.join(tmp, 'nope')], { encoding: 'utf8' });
        assert.notEqual(bad.status, 0);
        assert.match(bad.stderr, /nope/);
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
});
