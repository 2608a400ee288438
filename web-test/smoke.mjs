// Headless-Chromium WebGPU smoke test: serves assets/web/ and target/web/pkg/ (as /pkg/) on
// 127.0.0.1, opens smoke.html, waits for window.__aerSmoke.done and checks every result.
// Run through scripts/test-web.sh, which builds the package first.
//
// Environment: AER_CHROMIUM (browser binary, default /usr/bin/chromium), AER_CHROMIUM_ARGS,
// AER_SMOKE_TIMEOUT_MS (default 120000), AER_SMOKE_SHAPES (e.g. "64x64x64,1x257x300").

import { createServer } from 'node:http';
import { mkdtemp, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PAGE_DIR = path.join(ROOT, 'assets', 'web');
const PKG_DIR = path.join(ROOT, 'target', 'web', 'pkg');
const SHOT = path.join(ROOT, 'target', 'web-e2e', 'smoke.png');
const BROWSER = process.env.AER_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = Number(process.env.AER_SMOKE_TIMEOUT_MS || 120_000);

// WebGPU in headless Chromium, pinned to its bundled SwiftShader (Dawn on Vulkan-on-CPU) so
// every machine tests the same adapter, GPU or not; developer features make the adapter
// report its name. The rest keeps a CI run quiet and offline. AER_CHROMIUM_ARGS appends more
// (space-separated), e.g. to try a hardware adapter.
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
  ...(process.env.AER_CHROMIUM_ARGS || '').split(/\s+/).filter(Boolean),
];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
  '.png': 'image/png',
};

function die(msg) {
  console.error(`web smoke: error: ${msg}`);
  console.log('web smoke: 0 passed, 1 failed');
  process.exit(1);
}

// Static files only, never outside the two roots.
function serve(req, res) {
  const url = new URL(req.url, 'http://localhost');
  let rel = decodeURIComponent(url.pathname);
  let base = PAGE_DIR;
  if (rel.startsWith('/pkg/')) {
    base = PKG_DIR;
    rel = rel.slice('/pkg'.length);
  }
  if (rel === '/') rel = '/smoke.html';
  const file = path.join(base, path.normalize(rel));
  if (!file.startsWith(base + path.sep)) {
    res.writeHead(403).end();
    return;
  }
  readFile(file).then(
    (body) => {
      const type = MIME[path.extname(file)] || 'application/octet-stream';
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    },
    () => res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}\n`),
  );
}

async function main() {
  await stat(path.join(PKG_DIR, 'aer.js')).catch(() => die(`${PKG_DIR}/aer.js missing: run scripts/build-web.sh`));
  await stat(BROWSER).catch(() => die(`no browser at ${BROWSER}: apt-get install chromium (or set AER_CHROMIUM)`));

  const server = createServer(serve);
  await new Promise((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const shapes = process.env.AER_SMOKE_SHAPES ? `?shapes=${encodeURIComponent(process.env.AER_SMOKE_SHAPES)}` : '';
  const url = `http://127.0.0.1:${server.address().port}/smoke.html${shapes}`;

  // A fresh profile per run: nothing cached from an earlier build or run.
  const profile = await mkdtemp(path.join(tmpdir(), 'aer-chromium-'));
  let context;
  let state = null;
  let failure = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: BROWSER,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1000, height: 700 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => console.log(`  [console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => console.log(`  [pageerror] ${e.message}`));
    page.on('requestfailed', (r) => console.log(`  [requestfailed] ${r.url()} ${r.failure()?.errorText}`));

    await page.goto(url);
    console.log(`web smoke: ${await page.evaluate(() => navigator.userAgent)} (${BROWSER}) at ${url}`);
    try {
      await page.waitForFunction(() => window.__aerSmoke?.done === true, null, { timeout: TIMEOUT_MS, polling: 250 });
    } catch {
      failure = `page did not finish within ${TIMEOUT_MS / 1000} s`;
    }
    state = await page.evaluate(() => window.__aerSmoke ?? null);
    await mkdir(path.dirname(SHOT), { recursive: true });
    await page.screenshot({ path: SHOT, fullPage: true });
    console.log(`web smoke: screenshot ${path.relative(ROOT, SHOT)}`);
  } catch (e) {
    failure = `browser: ${e.message}`;
  } finally {
    await context?.close().catch(() => {});
    server.close();
    await rm(profile, { recursive: true, force: true });
  }

  if (state?.adapter) {
    const a = state.adapter;
    console.log(`web smoke: adapter ${a.name} (${a.backend}, ${a.device_type}, driver "${a.driver}" ${a.driver_info})`);
  }
  for (const r of state?.results ?? []) {
    console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${JSON.stringify(r)}`);
  }
  if (!failure && state?.error) failure = state.error;
  if (!failure && !(state?.results?.length > 0)) failure = 'no results';
  if (!failure && !state.results.every((r) => r.ok)) failure = 'a result is outside tolerance';

  if (failure) console.log(`web smoke: FAILED: ${failure}`);
  console.log(`web smoke: ${failure ? '0 passed, 1 failed' : '1 passed, 0 failed'}`);
  process.exit(failure ? 1 : 0);
}

main().catch((e) => die(e?.stack ?? String(e)));
