//! References for `shaders/softmax_xent.wgsl`: softmax cross-entropy, TRADES, and the
//! prediction per example.

/// Per-example softmax cross-entropy: (loss, argmax == label, gradient of the mean loss).
pub fn softmax_xent(logits: &[f32], labels: &[u32], classes: usize) -> (Vec<f32>, Vec<u32>, Vec<f32>) {
    let batch = labels.len();
    let mut loss = Vec::with_capacity(batch);
    let mut correct = Vec::with_capacity(batch);
    let mut grad = vec![0f32; logits.len()];
    for (i, &label) in labels.iter().enumerate() {
        let row = &logits[i * classes..(i + 1) * classes];
        let mx = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
        let sum: f64 = row.iter().map(|&v| (v as f64 - mx).exp()).sum();
        loss.push((sum.ln() + mx - row[label as usize] as f64) as f32);
        correct.push((first_argmax(row) == label) as u32);
        for j in 0..classes {
            let p = (row[j] as f64 - mx).exp() / sum;
            grad[i * classes + j] = ((p - (j as u32 == label) as u32 as f64) / batch as f64) as f32;
        }
    }
    (loss, correct, grad)
}

/// Index of the first maximum in a row.
pub fn first_argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (j, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = j;
        }
    }
    best as u32
}

/// (prediction, correct) per example.
pub fn argmax(logits: &[f32], labels: &[u32], classes: usize) -> (Vec<u32>, Vec<u32>) {
    labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let p = first_argmax(&logits[i * classes..(i + 1) * classes]);
            (p, (p == l) as u32)
        })
        .unzip()
}

/// TRADES over logits [2 batch, classes] (clean rows, then adversarial rows): (per-example
/// CE(clean) + beta KL(clean || adv), clean correct, adv correct, gradient of the mean).
pub fn trades_xent(logits: &[f32], labels: &[u32], classes: usize, beta: f32) -> (Vec<f32>, Vec<u32>, Vec<u32>, Vec<f32>) {
    let batch = labels.len();
    let beta = beta as f64;
    let log_softmax = |row: &[f32]| -> Vec<f64> {
        let mx = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
        let lse = row.iter().map(|&v| (v as f64 - mx).exp()).sum::<f64>().ln() + mx;
        row.iter().map(|&v| v as f64 - lse).collect()
    };
    let (mut loss, mut correct, mut adv_correct) = (Vec::new(), Vec::new(), Vec::new());
    let mut grad = vec![0f32; logits.len()];
    for (i, &y) in labels.iter().enumerate() {
        let (c, a) = (&logits[i * classes..(i + 1) * classes], &logits[(batch + i) * classes..(batch + i + 1) * classes]);
        let (lp, lq) = (log_softmax(c), log_softmax(a));
        let kl: f64 = (0..classes).map(|j| lp[j].exp() * (lp[j] - lq[j])).sum();
        loss.push((-lp[y as usize] + beta * kl) as f32);
        correct.push((first_argmax(c) == y) as u32);
        adv_correct.push((first_argmax(a) == y) as u32);
        for j in 0..classes {
            let p = lp[j].exp();
            let onehot = (j as u32 == y) as u32 as f64;
            grad[i * classes + j] = (((p - onehot) + beta * p * (lp[j] - lq[j] - kl)) / batch as f64) as f32;
            grad[(batch + i) * classes + j] = (beta * (lq[j].exp() - p) / batch as f64) as f32;
        }
    }
    (loss, correct, adv_correct, grad)
}
