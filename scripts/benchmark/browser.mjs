// browser.mjs - headless Debian Chromium via playwright-core for scripts/bench.
//   const b = await launch_browser();  const {context, page} = await b.fresh_page(url);
// Every measurement gets a new browser context (empty HTTP cache, so load bytes and
// navigation times are cold-load figures) with a 1280x800 viewport at scale 1.
import { execFileSync } from 'node:child_process';
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
