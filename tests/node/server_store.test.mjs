// The annotations store behind scripts/serve (issue 13, docs/annotations API in README):
// per-image and categories units with If-Match versions, validation by the core's COCO
// import rules (422 naming the field, the same verdict as `sam_coco check` on the same
// document), 400 for unreadable bodies, history and restore, the COCO export, the legacy
// whole-document PUT, and the import of an existing annotations.json on first start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn_server, run_server_to_exit, wait_for } from './server_harness.mjs';
import { find_native_tool } from '../../scripts/lib/native_tool.mjs';

let tmp, ds, srv, api;
const SAM_COCO = find_native_tool('sam_coco', 'SAM_COCO');
const IMAGES = [
    { id: 1, file: 'images/a.png', width: 16, height: 12 },
    { id: 2, file: 'images/sub/b.png', width: 20, height: 10 },
    { id: 5, file: 'images/c.png', width: 8, height: 8 },
];
const CATS = [{ id: 1, name: 'cat' }, { id: 2, name: 'dog', supercategory: 'animal', color: [1, 2, 3] }];
const tri = (id, extra = {}) => ({ id, category_id: 1, segmentation: [[1, 1, 9, 1, 5, 8]], area: 30, bbox: [1, 1, 8, 7], iscrowd: 0, ...extra });
const rle_full = (h, w) => ({ size: [h, w], counts: [0, h * w] });

function make_dataset(dir, images = IMAGES) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: 1, images }));
}

async function call(method, target, { body, if_match, headers = {} } = {}) {
    const h = { ...headers };
    if (if_match !== undefined) h['If-Match'] = `"${if_match}"`;
    const r = await fetch(new URL(target, api), { method, headers: h, body: body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* some answers are not JSON */ }
    return { status: r.status, body: json, text, etag: r.headers.get('etag') };
}

const unit_url = (name) => `images/${encodeURIComponent(name)}`;

before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sam-store-'));
    ds = path.join(tmp, 'ds');
    make_dataset(ds);
    srv = await spawn_server(['--app', tmp, ds]);
    api = `${srv.url}api/annotations/ds/`;
    assert.equal((await call('PUT', 'categories', { body: { categories: CATS }, if_match: 0 })).status, 200);
});

after(async () => {
    await srv?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
});

test('index and units: never saved is version 0 and []; names outside the manifest are 404', async () => {
    let r = await call('GET', 'index');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { version: 1, categories: { version: 1 }, images: [] });
    r = await call('GET', unit_url('sub/b.png'));
    assert.deepEqual(r.body, { file_name: 'sub/b.png', version: 0, annotations: [] });
    assert.equal(r.etag, '"0"');
    for (const name of ['nope.png', 'b.png', 'images/a.png', '../manifest.json', '']) {
        assert.equal((await call('GET', `images/${encodeURIComponent(name)}`)).status, 404, name);
        assert.equal((await call('PUT', `images/${encodeURIComponent(name)}`, { body: { annotations: [] }, if_match: 0 })).status, 404, name);
    }
    r = await call('GET', 'categories');
    assert.deepEqual(r.body, { version: 1, categories: CATS });
    assert.equal((await call('GET', '/api/annotations/nope/index')).status, 404);
});

test('PUT per image: If-Match required, versions, 409 carries the current unit, image_id filled', async () => {
    let r = await call('PUT', unit_url('a.png'), { body: { annotations: [tri(1)] } });
    assert.equal(r.status, 428);
    assert.equal(r.body.version, 0);
    r = await call('PUT', unit_url('a.png'), { body: { annotations: [tri(1)] }, if_match: 0 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.version, 1);
    assert.equal(r.etag, '"1"');
    r = await call('PUT', unit_url('a.png'), { body: { annotations: [tri(1), tri(2, { source: 'machine', score: 0.5 })] }, if_match: 0 });
    assert.equal(r.status, 409);
    assert.equal(r.body.version, 1);
    assert.deepEqual(r.body.annotations, [{ ...tri(1), image_id: 1 }]);
    r = await call('PUT', unit_url('a.png'), { body: { annotations: [tri(1), tri(2, { source: 'machine', score: 0.5, extra: { kept: [1, 2] } })] }, if_match: 1 });
    assert.equal(r.body.version, 2);
    r = await call('GET', unit_url('a.png'));
    assert.deepEqual(r.body, { file_name: 'a.png', version: 2, annotations: [{ ...tri(1), image_id: 1 }, { ...tri(2, { source: 'machine', score: 0.5, extra: { kept: [1, 2] } }), image_id: 1 }] });
    // A slash in the name travels encoded as one segment.
    r = await call('PUT', unit_url('sub/b.png'), { body: { annotations: [tri(3, { image_id: 2, segmentation: rle_full(10, 20) })] }, if_match: 0 });
    assert.equal(r.status, 200, r.text);
    // The same content again is no new version.
    r = await call('PUT', unit_url('sub/b.png'), { body: { annotations: [tri(3, { segmentation: rle_full(10, 20) })] }, if_match: 1 });
    assert.deepEqual(r.body, { version: 1 });
    r = await call('GET', 'index');
    assert.deepEqual(r.body.images, [{ file_name: 'a.png', version: 2, count: 2 }, { file_name: 'sub/b.png', version: 1, count: 1 }]);
    assert.equal(r.body.version, 4);
});

test('racing PUTs on one image version: exactly one wins, the unit equals the winner', async () => {
    const { version } = (await call('GET', unit_url('c.png'))).body;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        call('PUT', unit_url('c.png'), { body: { annotations: [tri(100 + i, { segmentation: rle_full(8, 8) })] }, if_match: version })));
    const won = results.filter((r) => r.status === 200);
    assert.equal(won.length, 1);
    assert.equal(results.filter((r) => r.status === 409).length, 19);
    const winner = results.indexOf(won[0]);
    const now = (await call('GET', unit_url('c.png'))).body;
    assert.equal(now.version, version + 1);
    assert.equal(now.annotations[0].id, 100 + winner);
});

// Each row: a body for a.png (16x12) and the field the 422 must name. `core`: the rule
// is the core's COCO import; the same document must fail `sam_coco check` at that field.
const INVALID = [
    { why: 'RLE size is not the image size', anns: [tri(9, { segmentation: { size: [12, 17], counts: [0, 204] } })], field: 'annotations[0].segmentation.size', core: true },
    { why: 'RLE counts do not sum to h*w', anns: [tri(9, { segmentation: { size: [12, 16], counts: [0, 191] } })], field: 'annotations[0].segmentation.counts', core: true },
    { why: 'compressed RLE string of the wrong length', anns: [tri(9, { segmentation: { size: [12, 16], counts: '0PX1' } })], field: 'annotations[0].segmentation.counts', core: true },
    { why: 'polygon with two points', anns: [tri(9, { segmentation: [[1, 1, 5, 5]] })], field: 'annotations[0].segmentation[0]', core: true },
    { why: 'polygon with an odd count', anns: [tri(9, { segmentation: [[1, 1, 5, 5, 6, 6, 7]] })], field: 'annotations[0].segmentation[0]', core: true },
    { why: 'polygon far outside the image', anns: [tri(9, { segmentation: [[1, 1, 500, 1, 5, 5]] })], field: 'annotations[0].segmentation[0][2]', core: true },
    { why: 'empty polygon list', anns: [tri(9, { segmentation: [] })], field: 'annotations[0].segmentation', core: true },
    { why: 'no segmentation', anns: [{ id: 9, category_id: 1 }], field: 'annotations[0].segmentation', core: true },
    { why: 'category not in the categories unit', anns: [tri(9, { category_id: 7 })], field: 'annotations[0].category_id', core: true },
    { why: 'bbox of three numbers', anns: [tri(9, { bbox: [1, 2, 3] })], field: 'annotations[0].bbox', core: true },
    { why: 'iscrowd 2', anns: [tri(9, { iscrowd: 2 })], field: 'annotations[0].iscrowd', core: true },
    { why: 'id a string', anns: [tri('9')], field: 'annotations[0].id', core: true },
    { why: 'sam.source not human/machine', anns: [tri(9, { sam: { source: 'robot' } })], field: 'annotations[0].sam.source', core: true },
    { why: 'annotation not an object', anns: [tri(9), 7], field: 'annotations[1]', core: true },
    { why: 'id 0', anns: [tri(0)], field: 'annotations[0].id' },
    { why: 'duplicate id in the unit', anns: [tri(9), tri(9)], field: 'annotations[1].id' },
    { why: "id used by another image's annotation", anns: [tri(3)], field: 'annotations[0].id' },
    { why: 'image_id of another image', anns: [tri(9, { image_id: 2 })], field: 'annotations[0].image_id' },
    { why: 'top-level source', anns: [tri(9, { source: 'robot' })], field: 'annotations[0].source' },
    { why: 'top-level score', anns: [tri(9, { score: 'high' })], field: 'annotations[0].score' },
];

test('invalid annotations: 422 naming the field, as the core\'s own importer names it; nothing stored', async () => {
    const before_unit = (await call('GET', unit_url('a.png'))).body;
    for (const row of INVALID) {
        const r = await call('PUT', unit_url('a.png'), { body: { annotations: row.anns }, if_match: before_unit.version });
        assert.equal(r.status, 422, `${row.why}: ${r.status} ${r.text}`);
        assert.equal(r.body.field, row.field, `${row.why}: ${r.text}`);
        assert.ok(r.body.error.startsWith(`${row.field}: `), r.body.error);
        if (row.core) {
            // The same document through the core's importer, as a file: same verdict, same field.
            const doc = { images: [{ id: 1, file_name: 'a.png', width: 16, height: 12 }], categories: CATS, annotations: row.anns.map((a) => (a && typeof a === 'object' ? { ...a, image_id: 1 } : a)) };
            const file = path.join(tmp, 'row.json');
            fs.writeFileSync(file, JSON.stringify(doc));
            const c = spawnSync(SAM_COCO, ['check', file], { encoding: 'utf8' });
            assert.equal(c.status, 1, `${row.why}: the core accepted it`);
            assert.ok(c.stderr.startsWith(`row.json: ${row.field}: `), `${row.why}: core says ${c.stderr}`);
        }
    }
    for (const body of [{ annotations: {} }, { annotation: [] }, [], '"x"', 'null']) {
        const r = await call('PUT', unit_url('a.png'), { body, if_match: before_unit.version });
        assert.equal(r.status, 422, JSON.stringify(body));
        assert.equal(r.body.field, 'annotations');
    }
    assert.deepEqual((await call('GET', unit_url('a.png'))).body, before_unit);
});

test('unreadable bodies are 400: invalid UTF-8, over-deep nesting, bad JSON; the server stays up', async () => {
    const { version } = (await call('GET', unit_url('a.png'))).body;
    const prefix = Buffer.from('{"annotations":[{"id":9,"category_id":1,"segmentation":[[1,1,9,1,5,8]],"note":"');
    const suffix = Buffer.from('"}]}');
    for (const [why, bad] of [['lone continuation byte', [0x80]], ['0xff', [0xff]], ['overlong /', [0xc0, 0xaf]], ['UTF-16 surrogate', [0xed, 0xa0, 0x80]], ['cut sequence', [0xe2, 0x82]]]) {
        const body = Buffer.concat([prefix, Buffer.from(bad), suffix]);
        for (const target of [unit_url('a.png'), 'categories', '']) {
            const r = await call('PUT', target, { body, if_match: target === '' ? (await call('GET', 'index')).body.version : version });
            assert.equal(r.status, 400, `${why} ${target}: ${r.text}`);
            assert.match(r.body.error, new RegExp(`not valid UTF-8 \\(first bad byte at offset ${prefix.length}\\)`), why);
        }
    }
    // The same note as valid UTF-8 is stored as sent.
    const r_ok = await call('PUT', unit_url('a.png'), { body: Buffer.concat([prefix, Buffer.from('é€😀'), suffix]), if_match: version });
    assert.equal(r_ok.status, 200, r_ok.text);
    assert.equal((await call('GET', unit_url('a.png'))).body.annotations[0].note, 'é€😀');
    const v = r_ok.body.version;
    for (const depth of [65, 1000, 200000]) {
        const deep = `{"annotations":[{"id":9,"x":${'['.repeat(depth)}${']'.repeat(depth)}}]}`;
        for (const target of [unit_url('a.png'), 'categories', '']) {
            const r = await call('PUT', target, { body: deep, if_match: 0 });
            assert.equal(r.status, 400, `depth ${depth} ${target}: ${r.status}`);
            assert.match(r.body.error, /deeper than 64 levels/);
        }
    }
    // Brackets inside strings are text, not nesting.
    const in_string = await call('PUT', unit_url('a.png'), { body: { annotations: [tri(9, { note: '['.repeat(500) })] }, if_match: v });
    assert.equal(in_string.status, 200, in_string.text);
    for (const bad of ['{"annotations": [', '{"annotations": [}', '', '{"annotations": ["\\ud800"]}']) {
        const r = await call('PUT', unit_url('a.png'), { body: bad, if_match: v + 1 });
        assert.equal(r.status, 400, `${bad}: ${r.text}`);
    }
    assert.equal((await call('GET', 'index')).status, 200);
});

test('history lists every version newest first; restore makes a new version equal to an old one', async () => {
    const name = 'c.png';
    let { version } = (await call('GET', unit_url(name))).body;
    const contents = [];
    for (let i = 0; i < 3; i++) {
        const anns = Array.from({ length: i + 1 }, (_, k) => tri(200 + k, { segmentation: rle_full(8, 8), category_id: 1 + (k % 2) }));
        const r = await call('PUT', unit_url(name), { body: { annotations: anns }, if_match: version });
        assert.equal(r.status, 200, r.text);
        version = r.body.version;
        contents.push({ version, anns });
    }
    let h = (await call('GET', `${unit_url(name)}/history`)).body.versions;
    assert.deepEqual(h.map((e) => e.version), Array.from({ length: version }, (_, i) => version - i));
    for (const e of h) {
        assert.match(e.saved_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        const past = (await call('GET', `${unit_url(name)}/history/${e.version}`)).body;
        assert.equal(past.version, e.version);
        assert.equal(past.annotations.length, e.count);
        assert.equal(Buffer.byteLength(JSON.stringify(past.annotations)), e.bytes);
    }
    const first = contents[0];
    assert.equal((await call('POST', `${unit_url(name)}/restore`, { body: { version: first.version } })).status, 428);
    assert.equal((await call('POST', `${unit_url(name)}/restore`, { body: { version: first.version }, if_match: version - 1 })).status, 409);
    assert.equal((await call('POST', `${unit_url(name)}/restore`, { body: { version: 999 }, if_match: version })).status, 404);
    assert.equal((await call('POST', `${unit_url(name)}/restore`, { body: { version: 'x' }, if_match: version })).body.field, 'version');
    assert.equal((await call('GET', `${unit_url(name)}/history/999`)).status, 404);
    const r = await call('POST', `${unit_url(name)}/restore`, { body: { version: first.version }, if_match: version });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.version, version + 1);
    assert.equal(r.body.restored_from, first.version);
    const now = (await call('GET', unit_url(name))).body;
    assert.deepEqual(now.annotations, first.anns.map((a) => ({ ...a, image_id: 5 })));
    h = (await call('GET', `${unit_url(name)}/history`)).body.versions;
    assert.equal(h.length, version + 1, 'restoring destroyed no version');
    // An old version that no longer fits (its category is gone) is refused like a PUT.
    const cats = (await call('GET', 'categories')).body;
    const fresh = await call('PUT', unit_url(name), { body: { annotations: [] }, if_match: now.version });
    assert.equal(fresh.status, 200);
    assert.equal((await call('PUT', 'categories', { body: { categories: [...cats.categories, { id: 3, name: 'bird' }] }, if_match: cats.version })).status, 200);
    const with_bird = await call('PUT', unit_url(name), { body: { annotations: [tri(300, { category_id: 3, segmentation: rle_full(8, 8) })] }, if_match: fresh.body.version });
    assert.equal(with_bird.status, 200, with_bird.text);
    const back = await call('PUT', unit_url(name), { body: { annotations: [] }, if_match: with_bird.body.version });
    const c2 = (await call('GET', 'categories')).body;
    assert.equal((await call('PUT', 'categories', { body: { categories: cats.categories }, if_match: c2.version })).status, 200);
    const stale = await call('POST', `${unit_url(name)}/restore`, { body: { version: with_bird.body.version }, if_match: back.body.version });
    assert.equal(stale.status, 422);
    assert.equal(stale.body.field, 'annotations[0].category_id');
});

test('categories: versions, history, restore; removing one still in use is 422', async () => {
    let c = (await call('GET', 'categories')).body;
    assert.equal((await call('PUT', 'categories', { body: { categories: [CATS[1]] }, if_match: c.version })).body.field, 'categories');
    let r = await call('PUT', 'categories', { body: { categories: [...c.categories, { id: 9, name: 'cat' }] }, if_match: c.version });
    assert.equal(r.status, 422);
    assert.match(r.body.field, /^categories\[\d+\]\.name$/);
    r = await call('PUT', 'categories', { body: { categories: [...c.categories, { id: 9, name: 'owl' }] }, if_match: c.version - 1 });
    assert.equal(r.status, 409);
    assert.deepEqual(r.body.categories, c.categories);
    r = await call('PUT', 'categories', { body: { categories: [...c.categories, { id: 9, name: 'owl' }] }, if_match: c.version });
    assert.equal(r.status, 200);
    const h = (await call('GET', 'categories/history')).body.versions;
    assert.equal(h[0].version, r.body.version);
    assert.equal(h[0].count, c.categories.length + 1);
    r = await call('POST', 'categories/restore', { body: { version: c.version }, if_match: r.body.version });
    assert.equal(r.status, 200, r.text);
    c = (await call('GET', 'categories')).body;
    assert.equal(c.categories.length, h[0].count - 1);
    assert.equal((await call('GET', `categories/history/${h[0].version}`)).body.categories.length, h[0].count);
});

test("the COCO export is assembled from the store and passes the core's importer", async () => {
    const r = await call('GET', '');
    assert.equal(r.status, 200);
    const doc = r.body;
    assert.deepEqual(doc.images, IMAGES.map((im) => ({ id: im.id, file_name: im.file.slice(7), width: im.width, height: im.height })));
    const index = (await call('GET', 'index')).body;
    assert.equal(doc.version, index.version);
    assert.equal(r.etag, `"${index.version}"`);
    let n = 0;
    for (const u of index.images) {
        const unit = (await call('GET', unit_url(u.file_name))).body;
        n += unit.annotations.length;
        const id = IMAGES.find((im) => im.file.slice(7) === u.file_name).id;
        assert.deepEqual(doc.annotations.filter((a) => a.image_id === id), unit.annotations);
    }
    assert.equal(doc.annotations.length, n);
    const file = path.join(tmp, 'export.json');
    fs.writeFileSync(file, r.text);
    const c = spawnSync(SAM_COCO, ['check', file], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, new RegExp(`${IMAGES.length} images, \\d+ categories, ${n} annotations .* 0 renumbered`));
});

test('legacy whole-document PUT: the references checked, stored as per-image versions of what changed', async () => {
    const doc = (await call('GET', '')).body;
    const index = (await call('GET', 'index')).body;
    const { version, ...coco } = doc;
    // Unchanged: no new version.
    let r = await call('PUT', '', { body: coco, if_match: version });
    assert.deepEqual(r.body, { version, annotations: coco.annotations.length });
    // The case: an annotation naming an image id that does not exist.
    const dangling = { ...coco, annotations: [...coco.annotations, tri(900, { image_id: 77 })] };
    r = await call('PUT', '', { body: dangling, if_match: version });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.field, `annotations[${coco.annotations.length}].image_id`);
    assert.match(r.body.error, /no image with id 77/);
    r = await call('PUT', '', { body: { ...coco, images: [...coco.images, { id: 40, file_name: 'x.png', width: 4, height: 4 }] }, if_match: version });
    assert.equal(r.body.field, 'images[3].file_name');
    r = await call('PUT', '', { body: { ...coco, images: coco.images.map((im, i) => (i === 0 ? { ...im, width: 99 } : im)) }, if_match: version });
    assert.equal(r.body.field, 'images[0]');
    r = await call('PUT', '', { body: { ...coco, annotations: [...coco.annotations, { ...coco.annotations[0] }] }, if_match: version });
    assert.equal(r.body.field, `annotations[${coco.annotations.length}].id`);
    assert.equal((await call('GET', 'index')).body.version, version, 'refused documents changed the store');
    // One image's annotations changed (and the document's image ids differ from the
    // manifest's: mapped by file_name): only that unit gets a new version.
    const renumbered = { ...coco, images: coco.images.map((im) => ({ ...im, id: im.id + 1000 })), annotations: coco.annotations.map((a) => ({ ...a, image_id: a.image_id + 1000 })) };
    renumbered.annotations.push(tri(901, { image_id: 1001 }));
    r = await call('PUT', '', { body: { version, coco: renumbered } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.version, version + 1);
    const after_index = (await call('GET', 'index')).body;
    for (const u of after_index.images) {
        const was = index.images.find((x) => x.file_name === u.file_name);
        assert.equal(u.version, u.file_name === 'a.png' ? was.version + 1 : was.version, u.file_name);
    }
    const a = (await call('GET', unit_url('a.png'))).body.annotations;
    assert.deepEqual(a.at(-1), { ...tri(901), image_id: 1 });
    // The whole document is the truth: an image left out has no annotations any more (its
    // earlier versions stay in the history).
    const without_b = { ...coco, annotations: [...coco.annotations.filter((x) => x.image_id !== 2), { ...tri(901), image_id: 1 }] };
    r = await call('PUT', '', { body: without_b, if_match: version + 1 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual((await call('GET', unit_url('sub/b.png'))).body.annotations, []);
    assert.ok((await call('GET', `${unit_url('sub/b.png')}/history`)).body.versions.length >= 2);
    assert.equal((await call('PUT', '', { body: without_b, if_match: version })).status, 409);
});

test('first start imports annotations.json (validated; renamed, kept); a bad one stops the server, nothing changed', async () => {
    const dir = path.join(tmp, 'old');
    make_dataset(dir, IMAGES.slice(0, 2));
    const old = {
        info: { description: 'old server' },
        images: [{ id: 1, file_name: 'a.png', width: 16, height: 12 }, { id: 2, file_name: 'gone.png', width: 8, height: 8 }],
        annotations: [tri(1), tri(2, { image_id: 2, segmentation: rle_full(8, 8) }), tri(3)],
        categories: [{ id: 1, name: 'cat' }],
        version: 7,
    };
    old.annotations[0].image_id = 1;
    old.annotations[2].image_id = 1;
    const text = JSON.stringify(old);
    fs.writeFileSync(path.join(dir, 'annotations.json'), text);
    let s = await spawn_server(['--app', tmp, dir]);
    try {
        await wait_for(() => /\ndataset old:/.test(s.output()), 'start-up lines');
        assert.match(s.output(), /imported .*annotations\.json \(3 annotations\) into annotations\.sqlite/);
        assert.ok(!fs.existsSync(path.join(dir, 'annotations.json')));
        assert.equal(fs.readFileSync(path.join(dir, 'annotations.imported.json'), 'utf8'), text);
        const doc = await (await fetch(`${s.url}api/annotations/old`)).json();
        assert.equal(doc.version, 7, 'old clients holding version 7 can go on');
        assert.deepEqual(doc.categories, old.categories);
        // gone.png is not in the manifest: kept and exported (its id 2 is taken by sub/b.png).
        assert.deepEqual(doc.images.map((im) => im.file_name), ['a.png', 'sub/b.png', 'gone.png']);
        const gone = doc.images[2];
        assert.equal(gone.id, 3);
        assert.deepEqual(doc.annotations.filter((a) => a.image_id === gone.id).map((a) => a.id), [2]);
        assert.deepEqual(doc.annotations.filter((a) => a.image_id === 1).map((a) => a.id), [1, 3]);
        const unit = await (await fetch(`${s.url}api/annotations/old/images/a.png`)).json();
        assert.equal(unit.version, 1);
        const put = await fetch(`${s.url}api/annotations/old`, { method: 'PUT', headers: { 'If-Match': '7' }, body: JSON.stringify({ images: doc.images, annotations: doc.annotations, categories: doc.categories }) });
        assert.equal(put.status, 200, await put.clone().text());
        assert.equal((await put.json()).version, 7, 'the export PUT back unchanged is no new version');
    } finally { await s.stop(); }
    // A second start does not import again, even if an annotations.json appears.
    fs.writeFileSync(path.join(dir, 'annotations.json'), JSON.stringify({ ...old, annotations: [] }));
    s = await spawn_server(['--app', tmp, dir]);
    try {
        await wait_for(() => /\ndataset old:/.test(s.output()), 'start-up lines');
        assert.match(s.output(), /annotations\.json is not read/);
        assert.equal((await (await fetch(`${s.url}api/annotations/old`)).json()).annotations.length, 3);
    } finally { await s.stop(); }

    const bad = path.join(tmp, 'bad');
    make_dataset(bad);
    const bad_text = JSON.stringify({ images: [{ id: 1, file_name: 'a.png', width: 16, height: 12 }], annotations: [tri(1, { image_id: 9 })], categories: [{ id: 1, name: 'cat' }] });
    fs.writeFileSync(path.join(bad, 'annotations.json'), bad_text);
    const r = await run_server_to_exit(['--app', tmp, bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\/annotations\.json cannot be imported into annotations\.sqlite: annotations\[0\]\.image_id: no image with id 9/);
    assert.equal(fs.readFileSync(path.join(bad, 'annotations.json'), 'utf8'), bad_text);
    assert.deepEqual(fs.readdirSync(bad).sort(), ['annotations.json', 'manifest.json']);
});
