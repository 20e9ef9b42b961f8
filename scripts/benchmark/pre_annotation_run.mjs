// pre_annotation_run.mjs - the browser's pre-annotation figures for scripts/bench (issue 8):
// a segment-everything pass over the shown image (points_per_side x points_per_side grid,
// one point per decoder message, the core generator's filtering/NMS/RLE in wasm), and a
// detector file of N boxes dropped on the page (one box prompt per decoder message).
// Each is timed from the start (button click / drop) until the app reports it finished,
// and the main thread's responsiveness meanwhile is the gaps between animation frames
// (a long task there is what a user feels as a frozen page).
//   const r = await measure_everything(page, state, {points_per_side: 32})
//   const r = await measure_detector_boxes(page, state, {boxes: 100, seed: 1})
// Run on a page that run_app has loaded (run_app's `after` hook).

// Starts recording requestAnimationFrame gaps; stop_frame_gaps returns {p50, p95, max, n} ms.
async function start_frame_gaps(page) {
    await page.evaluate(() => {
        const gaps = [];
        let last = performance.now();
        window.__gaps = { gaps, on: true };
        const tick = (t) => {
            gaps.push(t - last);
            last = t;
            if (window.__gaps.on) requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    });
}

async function stop_frame_gaps(page) {
    return page.evaluate(() => {
        window.__gaps.on = false;
        const g = window.__gaps.gaps.slice(1).sort((a, b) => a - b);
        const q = (p) => (g.length ? g[Math.min(g.length - 1, Math.floor(p * g.length))] : null);
        const r = (v) => (v === null ? null : Math.round(v * 10) / 10);
        return { p50: r(q(0.5)), p95: r(q(0.95)), max: r(g.length ? g[g.length - 1] : null), n: g.length };
    });
}

// Polls the app's state until predicate(state) holds; returns that state. Also used by
// tests/browser/pre_annotation.test.mjs.
export async function wait_state(page, predicate, timeout_ms, what) {
    const t0 = Date.now();
    let s;
    while (Date.now() - t0 < timeout_ms) {
        s = await page.evaluate(() => window.samAnnotator.state());
        if (predicate(s)) return s;
        await page.waitForTimeout(50);
    }
    throw new Error(`${what}: not reached within ${timeout_ms / 1000} s; last state: ${JSON.stringify(s)}`);
}

// Ctrl+click makes an ImGui slider a text field: type the value, Enter. Ctrl is held over a
// few frames so the frame that handles the click sees it (the app draws only when woken).
// Also used by tests/browser/pre_annotation.test.mjs.
export async function set_slider(page, name, value) {
    await wait_state(page, (s) => s.ui && s.ui[name], 30000, `widget ${name}`);
    await page.waitForTimeout(100);  // aim with a settled rectangle
    const r = (await wait_state(page, (s) => s.ui && s.ui[name], 30000, `widget ${name}`)).ui[name];
    await page.mouse.move(r[0] + r[2] / 2, r[1] + r[3] / 2);
    await page.keyboard.down('Control');
    await page.waitForTimeout(100);
    await page.mouse.down();
    await page.waitForTimeout(100);
    await page.mouse.up();
    await page.waitForTimeout(100);
    await page.keyboard.up('Control');
    await wait_state(page, (s) => s.text_input_active, 30000, `${name} text field`);
    await page.keyboard.press('Control+KeyA');
    await page.keyboard.type(String(value));
    await page.keyboard.press('Enter');
    await wait_state(page, (s) => !s.text_input_active, 30000, `${name} set`);
}

async function click_widget(page, name) {
    await wait_state(page, (s) => s.ui && s.ui[name], 30000, `widget ${name}`);
    await page.waitForTimeout(100);  // aim with a settled rectangle
    const r = (await wait_state(page, (s) => s.ui && s.ui[name], 30000, `widget ${name}`)).ui[name];
    await page.mouse.click(r[0] + r[2] / 2, r[1] + r[3] / 2);
}

export async function measure_everything(page, s0, { points_per_side = 32, timeout_s = 900 } = {}) {
    if (s0.proposals?.status === 'loaded') return { error: 'the bench dataset has server proposals: the browser pass is not offered' };
    await set_slider(page, 'everything_points_per_side', points_per_side);
    const s = await page.evaluate(() => window.samAnnotator.state());
    if (s.everything.points_per_side !== points_per_side) return { error: `points per side is ${s.everything.points_per_side}` };
    await start_frame_gaps(page);
    const t0 = await page.evaluate(() => performance.now());
    await click_widget(page, 'everything_start');
    const end = await wait_state(page, (s) => !s.everything.active && s.proposals.status === 'generated', timeout_s * 1000,
        `segment everything (${points_per_side}x${points_per_side})`);
    const ms = (await page.evaluate(() => performance.now())) - t0;
    const frame_gaps_ms = await stop_frame_gaps(page);
    const notice = end.notices.filter((n) => n.startsWith('Segment everything')).pop() || null;
    return {
        points: points_per_side * points_per_side, seconds: Math.round(ms) / 1000, masks: end.proposals.list.length,
        ms_per_point: Math.round(ms / (points_per_side * points_per_side) * 10) / 10, frame_gaps_ms, notice,
    };
}

// N boxes spread over the image (fixed seed), sides 5-30 % of the image, as a COCO file
// named after the shown image.
function detections(image, n, seed) {
    let x = seed >>> 0;
    const rand = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const W = image.width, H = image.height;
    const annotations = [];
    for (let i = 0; i < n; i++) {
        const w = W * (0.05 + 0.25 * rand()), h = H * (0.05 + 0.25 * rand());
        annotations.push({ id: i + 1, image_id: 1, category_id: 1 + (i % 3), score: Math.round(rand() * 100) / 100,
            bbox: [Math.round(rand() * (W - w)), Math.round(rand() * (H - h)), Math.round(w), Math.round(h)] });
    }
    return JSON.stringify({
        images: [{ id: 1, file_name: image.file.split('/').pop(), width: W, height: H }],
        categories: [{ id: 1, name: 'box_a' }, { id: 2, name: 'box_b' }, { id: 3, name: 'box_c' }], annotations,
    });
}

export async function measure_detector_boxes(page, s0, { boxes = 100, seed = 1, timeout_s = 600 } = {}) {
    const text = detections(s0.image, boxes, seed);
    const n0 = s0.annotations.length;
    await start_frame_gaps(page);
    const t0 = await page.evaluate(() => performance.now());
    await page.evaluate((t) => {
        const dt = new DataTransfer();
        dt.items.add(new File([t], 'bench_boxes.json', { type: 'application/json' }));
        window.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, text);
    await wait_state(page, (s) => s.detector.active || s.detector.done > 0, 30000, 'detector import start');
    const end = await wait_state(page, (s) => !s.detector.active, timeout_s * 1000, `${boxes} detector boxes`);
    const ms = (await page.evaluate(() => performance.now())) - t0;
    const frame_gaps_ms = await stop_frame_gaps(page);
    // the app's closing notice: "bench_boxes.json: M masks from N boxes[ (cancelled)][, E empty]"
    const notice = end.notices.filter((n) => n.startsWith('bench_boxes.json: ')).pop() || '';
    const m = /: (\d+) masks from (\d+) boxes( \(cancelled\))?(?:, (\d+) empty)?/.exec(notice);
    if (!m || Number(m[2]) !== boxes || m[3]) {
        return { error: `the import did not finish all ${boxes} boxes: "${notice}" ${end.errors.slice(-2).join('; ')}` };
    }
    return {
        boxes, seconds: Math.round(ms) / 1000, ms_per_box: Math.round(ms / boxes * 10) / 10,
        annotations_added: end.annotations.length - n0, masks: Number(m[1]), empty: Number(m[4] || 0), frame_gaps_ms, notice,
    };
}
