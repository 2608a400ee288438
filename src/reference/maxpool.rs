//! References for `shaders/maxpool.wgsl`.

/// 2x2 stride-2 max-pool over planes of h x w; returns (y, argmax in-plane index).
pub fn maxpool2_forward(x: &[f32], planes: usize, h: usize, w: usize) -> (Vec<f32>, Vec<u32>) {
    let (oh, ow) = (h / 2, w / 2);
    let mut y = Vec::with_capacity(planes * oh * ow);
    let mut arg = Vec::with_capacity(planes * oh * ow);
    for p in 0..planes {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = (2 * oy) * w + 2 * ox;
                for d in 1..4 {
                    let pos = (2 * oy + d / 2) * w + 2 * ox + d % 2;
                    if x[p * h * w + pos] > x[p * h * w + best] {
                        best = pos;
                    }
                }
                y.push(x[p * h * w + best]);
                arg.push(best as u32);
            }
        }
    }
    (y, arg)
}

pub fn maxpool2_backward(dy: &[f32], argmax: &[u32], planes: usize, h: usize, w: usize) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut dx = vec![0f32; planes * h * w];
    for p in 0..planes {
        for o in 0..oh * ow {
            dx[p * h * w + argmax[p * oh * ow + o] as usize] += dy[p * oh * ow + o];
        }
    }
    dx
}
