//! The backward pass of whole models against finite differences of the loss: every layer type
//! (conv2d with stride and padding, ReLU, max-pool, flatten, linear, normalize, dropout,
//! global average pooling), every parameter tensor, the input gradient that attacks use, and
//! certified training's interval-bound gradients; and that a training step computes no
//! gradient below the first layer with parameters.

use aer::gpu::{AdapterChoice, Gpu, Tensor};
use aer::kernels;
use aer::nn::{Model, ModelSpec};
use pollster::block_on;
use rand::{Rng, SeedableRng};

const SPEC: &str = r#"
name = "tiny"
[[layers]]
type = "conv2d"
out = 3
kernel = 3
stride = 1
padding = 1
[[layers]]
type = "relu"
[[layers]]
type = "maxpool2"
[[layers]]
type = "conv2d"
out = 4
kernel = 2
stride = 2
padding = 1
[[layers]]
type = "relu"
[[layers]]
type = "flatten"
[[layers]]
type = "linear"
out = 5
[[layers]]
type = "relu"
[[layers]]
type = "linear"
"#;

/// The layers of deeper networks: input normalization, a stride-2 convolution, batch
/// normalization (2d and 1d), dropout and global average pooling.
const SPEC_DEEP: &str = r#"
name = "tiny-deep"
[[layers]]
type = "normalize"
mean = [0.4, 0.6]
std = [0.2, 0.3]
[[layers]]
type = "conv2d"
out = 5
kernel = 3
stride = 2
padding = 1
[[layers]]
type = "batchnorm"
[[layers]]
type = "relu"
[[layers]]
type = "dropout"
rate = 0.3
[[layers]]
type = "global_avgpool"
[[layers]]
type = "flatten"
[[layers]]
type = "batchnorm"
[[layers]]
type = "linear"
"#;

/// Residual blocks: an identity shortcut (save ... add) around conv, batchnorm, ReLU, conv,
/// and a projection (save ... swap, 1x1 conv with stride 2, add) beside a strided block.
const SPEC_RESIDUAL: &str = r#"
name = "tiny-resnet"
[[layers]]
type = "conv2d"
out = 4
kernel = 3
padding = 1
[[layers]]
type = "relu"
[[layers]]
type = "save"
name = "a"
[[layers]]
type = "conv2d"
out = 4
kernel = 3
padding = 1
[[layers]]
type = "batchnorm"
[[layers]]
type = "relu"
[[layers]]
type = "conv2d"
out = 4
kernel = 3
padding = 1
[[layers]]
type = "add"
name = "a"
[[layers]]
type = "relu"
[[layers]]
type = "save"
name = "b"
[[layers]]
type = "conv2d"
out = 6
kernel = 3
stride = 2
padding = 1
[[layers]]
type = "relu"
[[layers]]
type = "swap"
name = "b"
[[layers]]
type = "conv2d"
out = 6
kernel = 1
stride = 2
[[layers]]
type = "add"
name = "b"
[[layers]]
type = "global_avgpool"
[[layers]]
type = "flatten"
[[layers]]
type = "linear"
"#;

/// Mean cross-entropy of the batch, computed on the GPU.
fn loss(gpu: &Gpu, model: &Model, x: &[f32], y: &Tensor, shape: &[usize]) -> f64 {
    let logits = model.forward(gpu, gpu.upload(x, shape), None);
    let (n, c) = (shape[0], model.classes);
    let (d, l, k) = (gpu.empty(&[n, c]), gpu.empty(&[n]), gpu.empty_u32(&[n]));
    kernels::softmax_xent(gpu, &logits, y, &d, &l, &k, n, c, 0);
    block_on(gpu.read_f32(&l)).unwrap().iter().map(|&v| v as f64).sum::<f64>() / n as f64
}

/// Mean of kappa * CE(logits) + (1 - kappa) * CE(worst-case logits at eps): certified
/// training's loss, on the GPU.
fn certified_loss(gpu: &Gpu, model: &Model, x: &[f32], y: &Tensor, shape: &[usize], eps: f32, kappa: f64) -> f64 {
    let clean = loss(gpu, model, x, y, shape);
    let bounds = model.bounds(gpu, &gpu.upload(x, shape), y, eps, None);
    let (n, c) = (shape[0], model.classes);
    let (d, l, k) = (gpu.empty(&[n, c]), gpu.empty(&[n]), gpu.empty_u32(&[n]));
    kernels::softmax_xent(gpu, &bounds.worst, y, &d, &l, &k, n, c, 0);
    let worst = block_on(gpu.read_f32(&l)).unwrap().iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    kappa * clean + (1.0 - kappa) * worst
}

/// Compares analytic and central-difference slopes of `loss` (one-sided slopes on both sides
/// first: a perturbation that moves a ReLU or a max-pool winner across its kink makes them
/// disagree, and such points say nothing about the backward pass, so they are skipped; they
/// are rare, and most checks must go through). Returns how many points were checked.
struct FiniteDifferences {
    eps: f32,
    base: f64,
    checked: std::cell::Cell<usize>,
}

impl FiniteDifferences {
    fn check(&self, name: &str, analytic: f32, plus: f64, minus: f64) {
        let (right, left) = ((plus - self.base) / self.eps as f64, (self.base - minus) / self.eps as f64);
        if (right - left).abs() > 1e-3 + 0.02 * right.abs().max(left.abs()) {
            return;
        }
        self.checked.set(self.checked.get() + 1);
        let numeric = (plus - minus) / (2.0 * self.eps as f64);
        let err = (analytic as f64 - numeric).abs();
        assert!(err <= 5e-4 + 0.01 * numeric.abs(), "{name}: backward {analytic} vs finite difference {numeric}");
    }

    /// 8 random entries of the input x against its gradient dx, `loss` at a changed input.
    fn check_input(&self, rng: &mut rand::rngs::StdRng, x: &[f32], dx: &[f32], loss: &dyn Fn(&[f32]) -> f64) {
        for _ in 0..8 {
            let i = rng.random_range(0..x.len());
            let mut xp = x.to_vec();
            xp[i] += self.eps;
            let plus = loss(&xp);
            xp[i] -= 2.0 * self.eps;
            let minus = loss(&xp);
            self.check(&format!("input[{i}]"), dx[i], plus, minus);
        }
    }

    /// Most of `total` points were away from a kink, so the checks say something.
    fn enough(&self, total: usize) {
        assert!(self.checked.get() * 10 >= total * 8, "only {} of {total} points were away from a kink", self.checked.get());
    }

    /// `per_tensor` random entries of every learned parameter tensor against `p.grad`
    /// (batch normalization's running statistics follow the data, not a gradient).
    fn check_params(&self, gpu: &Gpu, model: &Model, rng: &mut rand::rngs::StdRng, per_tensor: usize, loss: &dyn Fn() -> f64) {
        for p in model.params.iter().filter(|p| p.optimized()) {
            let w = block_on(gpu.read_f32(&p.value)).unwrap();
            let g = block_on(gpu.read_f32(&p.grad)).unwrap();
            for _ in 0..per_tensor {
                let i = rng.random_range(0..w.len());
                let mut wp = w.clone();
                wp[i] = w[i] + self.eps;
                gpu.write(&p.value, &wp);
                let plus = loss();
                wp[i] = w[i] - self.eps;
                gpu.write(&p.value, &wp);
                let minus = loss();
                gpu.write(&p.value, &w);
                self.check(&format!("{}[{i}]", p.name), g[i], plus, minus);
            }
        }
    }
}

/// Both convolution paths: direct (with the following ReLU fused in), and im2col with a product.
#[test]
fn model_gradients_match_finite_differences() {
    for direct in [true, false] {
        gradients_match_finite_differences(direct);
    }
}

fn gradients_match_finite_differences(direct_conv: bool) {
    let gpu = block_on(Gpu::new(&AdapterChoice::from_env())).unwrap();
    let spec = ModelSpec::from_toml(SPEC, "tiny").unwrap();
    let shape = [3usize, 2, 7, 7];
    let mut model = Model::new(&gpu, &spec, [2, 7, 7], 4, 1).unwrap();
    model.use_direct_conv(direct_conv);
    eprintln!("convolutions direct: {direct_conv}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let x: Vec<f32> = (0..shape.iter().product()).map(|_| rng.random_range(0.0..1.0)).collect();
    let y = gpu.upload_u32(&[0, 3, 1], &[3]);

    // Analytic gradients.
    let mut tape = model.tape();
    let logits = model.forward(&gpu, gpu.upload(&x, &shape), Some(&mut tape));
    let (d, l, k) = (gpu.empty(&[3, 4]), gpu.empty(&[3]), gpu.empty_u32(&[3]));
    kernels::softmax_xent(&gpu, &logits, &y, &d, &l, &k, 3, 4, 0);
    let dx = block_on(gpu.read_f32(&model.backward(&gpu, tape, d, true).unwrap())).unwrap();

    let fd = FiniteDifferences { eps: 1e-3, base: loss(&gpu, &model, &x, &y, &shape), checked: 0.into() };
    fd.check_params(&gpu, &model, &mut rng, 6, &|| loss(&gpu, &model, &x, &y, &shape));
    fd.check_input(&mut rng, &x, &dx, &|xp| loss(&gpu, &model, xp, &y, &shape));
    fd.enough(model.params.len() * 6 + 8);
}

/// Certified training's gradients (clean pass, raw, plus the interval-bound pass, then
/// finished) against finite differences of the mixed loss, through every layer type.
#[test]
fn certified_gradients_match_finite_differences() {
    certified_gradients(SPEC);
    // Interval bounds through an identity shortcut and a projection.
    let residual = "name = \"r\"\n[[layers]]\ntype = \"conv2d\"\nout = 3\nkernel = 3\npadding = 1\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"save\"\nname = \"a\"\n[[layers]]\ntype = \"conv2d\"\nout = 3\nkernel = 3\npadding = 1\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"add\"\nname = \"a\"\n[[layers]]\ntype = \"save\"\nname = \"b\"\n[[layers]]\ntype = \"conv2d\"\nout = 2\nkernel = 3\nstride = 2\n[[layers]]\ntype = \"swap\"\nname = \"b\"\n[[layers]]\ntype = \"conv2d\"\nout = 2\nkernel = 3\nstride = 2\n[[layers]]\ntype = \"add\"\nname = \"b\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\n";
    certified_gradients(residual);
}

fn certified_gradients(toml: &str) {
    let gpu = block_on(Gpu::new(&AdapterChoice::from_env())).unwrap();
    let spec = ModelSpec::from_toml(toml, "tiny").unwrap();
    let shape = [3usize, 2, 7, 7];
    let model = Model::new(&gpu, &spec, [2, 7, 7], 4, 2).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let x: Vec<f32> = (0..shape.iter().product()).map(|_| rng.random_range(0.0..1.0)).collect();
    let y = gpu.upload_u32(&[2, 0, 3], &[3]);
    let (eps, kappa) = (0.05f32, 0.3f32);
    let xt = gpu.upload(&x, &shape);
    let slot = || gpu.empty(&[3]);
    let (l, bl) = (slot(), slot());
    let (c, v) = (gpu.empty_u32(&[3]), gpu.empty_u32(&[3]));
    let slots = aer::verify::CertifiedSlots { loss: &l, correct: &c, bound_loss: &bl, verified: &v, offset: 0 };
    aer::verify::certified_gradients(&gpu, &model, &xt, &y, eps, kappa, &slots);
    let f = || certified_loss(&gpu, &model, &x, &y, &shape, eps, kappa as f64);
    let fd = FiniteDifferences { eps: 1e-3, base: f(), checked: 0.into() };
    fd.check_params(&gpu, &model, &mut rng, 8, &f);
    fd.enough(model.params.len() * 8);
}

/// Normalize, batch normalization (batch statistics in a training step, running ones in
/// evaluation), dropout (its mask fixed by the step's seed) and global average pooling, in a
/// training step and, for the input gradient attacks use, in evaluation; and their interval
/// bounds, which must hold the logits of perturbed inputs.
#[test]
fn deep_layer_gradients_match_finite_differences() {
    deep_gradients(SPEC_DEEP);
}

/// Residual blocks, identity and projection, through the same checks.
#[test]
fn residual_gradients_match_finite_differences() {
    deep_gradients(SPEC_RESIDUAL);
}

fn deep_gradients(toml: &str) {
    let gpu = block_on(Gpu::new(&AdapterChoice::from_env())).unwrap();
    let spec = ModelSpec::from_toml(toml, "spec").unwrap();
    let shape = [4usize, 2, 7, 7];
    let model = Model::new(&gpu, &spec, [2, 7, 7], 3, 3).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    // Batch normalization away from its initial identity: scales of both signs, and running
    // statistics of their own.
    for p in model.params.iter().filter(|p| p.name.starts_with("bn")) {
        let (lo, hi) = if p.name.ends_with(".running_var") { (0.2, 2.0) } else { (-2.0, 2.0) };
        let v: Vec<f32> = (0..p.value.numel()).map(|_| rng.random_range(lo..hi)).collect();
        gpu.write(&p.value, &v);
    }
    let x: Vec<f32> = (0..shape.iter().product()).map(|_| rng.random_range(0.0..1.0)).collect();
    let y = gpu.upload_u32(&[0, 2, 1, 2], &[4]);
    let logits = |seed: Option<u32>| {
        model.training.set(seed);
        let l = block_on(gpu.read_f32(&model.forward(&gpu, gpu.upload(&x, &shape), None))).unwrap();
        model.training.set(None);
        l
    };
    // Evaluation is deterministic and drops nothing; each training step draws its own mask.
    assert_eq!(logits(None), logits(None));
    let dropout = spec.layers.iter().any(|l| l.kind() == "dropout");
    assert_eq!(logits(Some(1)) != logits(Some(2)), dropout);
    assert_ne!(logits(Some(1)), logits(None));
    assert_eq!(logits(Some(1)), logits(Some(1)));

    // A training pass moves the running statistics; evaluation reads them and leaves them.
    let running = || block_on(gpu.read_f32(&model.params.iter().find(|p| p.name == "bn1.running_mean").unwrap().value)).unwrap();
    let before = running();
    logits(None);
    assert_eq!(running(), before);
    logits(Some(3));
    assert_ne!(running(), before);

    for seed in [Some(11), None] {
        model.training.set(seed);
        let mut tape = model.tape();
        let out = model.forward(&gpu, gpu.upload(&x, &shape), Some(&mut tape));
        let (d, l, k) = (gpu.empty(&[4, 3]), gpu.empty(&[4]), gpu.empty_u32(&[4]));
        kernels::softmax_xent(&gpu, &out, &y, &d, &l, &k, 4, 3, 0);
        let dx = block_on(gpu.read_f32(&model.backward(&gpu, tape, d, true).unwrap())).unwrap();
        let f = || {
            model.training.set(seed);
            let v = loss(&gpu, &model, &x, &y, &shape);
            model.training.set(None);
            v
        };
        let fd = FiniteDifferences { eps: 1e-3, base: f(), checked: 0.into() };
        model.training.set(None);
        fd.check_params(&gpu, &model, &mut rng, 6, &f);
        fd.check_input(&mut rng, &x, &dx, &|xp| {
            model.training.set(seed);
            let v = loss(&gpu, &model, xp, &y, &shape);
            model.training.set(None);
            v
        });
        fd.enough(model.params.iter().filter(|p| p.optimized()).count() * 6 + 8);
    }

    // Interval bounds at eps hold the logits of random points of the ball.
    let eps = 0.05f32;
    let b = model.bounds(&gpu, &gpu.upload(&x, &shape), &y, eps, None);
    let (c, r) = (block_on(gpu.read_f32(&b.centre)).unwrap(), block_on(gpu.read_f32(&b.radius)).unwrap());
    for _ in 0..20 {
        let xp: Vec<f32> = x.iter().map(|v| (v + rng.random_range(-eps..eps)).clamp(0.0, 1.0)).collect();
        let z = block_on(gpu.read_f32(&model.forward(&gpu, gpu.upload(&xp, &shape), None))).unwrap();
        for i in 0..z.len() {
            assert!((z[i] - c[i]).abs() <= r[i] + 1e-5, "logit {i}: {} outside [{}, {}]", z[i], c[i] - r[i], c[i] + r[i]);
        }
    }
}

/// Below the first layer with parameters (the mlp's flatten) a training step computes no
/// gradient: the backward pass without the input gradient launches fewer kernels than with
/// it (fc1's dy W is left out), and the parameter gradients are the same. Counted from a
/// kernel profile, so adapters without timestamp queries skip it.
#[test]
fn no_input_gradient_below_the_first_learned_layer() {
    let gpu = block_on(Gpu::new(&AdapterChoice::from_env())).unwrap();
    let model = Model::new(&gpu, &ModelSpec::load("mlp").unwrap(), [1, 28, 28], 10, 1).unwrap();
    let x: Vec<f32> = (0..4 * 784).map(|i| (i % 13) as f32 / 13.0).collect();
    let y = gpu.upload_u32(&[0, 3, 1, 9], &[4]);
    // (launches, every parameter's gradient) of one backward pass.
    let run = |input_grad: bool| -> Option<(usize, Vec<Vec<f32>>)> {
        let mut tape = model.tape();
        let logits = model.forward(&gpu, gpu.upload(&x, &[4, 1, 28, 28]), Some(&mut tape));
        let (d, l, k) = (gpu.empty(&[4, 10]), gpu.empty(&[4]), gpu.empty_u32(&[4]));
        kernels::softmax_xent(&gpu, &logits, &y, &d, &l, &k, 4, 10, 0);
        if !gpu.begin_profile() {
            return None;
        }
        let dx = model.backward(&gpu, tape, d, input_grad);
        assert_eq!(dx.is_some(), input_grad, "the input gradient exactly when asked for");
        let launches = block_on(gpu.end_profile()).unwrap().iter().map(|k| k.launches).sum();
        Some((launches, model.params.iter().map(|p| block_on(gpu.read_f32(&p.grad)).unwrap()).collect()))
    };
    let Some((without, grads)) = run(false) else {
        eprintln!("no timestamp queries on this adapter: skipped");
        return;
    };
    let (with, grads_with) = run(true).unwrap();
    assert!(without < with, "backward launched {without} kernels without the input gradient, {with} with it");
    assert_eq!(grads, grads_with, "the parameter gradients do not depend on asking for the input gradient");
}
