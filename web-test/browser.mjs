// Headless Chromium with WebGPU for the browser tests: serve the pages, open one in a fresh
// profile, forward its console, and hand the page to the test.
//
// Environment: AER_CHROMIUM (browser binary, default /usr/bin/chromium), AER_CHROMIUM_ARGS
// (more flags, space-separated, e.g. to try a hardware adapter).

import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { PKG_DIR, startServer } from './server.mjs';

export const BROWSER = process.env.AER_CHROMIUM || '/usr/bin/chromium';

// WebGPU in headless Chromium, pinned to its bundled SwiftShader (Dawn on Vulkan-on-CPU) so
// every machine tests the same adapter, GPU or not; developer features make the adapter
// report its name. The rest keeps a CI run quiet and offline.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-webgpu-developer-features',
  '--use-webgpu-adapter=swiftshader',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  // A hidden page's timers are throttled; the demo must run at full speed headless.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  ...(process.env.AER_CHROMIUM_ARGS || '').split(/\s+/).filter(Boolean),
];

/// Fail with a message that names the fix when the package or the browser is missing.
export async function checkPrerequisites(die) {
  await stat(path.join(PKG_DIR, 'aer.js')).catch(() => die(`${PKG_DIR}/aer.js missing: run scripts/build-web.sh`));
  await stat(BROWSER).catch(() => die(`no browser at ${BROWSER}: apt-get install chromium (or set AER_CHROMIUM)`));
}

/// Serve the pages, open `page` (a path with its query) and run `body(page, url)`; the server,
/// the browser and its temporary profile are always cleaned up. `initScript` runs in the page
/// before its own scripts (e.g. to take WebGPU away).
export async function withPage(pagePath, viewport, body, { initScript } = {}) {
  const server = await startServer(0);
  const url = `http://127.0.0.1:${server.address().port}${pagePath}`;
  // A fresh profile per run: nothing cached from an earlier build or run.
  const profile = await mkdtemp(path.join(tmpdir(), 'aer-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: BROWSER, headless: true, args: CHROMIUM_ARGS, viewport });
    if (initScript) await context.addInitScript(initScript);
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => console.log(`  [console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => console.log(`  [pageerror] ${e.message}`));
    page.on('requestfailed', (r) => console.log(`  [requestfailed] ${r.url()} ${r.failure()?.errorText}`));
    await page.goto(url);
    return await body(page, url);
  } finally {
    await context?.close().catch(() => {});
    server.close();
    await rm(profile, { recursive: true, force: true });
  }
}
