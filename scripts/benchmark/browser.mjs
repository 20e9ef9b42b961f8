// browser.mjs - headless Debian Chromium via playwright-core for scripts/bench.
//   const b = await launch_browser();  const {context, page} = await b.fresh_page(url);
// Every measurement gets a new browser context (empty HTTP cache, so load bytes and
// navigation times are cold-load figures) with a 1280x800 viewport at scale 1.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.SAM_CHROMIUM || '/usr/bin/chromium';
const ARGS = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
];
export const VIEWPORT = { width: 1280, height: 800 };

export function chromium_version() {
    try { return execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return 'unknown'; }
}

export async function launch_browser() {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    return {
        browser,
        // Opens url in a fresh context (init_script runs before the page's scripts); records the bytes of every response (page and
        // its workers) as {url, bytes}, and console errors.
        async fresh_page(url, init_script) {
            const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
            const page = await context.newPage();
            if (init_script) await page.addInitScript(init_script);
            const responses = [];
            const logs = [];
            page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
            page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
            page.on('requestfinished', async (req) => {
                try {
                    const sizes = await req.sizes();
                    responses.push({ url: req.url(), bytes: sizes.responseBodySize });
                } catch { /* page closed */ }
            });
            await page.goto(url);
            return { context, page, responses, logs };
        },
        close: () => browser.close(),
    };
}

// Sums response bytes by a classifier: classify(url) -> key or null (not counted).
export function bytes_by(responses, classify) {
    const out = {};
    for (const r of responses) {
        const k = classify(r.url);
        if (k) out[k] = (out[k] || 0) + r.bytes;
    }
    return out;
}

// CPU seconds used so far by each process below this one (the browser and its
// renderer/GPU/utility processes), read from /proc; empty where there is no /proc.
function descendant_cpu() {
    const ticks = new Map(), parent = new Map();
    let names = [];
    try { names = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)); } catch { return ticks; }
    for (const n of names) {
        try {
            const st = fs.readFileSync(`/proc/${n}/stat`, 'utf8');
            const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
            parent.set(n, f[1]);
            ticks.set(n, Number(f[11]) + Number(f[12]));
        } catch { /* exited */ }
    }
    const mine = new Map();
    for (const [pid, t] of ticks) {
        for (let p = pid, hops = 0; p && hops < 16; p = parent.get(p), hops++) {
            if (p === String(process.pid) && pid !== p) { mine.set(pid, t); break; }
        }
    }
    return mine;
}

// Share of one core (percent) the browser uses over `ms` while the page sits idle: a page
// that redraws every frame with software WebGL takes CPU from the decoder on a small machine.
export async function idle_cpu_percent(page, ms = 3000) {
    const a = descendant_cpu();
    const t0 = Date.now();
    await page.waitForTimeout(ms);
    const b = descendant_cpu();
    let d = 0;
    for (const [pid, t] of b) if (a.has(pid)) d += t - a.get(pid);
    const hz = 100;  // USER_HZ on Linux
    return a.size ? Math.round(d / hz / ((Date.now() - t0) / 1000) * 100) : null;
}
