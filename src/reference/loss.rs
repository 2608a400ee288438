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
