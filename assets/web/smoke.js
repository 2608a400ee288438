// Drives assets/web/smoke.html. The outcome goes to the page and to window.__aerSmoke, which
// web-test/smoke.mjs polls: {done, ok, adapter, results: [...], error}.
import init, { adapter_info, matmul_smoke } from './pkg/aer.js';

const DEFAULT_SHAPES = [[64, 64, 64], [65, 33, 17], [1, 257, 300], [128, 128, 128]];
const SEED = 1234;

const state = { done: false, ok: false, adapter: null, results: [], error: null };
window.__aerSmoke = state;

const out = document.getElementById('result');
const status = document.getElementById('status');
const show = (line) => { out.textContent += line + '\n'; };

function shapesFromQuery() {
  const q = new URLSearchParams(location.search).get('shapes');
  if (!q) return DEFAULT_SHAPES;
  return q.split(',').map((s) => {
    const dims = s.split('x').map(Number);
    if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(`bad shape '${s}': expected MxNxK, e.g. 64x64x64`);
    }
    return dims;
  });
}

function finish(ok, headline) {
  state.ok = ok;
  state.done = true;
  status.textContent = headline;
  status.className = ok ? 'pass' : 'fail';
}

async function main() {
  if (!navigator.gpu) {
    state.error = 'WebGPU is not available in this browser: enable it '
      + '(chrome://flags/#enable-unsafe-webgpu) or use a browser that supports it';
    show(state.error);
    return finish(false, 'WebGPU not available');
  }
  try {
    const shapes = shapesFromQuery();
    await init();
    state.adapter = JSON.parse(await adapter_info());
    show(`adapter: ${state.adapter.name} (${state.adapter.backend}, ${state.adapter.device_type})`);
    for (const [m, n, k] of shapes) {
      const r = JSON.parse(await matmul_smoke(m, n, k, SEED));
      state.results.push(r);
      // serde_json writes a non-finite error (NaN output) as null.
      const err = r.max_abs_err === null ? 'NaN/inf' : r.max_abs_err.toExponential(2);
      show(`${r.ok ? 'ok  ' : 'FAIL'} matmul ${m}x${n}x${k}: max abs err ${err} `
        + `(tol ${r.tolerance.toExponential(2)}), rel ${r.max_rel_err?.toExponential(2)}, `
        + `${r.gpu_ms.toFixed(1)} ms`);
    }
  } catch (e) {
    state.error = String(e?.stack ?? e);
    show(`error: ${state.error}`);
  }
  const ok = !state.error && state.results.length > 0 && state.results.every((r) => r.ok);
  const passed = state.results.filter((r) => r.ok).length;
  finish(ok, ok ? `PASS: ${passed} shapes` : `FAIL: ${passed}/${state.results.length} shapes ok`);
}

main();
