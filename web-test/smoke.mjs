// Headless-Chromium WebGPU smoke test: opens assets/web/smoke.html, waits for
// window.__aerSmoke.done and checks every result. Run through scripts/test-web.sh, which
// builds the package first.
//
// Environment: see browser.mjs; AER_SMOKE_TIMEOUT_MS (default 120000), AER_SMOKE_SHAPES
// (e.g. "64x64x64,1x257x300").

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { BROWSER, checkPrerequisites, withPage } from './browser.mjs';
import { ROOT } from './server.mjs';

const SHOT = path.join(ROOT, 'target', 'web-e2e', 'smoke.png');
const TIMEOUT_MS = Number(process.env.AER_SMOKE_TIMEOUT_MS || 120_000);

function die(msg) {
  console.error(`web smoke: error: ${msg}`);
  console.log('web smoke: 0 passed, 1 failed');
  process.exit(1);
}

async function main() {
  await checkPrerequisites(die);
  const shapes = process.env.AER_SMOKE_SHAPES ? `?shapes=${encodeURIComponent(process.env.AER_SMOKE_SHAPES)}` : '';
  let state = null;
  let failure = null;
  try {
    state = await withPage(`/smoke.html${shapes}`, { width: 1000, height: 700 }, async (page, url) => {
      console.log(`web smoke: ${await page.evaluate(() => navigator.userAgent)} (${BROWSER}) at ${url}`);
      try {
        await page.waitForFunction(() => window.__aerSmoke?.done === true, null, { timeout: TIMEOUT_MS, polling: 250 });
      } catch {
        failure = `page did not finish within ${TIMEOUT_MS / 1000} s`;
      }
      await mkdir(path.dirname(SHOT), { recursive: true });
      await page.screenshot({ path: SHOT, fullPage: true });
      console.log(`web smoke: screenshot ${path.relative(ROOT, SHOT)}`);
      return page.evaluate(() => window.__aerSmoke ?? null);
    });
  } catch (e) {
    failure = `browser: ${e.message}`;
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
