// report.mjs - results.json layout and the markdown table scripts/bench prints.
//   const md = markdown_table(results)
const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : Number(v).toFixed(d));
const mb = (b) => (b ? (b / 1e6).toFixed(2) + ' MB' : 'n/a');
const row = (label, s, extra = '') => `| ${label} | ${fmt(s?.p50)} | ${fmt(s?.p95)} | ${fmt(s?.min)} | ${fmt(s?.max)} | ${extra} |`;

export function markdown_table(r) {
    const L = [];
    L.push(`Machine: ${r.machine.cpu_model}, ${r.machine.cpus} cores, ${(r.machine.total_mem_bytes / 2 ** 30).toFixed(0)} GiB; ` +
        `${r.machine.chromium}; load average ${r.machine.load_before.map((v) => v.toFixed(1)).join('/')} before, ` +
        `${r.machine.load_after.map((v) => v.toFixed(1)).join('/')} after; ${r.date}.`);
    L.push(`Image ${r.settings.image.width}x${r.settings.image.height}, decoder ${r.settings.decoder_params} parameters, ` +
        `${r.settings.warmups} warm-ups + ${r.settings.prompts} hover prompts per row.`);
    L.push('');
    L.push('| click-to-mask (ms) | p50 | p95 | min | max | notes |');
    L.push('| --- | ---: | ---: | ---: | ---: | --- |');
    for (const t of r.settings.threads) {
        const b = r.baseline[`threads_${t}`], o = r.ours_interactive[`threads_${t}`];
        if (b) L.push(row(`baseline (official demo pipeline, fp32 export), ${t} thread${t > 1 ? 's' : ''}`, b.click_to_mask_ms,
            `decode p50 ${fmt(b.decode_ms?.p50)}, mask->PNG ${fmt(b.to_image_ms?.p50)}, show ${fmt(b.show_ms?.p50)}`));
        const q = r.baseline_quantized?.[`threads_${t}`];
        if (q) L.push(row(`baseline (official demo pipeline, quantized as the notebook does), ${t} thread${t > 1 ? 's' : ''}`, q.click_to_mask_ms,
            `decode p50 ${fmt(q.decode_ms?.p50)}, mask->PNG ${fmt(q.to_image_ms?.p50)}, show ${fmt(q.show_ms?.p50)}${q.faster ? '; the faster baseline' : ''}`));
        if (o) L.push(row(`ours, interactive, ${t} thread${t > 1 ? 's' : ''}`, o.click_to_mask_ms,
            `decode p50 ${fmt(o.decode_ms?.p50)}; ${o.decoder || ''}; ratio ours/faster baseline p50 ${fmt(o.ratio_p50, 2)}`));
    }
    const probes = r.settings.threads.map((t) => [t, r.ours_interactive[`threads_${t}`]?.worker_decode_probe])
        .filter(([, p]) => p && p.running);
    const acc = r.ours_accept;
    if (acc.browser) L.push(row('ours, accept (Enter -> annotation shown, wasm)', acc.browser, `${acc.browser.n} accepts`));
    if (acc.browser_error) L.push(`| ours, accept in the browser | | | | | not measured: ${acc.browser_error} |`);
    for (const [k, v] of Object.entries(acc.native || {})) {
        L.push(`| ours, accept in C++ (native): ${k} mask | ${fmt(v.accept_total_ms, 1)} | | | | upsample ${fmt(v.postprocess_to_mask_ms, 1)} + RLE ${fmt(v.mask_to_rle_ms, 1)} + polygons ${fmt(v.mask_to_polygons_ms, 1)} (official float path: ${fmt(v.postprocess_masks_float_ms, 1)}) |`);
    }
    for (const [t, p] of probes) {
        L.push(`| ours, decoder worker alone, ${t} thread${t > 1 ? 's' : ''}: app redrawing / main loop paused | ${fmt(p.running.p50)} / ${fmt(p.paused.p50)} | ` +
            `${fmt(p.running.p95)} / ${fmt(p.paused.p95)} | ${fmt(p.running.min)} / ${fmt(p.paused.min)} | ${fmt(p.running.max)} / ${fmt(p.paused.max)} | diagnostic: ONNX run only, ${p.running.n} each |`);
    }
    L.push('');
    L.push(`Headline: ours interactive p50 / the faster baseline's p50 at 1 thread = **${fmt(r.ratio_click_to_mask_p50, 2)}**` +
        `, at 2 threads ${fmt(r.ratio_click_to_mask_p50_2threads, 2)} (target <= 0.4 at both).`);
    const met = (ok) => (ok === null ? 'n/a' : ok ? 'met' : 'NOT met');
    const nat = r.ours_accept.native || {};
    const app_mb = r.load.ours?.bytes?.app ? r.load.ours.bytes.app / 1e6 : null;
    L.push(`Targets: click-to-mask <= 0.4x baseline: 1 thread ${met(r.ratio_click_to_mask_p50 == null ? null : r.ratio_click_to_mask_p50 <= 0.4)}, ` +
        `2 threads ${met(r.ratio_click_to_mask_p50_2threads == null ? null : r.ratio_click_to_mask_p50_2threads <= 0.4)}; ` +
        `accept <= 50 ms: browser p50 ${fmt(acc.browser?.p50)} ms ${met(acc.browser ? acc.browser.p50 <= 50 : null)}, ` +
        `native C++ ${Object.entries(nat).map(([k, v]) => `${k} ${fmt(v.accept_total_ms, 1)} ms`).join(', ')}; ` +
        `app wasm+js <= 2 MB: ${app_mb === null ? 'n/a' : app_mb.toFixed(2) + ' MB'} ${met(app_mb === null ? null : app_mb <= 2)}.`);
    L.push('');
    L.push('| load | ours | baseline | ours/baseline |');
    L.push('| --- | ---: | ---: | ---: |');
    const lo = r.load.ours, lb = r.load.baseline;
    const ratio = (a, b) => (a && b ? fmt(a / b, 2) : 'n/a');
    const total = (x) => Object.values(x.bytes || {}).reduce((a, v) => a + v, 0);
    L.push(`| app wasm + js (+ page) | ${mb(lo.bytes.app)} | ${mb(lb.bytes.page)} | |`);
    L.push(`| ONNX Runtime Web files | ${mb(lo.bytes.ort)} | ${mb(lb.bytes.ort)} | |`);
    L.push(`| decoder | ${mb(lo.bytes.decoder)} | ${mb(lb.bytes.decoder)} | |`);
    L.push(`| all of the above | ${mb(total(lo))} | ${mb(total(lb))} | ${ratio(total(lo), total(lb))} |`);
    L.push(`| navigation -> first mask (ms, 1 thread, cold cache) | ${fmt(lo.first_mask_ms)} | ${fmt(lb.first_mask_ms)} | ${ratio(lo.first_mask_ms, lb.first_mask_ms)} |`);
    L.push(`| browser CPU while the page is idle (% of one core) | ${fmt(lo.idle_cpu_pct)} | ${fmt(lb.idle_cpu_pct)} | |`);
    L.push('');
    L.push('| cost in proportion to change (issue 15) | figure | target |');
    L.push('| --- | --- | --- |');
    const t1 = `threads_${r.settings.threads[0]}`, oi = r.ours_interactive[t1] || {}, probe = oi.worker_decode_probe || {};
    const idle_run = r.ours_interactive?.[`threads_${r.settings.threads[0]}`];
    const pre_note = idle_run?.encoder_status && idle_run.encoder_status !== 'off'
        ? ` (after the one-time encoder preload: waited ${fmt(idle_run.encoder_preload_wait_ms)} ms more, ${((r.load.ours?.bytes?.encoder || 0) / 1e6).toFixed(2)} MB)` : '';
    L.push(`| page idle CPU, from 3 s after the last input (% of one core)${pre_note} | ${fmt(r.idle_cpu_percent)} | <= 2: ${met(r.idle_cpu_percent === null ? null : r.idle_cpu_percent <= 2)} |`);
    if (probe.running) L.push(`| decoder worker alone p50, app on screen / paused (ms) | ${fmt(probe.running.p50)} / ${fmt(probe.paused.p50)} (ratio ${fmt(r.decode_on_screen_over_paused_p50, 2)}) | within 10 %: ${met(r.decode_on_screen_over_paused_p50 === null ? null : r.decode_on_screen_over_paused_p50 <= 1.1)} |`);
    const am = r.ours_accept?.app_main_thread_ms;
    L.push(`| accept p50, Enter -> annotation shown, ${r.settings.image.width}x${r.settings.image.height} (ms) | ${fmt(r.accept_p50_ms)}` +
        (am ? ` (the app's own work p50: accept ${fmt(am.accept.p50)}, overlay ${fmt(am.overlay.p50)})` : '') +
        ` | <= 50: ${met(r.accept_p50_ms === null ? null : r.accept_p50_ms <= 50)} |`);
    if (oi.frame_ms) L.push(`| app frame time during the hover sweep p50 / p95 (ms, main thread) | ${fmt(oi.frame_ms.p50, 1)} / ${fmt(oi.frame_ms.p95, 1)} (${oi.frame_ms.n} frames) | |`);
    for (const [k, v] of Object.entries(r.ours_saves || {})) {
        const n = k.replace('images_', '');
        if (v.error) { L.push(`| edit -> saved, ${n} images | not measured: ${v.error} | |`); continue; }
        L.push(`| edit -> saved p50 / p95, ${v.images} images x ${Math.round(v.annotations / Math.max(1, v.images))} annotations (ms) | ${fmt(v.ms_per_edit.p50)} / ${fmt(v.ms_per_edit.p95)}${v.app_save_ms?.p50 != null ? ` (the app's own work ${fmt(v.app_save_ms.p50)})` : ''}; bytes per edit: browser store ${v.store_bytes_per_edit}, server ${v.server_bytes_per_edit} (${v.server_mode} route) | independent of the dataset's size |`);
    }
    const pre = r.ours_pre_annotation || {};
    if (pre.everything || pre.boxes) {
        L.push('');
        L.push(`| pre-annotation in the browser (${pre.threads} thread${pre.threads > 1 ? 's' : ''}) | time | per item | main-thread frame gaps p95 / max (ms) | notes |`);
        L.push('| --- | ---: | ---: | ---: | --- |');
        const e = pre.everything, bx = pre.boxes;
        const side = e && Math.round(Math.sqrt(e.points));
        const scaled = e && e.points !== 1024 ? `; 32x32: ~${fmt(e.seconds * 1024 / e.points)} s (scaled from ${side}x${side})` : '';
        if (e && !e.error) L.push(`| segment everything, ${side}x${side} points | ${fmt(e.seconds, 1)} s | ${fmt(e.ms_per_point, 1)} ms/point | ${fmt(e.frame_gaps_ms.p95)} / ${fmt(e.frame_gaps_ms.max)} | ${e.masks} masks kept${scaled} |`);
        if (e && e.error) L.push(`| segment everything | | | | not measured: ${e.error} |`);
        if (bx && !bx.error) L.push(`| ${bx.boxes} detector boxes -> masks | ${fmt(bx.seconds, 1)} s | ${fmt(bx.ms_per_box, 1)} ms/box | ${fmt(bx.frame_gaps_ms.p95)} / ${fmt(bx.frame_gaps_ms.max)} | ${bx.masks} masks, ${bx.empty} empty |`);
        if (bx && bx.error) L.push(`| detector boxes | | | | not measured: ${bx.error} |`);
    }
    if (r.server && r.server.length) {
        L.push('');
        L.push('| server side (onnxruntime-node) | figure |');
        L.push('| --- | --- |');
        for (const s of r.server) L.push(`| ${s.what} | ${s.figure} |`);
    }
    return L.join('\n');
}
