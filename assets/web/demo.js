// The aer browser demo: every step calls the wasm module (target/web/pkg, built by
// scripts/build-web.sh), which runs the library's kernels through WebGPU. The page only
// draws. The state of a run goes to window.__aerDemo, which the headless test reads:
// {done, ok, error, timings: {step: seconds}, stalls: {step: longest main-thread block, ms}, adapter, train, prune, ternary, attack,
// predict (with its input, predictInput), bench, benchJson}.
//
// ?auto=1 runs the whole flow once loaded; model, epochs, sparsity, finetune, eps, steps, n
// and bench=0 (skip the benchmark) override the form's values.

import init, { adapter_info, adapter_limits, demo_attack, demo_bench, demo_load_data, demo_predict, demo_prune, demo_ternarize, demo_test_image, demo_train } from './pkg/aer.js';

const DATA = 'data/mnist-10k/';
const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const VAL_SIZE = 1000;
const SEED = 0;
const SIDE = 28;

const state = { done: false, ok: false, error: null, timings: {}, stalls: {}, adapter: null, train: null, prune: null, ternary: null, attack: null, predict: null, bench: null, benchJson: null };
window.__aerDemo = state;

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const pct = (x) => `${(100 * x).toFixed(2)}%`;
const kib = (b) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const buttons = ['train-btn', 'prune-btn', 'ternary-btn', 'attack-btn', 'sample-btn', 'predict-btn', 'bench-btn'];

function setStatus(text, cls = '') {
  $('status').textContent = text;
  $('status').className = `status ${cls}`;
}

function fail(e) {
  const msg = String(e?.message ?? e);
  state.error = state.error ?? msg;
  setStatus(`error: ${msg}`, 'fail');
  console.error(e);
}

// The page must stay responsive while a step runs: a 50 ms timer measures the longest time
// the main thread was kept from it (state.stalls, per step, in ms).
let lastTick = performance.now();
let longestGap = 0;
setInterval(() => {
  const now = performance.now();
  longestGap = Math.max(longestGap, now - lastTick);
  lastTick = now;
}, 50);

// One step at a time: the wasm session refuses overlapping steps, so the buttons do too.
let running = false;
function enable(on) {
  for (const id of buttons) $(id).disabled = !on;
}

async function step(name, fn) {
  if (running) return null;
  running = true;
  enable(false);
  setStatus(`${name}\u2026`);
  const t = performance.now();
  longestGap = 0;
  lastTick = t;
  try {
    const out = await fn();
    const s = (performance.now() - t) / 1e3;
    state.timings[name] = s;
    state.stalls[name] = Math.round(longestGap);
    const row = document.createElement('tr');
    row.innerHTML = `<td>${name}</td><td class="num">${s.toFixed(1)}</td>`;
    $('timings').tBodies[0].append(row);
    setStatus(`${name}: done in ${s.toFixed(1)} s`, 'pass');
    return out;
  } catch (e) {
    fail(e);
    throw e;
  } finally {
    running = false;
    enable(true);
  }
}

// ---- adapter and data ------------------------------------------------------------------------

// `used`: the device's limits (WebGPU's defaults); `offered`: the adapter's.
function showAdapter(used, offered) {
  const a = used;
  $('adapter-name').textContent = `${a.name || '(unnamed adapter)'}: ${a.backend}, ${a.device_type}${a.driver ? `, ${a.driver} ${a.driver_info}` : ''}`;
  const limits = [
    ['max storage buffer binding', 'max_storage_buffer_binding_size', kib],
    ['max buffer size', 'max_buffer_size', kib],
    ['storage buffers per shader stage', 'max_storage_buffers_per_shader_stage', String],
    ['workgroup storage', 'max_compute_workgroup_storage_size', kib],
    ['invocations per workgroup', 'max_compute_invocations_per_workgroup', String],
    ['workgroups per dimension', 'max_compute_workgroups_per_dimension', String],
  ];
  const yes = (b) => (b ? 'yes' : 'no');
  $('limits').innerHTML = '<tr><th>limit</th><th>the adapter offers</th><th>the demo uses</th></tr>'
    + limits.map(([label, key, fmt]) => `<tr><td>${label}</td><td class="num">${fmt(offered[key])}</td><td class="num">${fmt(used[key])}</td></tr>`).join('')
    + `<tr><td>timestamp queries</td><td class="num">${yes(offered.timestamp_queries)}</td><td class="num">${used.timestamp_queries ? 'yes' : 'no (wall clock)'}</td></tr>`
    + `<tr><td>shader-f16</td><td class="num">${yes(offered.shader_f16)}</td><td class="num">not needed</td></tr>`;
}

async function loadData() {
  const bytes = await Promise.all(FILES.map(async (f) => {
    const r = await fetch(DATA + f);
    if (!r.ok) throw new Error(`cannot fetch ${DATA}${f}: HTTP ${r.status}; serve the page with scripts/serve-web.sh`);
    return new Uint8Array(await r.arrayBuffer());
  }));
  return JSON.parse(await demo_load_data(...bytes, VAL_SIZE));
}

// ---- training chart --------------------------------------------------------------------------

const chart = { epochs: 2, loss: [], acc: [], val: [], phaseStart: [] };

function drawChart() {
  const c = $('chart');
  const g = c.getContext('2d');
  const W = c.width, H = c.height, L = 44, R = 44, T = 10, B = 26;
  g.clearRect(0, 0, W, H);
  g.font = '11px system-ui, sans-serif';
  g.strokeStyle = '#d8dde3';
  g.fillStyle = '#5b6570';
  const maxX = Math.max(chart.epochs, ...chart.loss.map((p) => p[0]));
  const maxLoss = Math.max(0.5, ...chart.loss.map((p) => p[1]));
  const x = (e) => L + (W - L - R) * (e / maxX);
  const yl = (v) => T + (H - T - B) * (1 - v / maxLoss);
  const ya = (v) => T + (H - T - B) * (1 - v);
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * (i / 4);
    g.beginPath(); g.moveTo(L, y); g.lineTo(W - R, y); g.stroke();
    g.textAlign = 'right'; g.fillText((maxLoss * (1 - i / 4)).toFixed(2), L - 4, y + 4);
    g.textAlign = 'left'; g.fillText(`${100 - 25 * i}%`, W - R + 4, y + 4);
  }
  g.textAlign = 'center';
  for (let e = 0; e <= maxX; e++) g.fillText(`${e}`, x(e), H - 8);
  g.textAlign = 'right';
  g.fillText('epochs', W - R, H - 8 - 12);
  for (const s of chart.phaseStart) {
    g.strokeStyle = '#aab4c3'; g.setLineDash([4, 4]);
    g.beginPath(); g.moveTo(x(s.at), T); g.lineTo(x(s.at), H - B); g.stroke();
    g.setLineDash([]); g.textAlign = 'left'; g.fillText(s.name, x(s.at) + 3, T + 10);
  }
  const line = (pts, y, color, dots) => {
    g.strokeStyle = color; g.fillStyle = color; g.lineWidth = 2;
    g.beginPath();
    pts.forEach(([e, v], i) => (i ? g.lineTo(x(e), y(v)) : g.moveTo(x(e), y(v))));
    g.stroke();
    if (dots) for (const [e, v] of pts) { g.beginPath(); g.arc(x(e), y(v), 3.5, 0, 7); g.fill(); }
    g.lineWidth = 1;
  };
  line(chart.loss, yl, '#c0392b', false);
  line(chart.acc, ya, '#2457c5', false);
  line(chart.val, ya, '#1e8449', true);
}

// Progress messages from the wasm training loop: {phase, fraction, epoch, loss, accuracy,
// val_accuracy?}; `offset` places fine-tuning after the training epochs on the chart.
function onTrainProgress(bar, offset) {
  return (text) => {
    const p = JSON.parse(text);
    bar.value = p.fraction;
    chart.loss.push([offset + p.epoch, p.loss]);
    chart.acc.push([offset + p.epoch, p.accuracy]);
    if (p.val_accuracy !== undefined) chart.val.push([offset + p.epoch, p.val_accuracy]);
    drawChart();
  };
}

function chartEnd() {
  return Math.max(0, ...chart.loss.map((p) => p[0]));
}

// ---- steps -----------------------------------------------------------------------------------

const num = (id) => Number($(id).value);

async function train() {
  const model = $('model').value;
  const epochs = num('epochs');
  Object.assign(chart, { epochs, loss: [], acc: [], val: [], phaseStart: [] });
  $('stages').tBodies[0].innerHTML = '';
  drawChart();
  const r = JSON.parse(await demo_train(model, epochs, SEED, onTrainProgress($('train-progress'), 0)));
  state.train = r;
  $('train-summary').textContent = `${r.model}: ${r.parameters.toLocaleString()} parameters, test accuracy ${pct(r.test_accuracy)} `
    + `after ${r.epochs.length} epochs (${r.seconds.toFixed(1)} s; validation ${pct(r.epochs.at(-1).val_accuracy)})`;
  stageRow('dense', r.test_accuracy, 0, r.bytes, r.bytes);
  return r;
}

function stageRow(name, acc, zero, bytes, f32) {
  const row = document.createElement('tr');
  row.innerHTML = `<td>${name}</td><td class="num">${pct(acc)}</td><td class="num">${pct(zero)}</td><td class="num">${kib(bytes)}</td><td class="num">${(f32 / bytes).toFixed(1)}x smaller</td>`;
  $('stages').tBodies[0].append(row);
}

function fineTuneProgress(name) {
  const at = chartEnd();
  chart.phaseStart.push({ at, name });
  chart.epochs = at + num('finetune');
  return onTrainProgress($('compress-progress'), at);
}

async function prune() {
  const r = JSON.parse(await demo_prune(num('sparsity'), num('finetune'), fineTuneProgress('prune')));
  state.prune = r;
  stageRow(`pruned ${pct(r.sparsity)} (before fine-tune ${pct(r.test_accuracy_before_finetune)})`, r.test_accuracy, r.sparsity, r.stored_bytes, r.bytes);
  return r;
}

async function ternarize() {
  const r = JSON.parse(await demo_ternarize(num('finetune'), fineTuneProgress('ternary')));
  state.ternary = r;
  stageRow(`ternary, 2-bit packed, from ${r.from} (before fine-tune ${pct(r.test_accuracy_before_finetune)})`, r.test_accuracy, r.zero_codes, r.bytes, r.f32_bytes);
  return r;
}

// Grey image, or a signed perturbation (red up, blue down, full colour at `eps`).
function paint(canvas, pixels, eps = null) {
  const g = canvas.getContext('2d');
  const img = g.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = pixels[i];
    let rgb;
    if (eps === null) {
      const b = Math.round(255 * v);
      rgb = [b, b, b];
    } else {
      const t = Math.min(1, Math.abs(v) / Math.max(eps, 1e-6));
      rgb = v >= 0 ? [255 * t, 40 * t, 40 * t] : [40 * t, 90 * t, 255 * t];
    }
    img.data.set([...rgb, 255], 4 * i);
  }
  g.putImageData(img, 0, 0);
}

function canvas28() {
  const c = document.createElement('canvas');
  c.width = SIDE;
  c.height = SIDE;
  return c;
}

async function attack() {
  const eps = num('eps');
  const r = JSON.parse(await demo_attack($('attack-stage').value, eps, num('steps'), num('attack-n'), 8));
  state.attack = r;
  const rows = [['clean', r.clean_accuracy, '']]
    .concat(r.attacks.map((a) => [`${a.attack} (step ${a.step.toFixed(3)})`, a.robust_accuracy, `${a.seconds.toFixed(1)} s`]))
    .concat([['worst case per example', r.worst_robust_accuracy, '']]);
  $('attack-table').innerHTML = `<tr><th>${r.stage} model, ${r.n} test images, eps ${eps.toFixed(2)}</th><th>accuracy</th><th></th></tr>`
    + rows.map(([k, v, s]) => `<tr><td>${k}</td><td class="num">${pct(v)}</td><td class="num">${s}</td></tr>`).join('')
    + (r.zero_gradients ? `<tr><td colspan="3">warning: ${r.zero_gradients} examples have a zero input gradient (gradient masking?)</td></tr>` : '');
  const box = $('examples');
  box.innerHTML = '';
  for (const ex of r.examples) {
    const div = document.createElement('div');
    div.className = `example${ex.adv_pred !== ex.label ? ' fooled' : ''}`;
    const [c1, c2, c3] = [canvas28(), canvas28(), canvas28()];
    paint(c1, ex.clean);
    paint(c2, ex.adversarial);
    paint(c3, ex.adversarial.map((v, i) => v - ex.clean[i]), eps);
    div.append(c1, c2, c3);
    const p = document.createElement('div');
    p.className = 'preds';
    p.textContent = `label ${ex.label}: clean \u2192 ${ex.clean_pred}, adversarial \u2192 ${ex.adv_pred}`;
    div.append(p);
    box.append(div);
  }
  return r;
}

async function bench() {
  const table = $('bench-table');
  table.innerHTML = '<tr><th>entry</th><th>median ms</th><th>rate</th><th>status</th></tr>';
  const bar = $('bench-progress');
  const text = await demo_bench(3, (t) => {
    const { done, total, entry: e } = JSON.parse(t);
    bar.value = done / total;
    const rate = e.gflops != null ? `${e.gflops.toFixed(2)} GFLOP/s` : e.gbytes_per_s != null ? `${e.gbytes_per_s.toFixed(2)} GB/s` : e.items_per_s != null ? `${e.items_per_s.toFixed(0)} ex/s` : '';
    const row = document.createElement('tr');
    row.innerHTML = `<td>${e.id}</td><td class="num">${e.status === 'ok' ? e.median_ms.toFixed(3) : ''}</td><td class="num">${rate}</td><td>${e.status}</td>`;
    table.append(row);
  });
  bar.value = 1;
  state.benchJson = text;
  state.bench = JSON.parse(text);
  const link = $('bench-download');
  link.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  link.hidden = false;
  return state.bench;
}

// ---- drawing pad -----------------------------------------------------------------------------

const pad = $('pad');
const pg = pad.getContext('2d');
function clearPad() {
  pg.fillStyle = '#000';
  pg.fillRect(0, 0, pad.width, pad.height);
}

function setupPad() {
  clearPad();
  let last = null;
  pad.addEventListener('pointerdown', (e) => { last = [e.offsetX, e.offsetY]; pad.setPointerCapture(e.pointerId); });
  pad.addEventListener('pointermove', (e) => {
    if (!last) return;
    pg.strokeStyle = '#fff'; pg.lineWidth = 20; pg.lineCap = 'round';
    pg.beginPath(); pg.moveTo(...last); pg.lineTo(e.offsetX, e.offsetY); pg.stroke();
    last = [e.offsetX, e.offsetY];
  });
  pad.addEventListener('pointerup', () => { last = null; });
}

// MNIST's own preparation: the digit's bounding box scaled to fit 20x20, then placed so its
// centre of mass is at the centre of the 28x28 image.
function padPixels() {
  const { width: W, height: H } = pad;
  const src = pg.getImageData(0, 0, W, H).data;
  let [x0, y0, x1, y1] = [W, H, -1, -1];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    if (src[4 * (y * W + x)] > 20) { x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); }
  }
  if (x1 < 0) return null;
  const s = 20 / Math.max(x1 - x0 + 1, y1 - y0 + 1);
  const small = document.createElement('canvas');
  small.width = SIDE; small.height = SIDE;
  const sg = small.getContext('2d');
  sg.fillStyle = '#000'; sg.fillRect(0, 0, SIDE, SIDE);
  sg.imageSmoothingQuality = 'high';
  const [w, h] = [(x1 - x0 + 1) * s, (y1 - y0 + 1) * s];
  sg.drawImage(pad, x0, y0, x1 - x0 + 1, y1 - y0 + 1, (SIDE - w) / 2, (SIDE - h) / 2, w, h);
  const d = sg.getImageData(0, 0, SIDE, SIDE).data;
  const px = Array.from({ length: SIDE * SIDE }, (_, i) => d[4 * i] / 255);
  let [m, mx, my] = [0, 0, 0];
  px.forEach((v, i) => { m += v; mx += v * (i % SIDE); my += v * Math.floor(i / SIDE); });
  const [dx, dy] = [Math.round((SIDE - 1) / 2 - mx / m), Math.round((SIDE - 1) / 2 - my / m)];
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) {
    const [sx, sy] = [x - dx, y - dy];
    if (sx >= 0 && sx < SIDE && sy >= 0 && sy < SIDE) out[y * SIDE + x] = px[sy * SIDE + sx];
  }
  return out;
}

function drawOnPad(pixels) {
  const c = canvas28();
  paint(c, pixels);
  clearPad();
  pg.imageSmoothingEnabled = true;
  pg.drawImage(c, 0, 0, pad.width, pad.height);
}

async function predict(pixels) {
  if (!pixels) throw new Error('the pad is empty: draw a digit first');
  const eps = num('eps');
  const r = JSON.parse(await demo_predict($('attack-stage').value, pixels, eps, num('steps')));
  state.predict = r;
  state.predictInput = Array.from(pixels);
  paint($('seen'), pixels);
  paint($('seen-adv'), r.adversarial);
  paint($('seen-diff'), r.adversarial.map((v, i) => v - pixels[i]), eps);
  $('bars').innerHTML = '<span></span><span>clean</span><span>adversarial</span>' + r.probs.map((p, k) => (
    `<span>${k}</span><div class="bar" style="width:${(100 * p).toFixed(1)}%"></div><div class="bar adv" style="width:${(100 * r.adv_probs[k]).toFixed(1)}%"></div>`
  )).join('');
  $('predict-summary').textContent = `prediction ${r.pred} (${pct(r.probs[r.pred])}); after PGD at eps ${eps.toFixed(2)}: ${r.adv_pred} (${pct(r.adv_probs[r.adv_pred])})`;
  return r;
}

let sampleIndex = 0;
async function sample() {
  const t = JSON.parse(await demo_test_image(sampleIndex++));
  drawOnPad(t.pixels);
  return predict(Float32Array.from(t.pixels));
}

// ---- wiring ----------------------------------------------------------------------------------

function wire() {
  const on = (id, name, fn) => $(id).addEventListener('click', () => step(name, fn).catch(() => {}));
  on('train-btn', 'train', train);
  on('prune-btn', 'prune', prune);
  on('ternary-btn', 'ternarize', ternarize);
  on('attack-btn', 'attack', attack);
  on('predict-btn', 'classify drawing', () => predict(padPixels()));
  on('sample-btn', 'classify test image', sample);
  on('bench-btn', 'benchmark', bench);
  $('clear-btn').addEventListener('click', clearPad);
  $('eps').addEventListener('input', () => { $('eps-out').textContent = num('eps').toFixed(2); });
}

function applyQuery() {
  for (const [key, id] of [['model', 'model'], ['epochs', 'epochs'], ['sparsity', 'sparsity'], ['finetune', 'finetune'], ['eps', 'eps'], ['steps', 'steps'], ['n', 'attack-n']]) {
    if (query.has(key)) $(id).value = query.get(key);
  }
  $('eps-out').textContent = num('eps').toFixed(2);
}

async function auto() {
  await step('train', train);
  await step('prune', prune);
  await step('ternarize', ternarize);
  await step('attack', attack);
  await step('classify test image', sample);
  if (query.get('bench') !== '0') await step('benchmark', bench);
}

async function main() {
  applyQuery();
  wire();
  setupPad();
  drawChart();
  if (!navigator.gpu) {
    $('no-webgpu').hidden = false;
    $('no-webgpu-why').textContent = 'This browser does not expose navigator.gpu, so the demo cannot reach a GPU.';
    $('demo').hidden = true;
    state.error = 'WebGPU is not available in this browser';
    setStatus('WebGPU is not available: see below', 'fail');
    state.done = true;
    return;
  }
  try {
    await init();
    const t = performance.now();
    state.adapter = JSON.parse(await adapter_info());
    state.adapterLimits = JSON.parse(await adapter_limits());
    showAdapter(state.adapter, state.adapterLimits);
    state.data = await loadData();
    state.timings['open adapter and load data'] = (performance.now() - t) / 1e3;
    setStatus(`ready: ${state.data.train} training, ${state.data.val} validation and ${state.data.test} test images`, 'pass');
    enable(true);
    if (query.get('auto') === '1') {
      await auto();
      setStatus('the whole flow finished', 'pass');
    }
    state.ok = !state.error;
  } catch (e) {
    if (String(e).includes('adapter')) {
      $('no-webgpu').hidden = false;
      $('no-webgpu-why').textContent = `The browser has WebGPU but gave no usable adapter: ${e}`;
    }
    fail(e);
  }
  state.done = true;
}

main();
