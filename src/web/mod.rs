//! Browser entry points (wasm32 only), exported with wasm-bindgen: the kernel smoke test
//! (`assets/web/smoke.html`) here, the demo's steps (`assets/web/index.html`) in `demo`.
//! They return JSON strings so the page and the headless test need no generated TS types.

pub mod demo;

use crate::gpu::{AdapterChoice, DeviceLimits, Gpu};
use crate::kernels::{self, MatmulForm};
use crate::reference;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

thread_local! {
    // One device per page: opening it is the slow part, and every call can share it.
    static GPU: RefCell<Option<Rc<Gpu>>> = const { RefCell::new(None) };
}

/// With `panic = "abort"` a panic only surfaces as "unreachable executed"; print its message
/// to the console first so a failing run says what went wrong.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&JsValue::from_str(&format!("aer panicked: {info}")));
    }));
}

async fn gpu() -> Result<Rc<Gpu>, JsValue> {
    if let Some(g) = GPU.with(|c| c.borrow().clone()) {
        return Ok(g);
    }
    // WebGPU's default limits, not the adapter's: the page must run on any WebGPU adapter,
    // and this proves the kernels fit.
    let g = Rc::new(Gpu::open(&AdapterChoice::default(), DeviceLimits::WebGpuDefaults).await.map_err(js_err)?);
    // Two first calls racing each other would both open a device; keep whichever came first.
    Ok(GPU.with(|c| c.borrow_mut().get_or_insert(g).clone()))
}

fn js_err(e: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&e.to_string()).into()
}

fn now_ms() -> f64 {
    js_sys::global()
        .dyn_into::<web_sys::Window>()
        .ok()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

#[derive(Serialize)]
struct MatmulSmoke {
    adapter: String,
    m: u32,
    n: u32,
    k: u32,
    max_abs_err: f64,
    /// Largest absolute error over the largest reference magnitude: per-element relative
    /// error is meaningless where the reference is near zero.
    max_rel_err: f64,
    tolerance: f64,
    /// Upload, launch and readback, as the page sees it (includes first-use pipeline compile).
    gpu_ms: f64,
    ok: bool,
}

/// Run the NN matmul kernel on seeded uniform [-1, 1] data and compare it with the CPU
/// reference. Returns a JSON `MatmulSmoke`; `ok` means max abs error <= 1e-3 * sqrt(k).
#[wasm_bindgen]
pub async fn matmul_smoke(m: u32, n: u32, k: u32, seed: u32) -> Result<String, JsValue> {
    let (mu, nu, ku) = (m as usize, n as usize, k as usize);
    let mut rng = StdRng::seed_from_u64(seed as u64);
    let a: Vec<f32> = (0..mu * ku).map(|_| rng.random_range(-1.0f32..=1.0)).collect();
    let b: Vec<f32> = (0..ku * nu).map(|_| rng.random_range(-1.0f32..=1.0)).collect();
    let mut want = vec![0f32; mu * nu];
    reference::matmul(MatmulForm::NN, &a, &b, &mut want, mu, nu, ku, false);

    let gpu = gpu().await?;
    let t0 = now_ms();
    let (ta, tb, tc) = (gpu.upload(&a, &[mu, ku]), gpu.upload(&b, &[ku, nu]), gpu.empty(&[mu, nu]));
    kernels::matmul(&gpu, MatmulForm::NN, &ta, &tb, &tc, mu, nu, ku, false);
    let got = gpu.read_f32(&tc).await.map_err(js_err)?;
    let gpu_ms = now_ms() - t0;

    // NaN or a short readback must fail, not vanish in a max().
    let mut max_abs = if got.len() == want.len() { 0f64 } else { f64::INFINITY };
    for (g, w) in got.iter().zip(&want) {
        let d = (*g as f64 - *w as f64).abs();
        max_abs = if d.is_nan() { f64::INFINITY } else { max_abs.max(d) };
    }
    let scale = want.iter().fold(0f64, |s, w| s.max(w.abs() as f64));
    let tolerance = 1e-3 * (k as f64).sqrt();
    let out = MatmulSmoke {
        adapter: gpu.adapter_label(),
        m,
        n,
        k,
        max_abs_err: max_abs,
        max_rel_err: if scale > 0.0 { max_abs / scale } else { max_abs },
        tolerance,
        gpu_ms,
        ok: max_abs <= tolerance,
    };
    serde_json::to_string(&out).map_err(js_err)
}

/// The adapter the page opened with the device's limits (WebGPU's defaults), as JSON
/// (`gpu::AdapterSummary`).
#[wasm_bindgen]
pub async fn adapter_info() -> Result<String, JsValue> {
    serde_json::to_string(&gpu().await?.summary()).map_err(js_err)
}

/// The same adapter with the limits it offers.
#[wasm_bindgen]
pub async fn adapter_limits() -> Result<String, JsValue> {
    serde_json::to_string(&gpu().await?.adapter_summary()).map_err(js_err)
}
