use crate::kernels::{AdamParams, SgdParams};

pub fn sgd(w: &mut [f32], g: &[f32], buf: &mut [f32], s: &SgdParams) {
    for i in 0..w.len() {
        let gi = g[i] + s.weight_decay * w[i];
        buf[i] = s.momentum * buf[i] + gi;
        let step = if s.nesterov { gi + s.momentum * buf[i] } else { buf[i] };
        w[i] -= s.lr * step;
    }
}

pub fn adam(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], a: &AdamParams) {
    let t = a.step.max(1) as i32;
    let (bc1, bc2) = (1.0 - a.beta1.powi(t), 1.0 - a.beta2.powi(t));
    for i in 0..w.len() {
        let mut gi = g[i];
        if a.decoupled {
            w[i] -= a.lr * a.weight_decay * w[i];
        } else {
            gi += a.weight_decay * w[i];
        }
        m[i] = a.beta1 * m[i] + (1.0 - a.beta1) * gi;
        v[i] = a.beta2 * v[i] + (1.0 - a.beta2) * gi * gi;
        w[i] -= a.lr * (m[i] / bc1) / ((v[i] / bc2).sqrt() + a.eps);
    }
}
