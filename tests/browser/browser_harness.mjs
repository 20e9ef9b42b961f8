// browser_harness.mjs - shared setup of the browser tests: Debian Chromium
// driven by playwright-core (headless, software WebGL2), console capture and
// screenshots saved under $SAM_TEST_OUTPUT (default test-output/).
//   const b = await launchBrowser();  const page = await b.open(url);  await b.shot(page, 'name');
//   b.open(url, { init: () => {...} }) runs `init` in the page before its own scripts.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const outputDir = path.resolve(process.env.SAM_TEST_OUTPUT || 'test-output');

const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
];

export async function launchBrowser({ width = 1280, height = 800 } = {}) {
  fs.mkdirSync(outputDir, { recursive: true });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ARGS });
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 });
  const logs = [];
  return {
    logs,
    async open(url, { init } = {}) {
      const page = await context.newPage();
      if (init) await page.addInitScript(init);
      page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
      await page.goto(url);
      return page;
    },
    async shot(page, name) {
      const file = path.join(outputDir, `${name}.png`);
      const buf = await page.screenshot({ path: file });
      return buf;
    },
    async close() {
      fs.writeFileSync(path.join(outputDir, 'browser-console.log'), logs.join('\n') + '\n', { flag: 'a' });
      await browser.close();
    },
  };
}

// Resolves once window.samAnnotator.ready has resolved (or throws with the console log).
export async function waitReady(page, logs, timeout = 60000) {
  try {
    await page.waitForFunction(() => window.samAnnotator && window.samAnnotator.ready, null, { timeout });
    await page.evaluate(() => window.samAnnotator.ready);
  } catch (e) {
    throw new Error(`app not ready: ${e.message}\n${logs.slice(-30).join('\n')}`);
  }
}

export async function state(page) {
  return page.evaluate(() => window.samAnnotator.state());
}

// Waits until predicate(state) holds; returns that state.
export async function waitState(page, predicate, { timeout = 30000, what = 'condition' } = {}) {
  const t0 = Date.now();
  let s;
  while (Date.now() - t0 < timeout) {
    s = await state(page);
    if (predicate(s)) return s;
    await page.waitForTimeout(50);
  }
  throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(s)}`);
}

// Page coordinates of an image pixel's centre, from the app's view transform.
export function imageToPage(s, x, y) {
  return { x: (x + 0.5) * s.view.scale + s.view.offset_x, y: (y + 0.5) * s.view.scale + s.view.offset_y };
}
