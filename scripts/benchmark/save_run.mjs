// save_run.mjs - "edit -> saved" for scripts/bench (issue 15): time and bytes written per
// edit with a dataset of N images x K annotations, for N = 10 and 1000, so a save that
// grows with the project shows. make_save_dataset() writes DIR/manifest.json with N
// images (only the first has files: the one the app opens) and DIR/annotations.json, the
// whole-document form scripts/serve reads (K rectangles per image, uncompressed RLE);
// measure_saves() opens it in the app (restored from the server), selects an annotation
// and toggles it hidden E times (H), timing each from the keydown to the moment both the
// browser store (IndexedDB transaction complete) and the server (PUT answered) have it,
// polled through saveState() (state() lists every annotation: polling it costs in
// proportion to the dataset and delays the save being timed); app_save_ms is the app's
// own work per save (saveState().save_ms).
// Bytes per edit: the browser store's unit texts written and the PUT bodies sent.
//   make_save_dataset(dir, {images, annotations, image_file, embedding_file, decoder_file, width, height})
//   const r = await measure_saves(browser, server_url, name, {edits: 10})
import fs from 'node:fs';
import path from 'node:path';
import { summarize } from './stats.mjs';

// Column-major runs of an axis-aligned rectangle [x0, x1) x [y0, y1) on an h-row image.
function rect_counts(h, w, x0, y0, x1, y1) {
    const counts = [x0 * h + y0];
    for (let x = x0; x < x1; x++) {
        counts.push(y1 - y0);
        counts.push(x + 1 < x1 ? h - (y1 - y0) : (w - x1) * h + (h - y1));
    }
    return counts;
}

export function make_save_dataset(dir, o) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'embeddings'), { recursive: true });
    const ext = path.extname(o.image_file);
    fs.copyFileSync(o.image_file, path.join(dir, 'images', `img0${ext}`));
    fs.copyFileSync(o.embedding_file, path.join(dir, 'embeddings', 'img0.npy'));
    fs.copyFileSync(o.decoder_file, path.join(dir, 'decoder.onnx'));
    const W = o.width, H = o.height;
    const images = [], coco_images = [], annotations = [];
    let id = 1;
    for (let i = 0; i < o.images; i++) {
        images.push({ id: i + 1, file: `images/img${i}${ext}`, width: W, height: H, embedding: `embeddings/img${i}.npy` });
        coco_images.push({ id: i + 1, file_name: `img${i}${ext}`, width: W, height: H });
        for (let k = 0; k < o.annotations; k++) {
            const x0 = Math.floor((W * ((k * 37) % 90)) / 100), y0 = Math.floor((H * ((k * 53) % 90)) / 100);
            const x1 = Math.min(W, x0 + Math.floor(W * 0.04)), y1 = Math.min(H, y0 + Math.floor(H * 0.04));
            annotations.push({ id: id++, image_id: i + 1, category_id: 1, iscrowd: 0, area: (x1 - x0) * (y1 - y0),
                bbox: [x0, y0, x1 - x0, y1 - y0], segmentation: { size: [H, W], counts: rect_counts(H, W, x0, y0, x1, y1) } });
        }
    }
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ version: 1, model: { id: 'bench', decoder: 'decoder.onnx' }, images }));
    fs.writeFileSync(path.join(dir, 'annotations.json'), JSON.stringify({
        images: coco_images, categories: [{ id: 1, name: 'object', supercategory: '' }], annotations, version: 1 }));
}

export async function measure_saves(b, server_url, name, { edits = 10, timeout_s = 600 } = {}) {
    const url = `${server_url}index.html?manifest=/datasets/${encodeURIComponent(name)}/manifest.json`;
    const { context, page, logs } = await b.fresh_page(url, () => {
        window.addEventListener('keydown', (e) => { window.__benchKey = e.timeStamp; }, { capture: true, passive: true });
    });
    try {
        const t_load = Date.now();
        await page.waitForFunction(() => {
            try { const s = window.samAnnotator.state(); return s.restored && s.image && s.image.loaded; } catch { return false; }
        }, null, { timeout: timeout_s * 1000, polling: 200 });
        const load_s = (Date.now() - t_load) / 1000;
        const put_bytes = [];
        page.on('request', (r) => { if (r.method() === 'PUT') put_bytes.push((r.postData() || '').length); });
        let s = await page.evaluate(() => window.samAnnotator.state());
        const row = s.ui[`annotation_${s.annotations.find((a) => a.image_id === s.image.id).id}`];
        if (!row) return { error: `no annotation row to select: ${logs.slice(-5).join('; ')}` };
        await page.mouse.click(row[0] + 8, row[1] + row[3] / 2);
        await page.waitForFunction(() => window.samAnnotator.state().selected_annotation > 0);
        await page.mouse.move(5, 795);
        const wait_saved = () => page.evaluate(() => new Promise((resolve) => {
            // saveState(), not state(): state() lists every annotation, and polling it every 2 ms
            // in a 1000-image dataset took the main thread from the save being timed.
            const check = () => {
                const st = window.samAnnotator.saveState();
                const done = st.autosaved_revision === st.revision && window.Module.samStoreWrites === window.Module.samStorePuts &&
                    (st.server.mode === 'none' || (st.server.saved_revision === st.revision && !st.server.saving && st.server.dirty === 0));
                if (done) resolve(performance.now() - window.__benchKey);
                else setTimeout(check, 2);
            };
            check();
        }));
        await page.evaluate(() => new Promise((r) => setTimeout(r, 500)));
        const ms = [], store = [], put = [], app_ms = [];
        for (let i = 0; i < edits; i++) {
            const before = await page.evaluate(() => ({ store: window.Module.samStoreBytes || 0, rev: window.samAnnotator.saveState().revision }));
            const puts_before = put_bytes.length;
            await page.keyboard.press('KeyH');
            await page.waitForFunction((r) => window.samAnnotator.saveState().revision > r, before.rev);
            ms.push(await wait_saved());
            app_ms.push(await page.evaluate(() => window.samAnnotator.saveState().save_ms));
            store.push((await page.evaluate(() => window.Module.samStoreBytes || 0)) - before.store);
            put.push(put_bytes.slice(puts_before).reduce((a, v) => a + v, 0));
        }
        s = await page.evaluate(() => window.samAnnotator.state());
        const mean = (v) => Math.round(v.reduce((a, x) => a + x, 0) / Math.max(1, v.length));
        return {
            images: s.image_count, annotations: s.annotations.length, server_mode: s.server.mode, load_s,
            ms_per_edit: summarize(ms), app_save_ms: summarize(app_ms), store_bytes_per_edit: mean(store), server_bytes_per_edit: mean(put), edits,
        };
    } finally {
        await context.close();
    }
}
