// End-to-end test of the browser demo: opens assets/web/index.html?auto=1 in headless
// Chromium (WebGPU on SwiftShader), which trains mlp for 2 epochs on the bundled MNIST
// subset, prunes, ternarizes, attacks with FGSM and PGD at eps 0.1, classifies a test image
// and runs the quick benchmark suite. Then it checks the figures the flow must reach.
//
// Writes target/web-e2e/: screenshot.png (the finished page), demo.json (every step's result
// and time) and bench-web.json (the benchmark file, for `aer-bench compare`).
// Environment: see browser.mjs; AER_DEMO_TIMEOUT_MS (default 600000: the flow's budget; it takes
// 180-250 s on a shared 2-core machine, whose speed drifts by up to 2x).

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkPrerequisites, withPage } from './browser.mjs';
import { ROOT } from './server.mjs';

const OUT = path.join(ROOT, 'target', 'web-e2e');
const TIMEOUT_MS = Number(process.env.AER_DEMO_TIMEOUT_MS || 600_000);
const MIN_TEST_ACCURACY = 0.9;
const MAX_STALL_MS = 1000;

function die(msg) {
  console.error(`web demo: error: ${msg}`);
  console.log('web demo: 0 passed, 1 failed');
  process.exit(1);
}

// The fields every benchmark result file has, as the native binary writes them
// (src/bench/mod.rs RunReport / EntryResult); the native parser checks it again afterwards.
function benchSchemaErrors(b) {
  const errors = [];
  const need = (obj, key, type, where) => {
    if (obj === null || typeof obj !== 'object' || !(key in obj)) errors.push(`${where}.${key} missing`);
    else if (type && typeof obj[key] !== type) errors.push(`${where}.${key} is ${typeof obj[key]}, expected ${type}`);
  };
  for (const [k, t] of [['schema_version', 'number'], ['suite_version', 'number'], ['adapter', 'object'], ['os', 'string'], ['arch', 'string'], ['git_revision', 'string'], ['quick', 'boolean'], ['created_unix', 'number'], ['results', 'object']]) need(b, k, t, 'report');
  if (errors.length) return errors;
  for (const k of ['name', 'backend', 'device_type', 'max_storage_buffer_binding_size']) need(b.adapter, k, null, 'adapter');
  if (!Array.isArray(b.results) || b.results.length === 0) errors.push('report.results is empty');
  for (const r of b.results ?? []) {
    for (const [k, t] of [['id', 'string'], ['status', 'string'], ['median_ms', 'number'], ['runs', 'number'], ['timing', 'string']]) need(r, k, t, `results[${r.id}]`);
  }
  return errors;
}

async function main() {
  await checkPrerequisites(die);
  await mkdir(OUT, { recursive: true });
  let state = null;
  let failure = null;
  const t0 = Date.now();
  try {
    state = await withPage(`/index.html?auto=1${process.env.AER_DEMO_QUERY ?? ''}`, { width: 1200, height: 900 }, async (page, url) => {
      console.log(`web demo: ${url}`);
      try {
        await page.waitForFunction(() => window.__aerDemo?.done === true, null, { timeout: TIMEOUT_MS, polling: 500 });
      } catch {
        failure = `the flow did not finish within ${TIMEOUT_MS / 1000} s`;
      }
      const flow = await page.evaluate(() => window.__aerDemo ?? null);
      // Then a visitor draws a digit (a "7") with the mouse and asks for its classification.
      let drawn = null;
      if (!failure && !flow?.error) {
        await page.click('#clear-btn');
        await page.locator('#pad').scrollIntoViewIfNeeded();
        const box = await page.locator('#pad').boundingBox();
        const at = (fx, fy) => [box.x + fx * box.width, box.y + fy * box.height];
        await page.mouse.move(...at(0.25, 0.25));
        await page.mouse.down();
        for (const [fx, fy] of [[0.75, 0.25], [0.45, 0.8]]) await page.mouse.move(...at(fx, fy), { steps: 12 });
        await page.mouse.up();
        await page.click('#predict-btn');
        await page.waitForFunction(() => 'classify drawing' in (window.__aerDemo?.timings ?? {}) || window.__aerDemo?.error, null, { timeout: 60_000 });
        drawn = await page.evaluate(() => ({ predict: window.__aerDemo.predict, input: window.__aerDemo.predictInput, error: window.__aerDemo.error, seconds: window.__aerDemo.timings['classify drawing'] }));
      }
      await page.screenshot({ path: path.join(OUT, 'screenshot.png'), fullPage: true });
      return { ...flow, drawn };
    });
  } catch (e) {
    failure = `browser: ${e.message}`;
  }
  const wall = (Date.now() - t0) / 1e3;
  console.log(`web demo: screenshot ${path.relative(ROOT, path.join(OUT, 'screenshot.png'))}`);

  if (state) {
    const { benchJson, ...rest } = state;
    await writeFile(path.join(OUT, 'demo.json'), JSON.stringify({ ...rest, wall_seconds: wall }, null, 2));
    if (benchJson) await writeFile(path.join(OUT, 'bench-web.json'), benchJson);
    const a = state.adapter;
    if (a) console.log(`web demo: adapter ${a.name} (${a.backend}, ${a.device_type})`);
    const timings = { ...state.timings, ...(state.drawn?.seconds ? { 'classify drawing': state.drawn.seconds } : {}) };
    for (const [k, s] of Object.entries(timings)) console.log(`  ${k.padEnd(28)} ${s.toFixed(1).padStart(6)} s   longest stall ${state.stalls?.[k] ?? '-'} ms`);
    console.log(`  ${'whole run (browser start to end)'.padEnd(28)} ${wall.toFixed(1)} s`);
  }
  const checks = [];
  const check = (ok, what) => { checks.push([ok, what]); };
  if (!failure && state?.error) failure = state.error;
  if (!failure) {
    const t = state.train;
    check(t?.test_accuracy >= MIN_TEST_ACCURACY, `mlp test accuracy after ${t?.epochs?.length} epochs: ${t?.test_accuracy} (>= ${MIN_TEST_ACCURACY})`);
    check(t?.epochs?.length === 2, `trained 2 epochs (${t?.epochs?.length})`);
    // Training yields whenever it waits on the GPU; the page's timer must keep running.
    check(state.stalls?.train < MAX_STALL_MS, `the page stays responsive while training: longest stall ${state.stalls?.train} ms (< ${MAX_STALL_MS})`);
    const p = state.prune;
    check(p && Math.abs(p.sparsity - 0.9) < 0.01, `pruned to ${p?.sparsity} sparsity (0.9 asked), test accuracy ${p?.test_accuracy}`);
    const q = state.ternary;
    check(q && q.ratio > 10, `ternary model ${q?.ratio?.toFixed(1)}x smaller than f32, test accuracy ${q?.test_accuracy}`);
    const at = state.attack;
    const fgsm = at?.attacks?.find((x) => x.attack === 'FGSM');
    check(Math.abs(at?.eps - 0.1) < 1e-6 && fgsm && fgsm.robust_accuracy < at.clean_accuracy, `FGSM at eps ${at?.eps?.toFixed(2)}: robust ${fgsm?.robust_accuracy} < clean ${at?.clean_accuracy}`);
    check(at && at.worst_robust_accuracy <= Math.min(...at.attacks.map((x) => x.robust_accuracy)), `worst case ${at?.worst_robust_accuracy} <= every attack`);
    check(state.predict && state.predict.adversarial?.length === 784, 'classified a test image and attacked it');
    const d = state.drawn;
    const probSum = d?.predict?.probs?.reduce((a, b) => a + b, 0);
    // The model sees the drawing at 8 bits, so the perturbation is measured against that.
    const linf = d?.input ? Math.max(...d.predict.adversarial.map((v, i) => Math.abs(v - Math.round(255 * d.input[i]) / 255))) : Infinity;
    // MNIST's preparation (fit to 20x20, centre by mass) must make a drawn 7 read as one.
    check(d?.predict?.pred === 7, `the drawn 7 is read as ${d?.predict?.pred}`);
    check(d && !d.error && Math.abs(probSum - 1) < 1e-3 && linf <= d.predict.eps + 1e-5 && d.input.some((v) => v > 0.5),
      `a digit drawn with the mouse: predicted ${d?.predict?.pred}, adversarial ${d?.predict?.adv_pred}, perturbation ${linf.toFixed(4)} <= eps ${d?.predict?.eps}${d?.error ? ` (${d.error})` : ''}`);
    const b = state.bench;
    const errs = b ? benchSchemaErrors(b) : ['no benchmark result'];
    check(errs.length === 0, `benchmark JSON in the native schema${errs.length ? `: ${errs.join('; ')}` : ` (${b.results.length} entries, ${b.results.filter((r) => r.status === 'ok').length} ok)`}`);
    check(b && b.results.every((r) => r.status === 'ok'), 'every benchmark entry passed its correctness check');
    check(wall < TIMEOUT_MS / 1e3, `the flow took ${wall.toFixed(0)} s (< ${TIMEOUT_MS / 1e3} s)`);
  }
  // Without WebGPU the page must say so and how to enable it.
  try {
    const notice = await withPage('/index.html?auto=1', { width: 1000, height: 600 }, async (page) => {
      await page.waitForFunction(() => window.__aerDemo?.done === true, null, { timeout: 30_000 });
      return page.evaluate(() => ({ shown: !document.getElementById('no-webgpu').hidden, text: document.getElementById('no-webgpu').innerText, error: window.__aerDemo.error }));
    }, { initScript: () => { delete Navigator.prototype.gpu; } });
    check(notice.shown && /enable-unsafe-webgpu/.test(notice.text) && /not available/.test(notice.error ?? ''), `without WebGPU the page says so and how to enable it (${notice.error})`);
  } catch (e) {
    check(false, `without WebGPU: ${e.message}`);
  }
  for (const [ok, what] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!failure && checks.some(([ok]) => !ok)) failure = 'a check failed';
  if (failure) console.log(`web demo: FAILED: ${failure}`);
  console.log(`web demo: ${failure ? '0 passed, 1 failed' : '1 passed, 0 failed'}`);
  process.exit(failure ? 1 : 0);
}

main().catch((e) => die(e?.stack ?? String(e)));
