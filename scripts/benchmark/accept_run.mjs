// accept_run.mjs - "ours, accept" in the browser: hover a position (decode + mask frame),
// press Enter, and time from the keydown's event.timeStamp to the animation frame after
// the one in which the app's state first lists the new annotation. That covers what the
// user waits for: full-resolution upsample + RLE in wasm, the document update and the
// repaint of the annotation overlay, plus the frame scheduling.
//   const r = await measure_accepts(page, state, positions) -> {samples: [ms...], app_ms: {accept, overlay}, errors, error?}
export async function measure_accepts(page, s, positions) {
    await page.evaluate(() => {
        window.addEventListener('keydown', (e) => { window.__benchKey = e.timeStamp; }, { capture: true, passive: true });
    });
    const samples = [];
    const app_ms = { accept: [], overlay: [] };
    for (const p of positions) {
        const c = { x: (p.x + 0.5) * s.view.scale + s.view.offset_x, y: (p.y + 0.5) * s.view.scale + s.view.offset_y };
        await page.evaluate(() => {
            window.__next = new Promise((resolve) => {
                const api = window.samAnnotator;
                const hook = () => { api.onFrame.splice(api.onFrame.indexOf(hook), 1); resolve(); };
                api.onFrame.push(hook);
            });
        });
        await page.mouse.move(c.x, c.y);
        await page.evaluate(() => window.__next);
        const before = await page.evaluate(() => window.samAnnotator.state().annotations.length);
        await page.evaluate((n0) => {
            window.__accepted = new Promise((resolve) => {
                const check = () => {
                    if (window.samAnnotator.state().annotations.length > n0) {
                        requestAnimationFrame(() => resolve(performance.now() - window.__benchKey));
                    } else requestAnimationFrame(check);
                };
                requestAnimationFrame(check);
            });
        }, before);
        await page.keyboard.press('Enter');
        const ms = await page.evaluate(() => Promise.race([window.__accepted, new Promise((r) => setTimeout(() => r(null), 15000))]));
        if (ms === null) {
            return { samples, error: 'Enter did not add an annotation within 15 s (no accept in this build?)' };
        }
        samples.push(ms);
        // the app's own main-thread ms: logits -> RLE -> document, and the overlay repaint
        const t = await page.evaluate(() => window.samAnnotator.state().timings);
        if (t) { app_ms.accept.push(t.accept_ms); app_ms.overlay.push(t.overlay_ms); }
    }
    const end = await page.evaluate(() => window.samAnnotator.state());
    return { samples, app_ms, annotations: end.annotations.length, errors: end.errors };
}
