//! Batch normalization folded for inference. In evaluation a batchnorm is a per-channel affine
//! map, y = x s + t with s = gamma / sqrt(running_var + eps) and t = beta - running_mean s, so
//! when it directly follows a convolution or linear layer it can be folded into that layer:
//! each output channel's weights times s, its bias b s + t. The folded model computes the same
//! function with two launches fewer per batchnorm (the affine's computation and its
//! application), and interval bounds pass one affine layer instead of two. A batchnorm after
//! anything else (pre-activation blocks: after an addition) becomes a `normalize` layer, the
//! same affine map with constants. Training needs the batchnorms themselves: folding is for
//! checkpoints being evaluated, attacked or verified (`train::Checkpoint::folded`).

use super::spec::{LayerSpec, ModelSpec};
use crate::error::{AerError, Result};
use std::collections::HashMap;

/// What folding did with each batchnorm, named by its tensors' prefix.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Folding {
    /// (batchnorm, the convolution or linear layer it went into).
    pub into_weights: Vec<(String, String)>,
    /// Batchnorms that follow no convolution or linear layer: now `normalize` layers.
    pub as_affine: Vec<String>,
    /// Left as they were: after no weight layer, one of flat features or with a scale s that is
    /// not positive (neither of which `normalize` expresses); or after a layer whose weights are quantized (scaling them per channel
    /// would change their ternary codes).
    pub kept: Vec<String>,
}

impl Folding {
    pub fn is_empty(&self) -> bool {
        self.into_weights.is_empty() && self.as_affine.is_empty()
    }
}

impl std::fmt::Display for Folding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} batchnorm layers folded into the preceding layer's weights, {} into per-channel affines", self.into_weights.len(), self.as_affine.len())?;
        if !self.kept.is_empty() {
            write!(f, ", {} kept ({})", self.kept.len(), self.kept.join(", "))?;
        }
        Ok(())
    }
}

/// The batchnorm's per-channel scale s and shift t from its tensors in `values`.
fn affine_of(values: &HashMap<String, Vec<f32>>, prefix: &str, eps: f64) -> Result<(Vec<f64>, Vec<f64>)> {
    let get = |what: &str| values.get(&format!("{prefix}.{what}")).ok_or_else(|| AerError::Invalid(format!("batchnorm '{prefix}' has no tensor '{prefix}.{what}'")));
    let (gamma, beta, mean, var) = (get("weight")?, get("bias")?, get("running_mean")?, get("running_var")?);
    if [beta.len(), mean.len(), var.len()].iter().any(|&l| l != gamma.len()) {
        return Err(AerError::Invalid(format!("batchnorm '{prefix}' has tensors of different lengths ({}, {}, {}, {})", gamma.len(), beta.len(), mean.len(), var.len())));
    }
    let s: Vec<f64> = gamma.iter().zip(var).map(|(&g, &v)| g as f64 / (v as f64 + eps).sqrt()).collect();
    let t = beta.iter().zip(mean).zip(&s).map(|((&b, &m), &s)| b as f64 - m as f64 * s).collect();
    Ok((s, t))
}

/// `spec` (for inputs `input` and `classes` classes) with every batchnorm folded (see the
/// module), and `values` (tensors by name)
/// changed to match: the weights scaled per output channel, biases made or shifted, the
/// folded batchnorms' tensors and optimizer state removed. Every remaining layer with tensors
/// is named explicitly, so the names of the tensors do not move when layers go.
pub fn fold_batchnorm(spec: &ModelSpec, input: [usize; 3], classes: usize, values: &mut HashMap<String, Vec<f32>>) -> Result<(ModelSpec, Folding)> {
    let prefixes = spec.tensor_prefixes();
    // `normalize` takes images: a batchnorm of flat features after no weight layer stays.
    let shapes = spec.shapes(input, classes)?;
    let mut layers: Vec<LayerSpec> = Vec::with_capacity(spec.layers.len());
    let mut folding = Folding::default();
    for (i, layer) in spec.layers.iter().enumerate() {
        let mut layer = layer.clone();
        if let (LayerSpec::Linear { name, .. } | LayerSpec::Conv2d { name, .. } | LayerSpec::Batchnorm { name, .. }, Some(p)) = (&mut layer, &prefixes[i]) {
            *name = Some(p.clone());
        }
        let LayerSpec::Batchnorm { eps, .. } = layer else {
            layers.push(layer);
            continue;
        };
        let bn = prefixes[i].clone().unwrap_or_default();
        let (s, t) = affine_of(values, &bn, eps)?;
        let before = i.checked_sub(1).map(|j| (&spec.layers[j], prefixes[j].clone().unwrap_or_default()));
        match (before, layers.last_mut()) {
            (Some((LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. }, into)), Some(prev)) if spec.quant.is_none() => {
                let w = values.get_mut(&format!("{into}.weight")).ok_or_else(|| AerError::Invalid(format!("layer '{into}' has no tensor '{into}.weight'")))?;
                if w.len() % s.len() != 0 || w.len() / s.len() == 0 {
                    return Err(AerError::Invalid(format!("batchnorm '{bn}' has {} channels, but '{into}.weight' has {} values: not whole rows of them", s.len(), w.len())));
                }
                let row = w.len() / s.len();
                for (r, &s) in s.iter().enumerate() {
                    w[r * row..(r + 1) * row].iter_mut().for_each(|v| *v = (*v as f64 * s) as f32);
                }
                let b = values.entry(format!("{into}.bias")).or_insert_with(|| vec![0.0; s.len()]);
                b.iter_mut().zip(s.iter().zip(&t)).for_each(|(b, (&s, &t))| *b = (*b as f64 * s + t) as f32);
                if let LayerSpec::Conv2d { bias, .. } = prev {
                    *bias = true;
                }
                folding.into_weights.push((bn.clone(), into));
            }
            (Some((l, _)), _) if !matches!(l, LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. }) && shapes[i].len() == 3 && s.iter().all(|&s| s > 0.0 && s.is_finite()) => {
                let (mean, std) = s.iter().zip(&t).map(|(&s, &t)| (-t / s, 1.0 / s)).unzip();
                layers.push(LayerSpec::Normalize { mean, std });
                folding.as_affine.push(bn.clone());
            }
            _ => {
                folding.kept.push(bn);
                layers.push(layer);
                continue;
            }
        }
        for what in ["weight", "bias", "running_mean", "running_var"] {
            values.remove(&format!("{bn}.{what}"));
        }
        values.retain(|k, _| !k.starts_with(&format!("optimizer.{bn}.")));
    }
    Ok((ModelSpec { name: spec.name.clone(), layers, quant: spec.quant.clone() }, folding))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(toml: &str) -> ModelSpec {
        ModelSpec::from_toml(toml, "test").unwrap()
    }

    #[test]
    fn a_batchnorm_after_a_conv_goes_into_its_weights_and_a_new_bias() {
        let s = spec("name = \"t\"\n[[layers]]\ntype = \"conv2d\"\nout = 2\nkernel = 1\nbias = false\n[[layers]]\ntype = \"batchnorm\"\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\n");
        let mut v: HashMap<String, Vec<f32>> = HashMap::new();
        v.insert("conv1.weight".into(), vec![1.0, 2.0]);
        v.insert("bn1.weight".into(), vec![2.0, -1.0]);
        v.insert("bn1.bias".into(), vec![0.5, 0.0]);
        v.insert("bn1.running_mean".into(), vec![1.0, 3.0]);
        v.insert("bn1.running_var".into(), vec![4.0 - 1e-5, 1.0 - 1e-5]);
        v.insert("optimizer.bn1.weight.m".into(), vec![0.0, 0.0]);
        let (folded, f) = fold_batchnorm(&s, [1, 2, 2], 10, &mut v).unwrap();
        assert_eq!(f.into_weights, vec![("bn1".to_string(), "conv1".to_string())]);
        assert_eq!(folded.layers.len(), 4);
        assert!(matches!(&folded.layers[0], LayerSpec::Conv2d { bias: true, name: Some(n), .. } if n == "conv1"));
        // s = (1, -1), t = (0.5 - 1, 0 + 3).
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        assert!(close(&v["conv1.weight"], &[1.0, -2.0]), "{:?}", v["conv1.weight"]);
        assert!(close(&v["conv1.bias"], &[-0.5, 3.0]), "{:?}", v["conv1.bias"]);
        assert!(v.keys().all(|k| !k.contains("bn1")), "{:?}", v.keys());
    }

    #[test]
    fn a_batchnorm_after_an_addition_becomes_an_affine_or_stays() {
        let s = spec("name = \"t\"\n[[layers]]\ntype = \"save\"\nname = \"a\"\n[[layers]]\ntype = \"add\"\nname = \"a\"\n[[layers]]\ntype = \"batchnorm\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\n");
        let mut v: HashMap<String, Vec<f32>> = HashMap::new();
        v.insert("bn1.weight".into(), vec![2.0]);
        v.insert("bn1.bias".into(), vec![1.0]);
        v.insert("bn1.running_mean".into(), vec![0.5]);
        v.insert("bn1.running_var".into(), vec![1.0]);
        let mut w = v.clone();
        let (folded, f) = fold_batchnorm(&s, [1, 2, 2], 10, &mut v).unwrap();
        assert_eq!(f.as_affine, vec!["bn1".to_string()]);
        let LayerSpec::Normalize { mean, std } = &folded.layers[2] else { panic!("{:?}", folded.layers) };
        // (x - mean) / std = x s + t with s = 2 / sqrt(1 + 1e-5), t = 1 - 0.5 s.
        let sc = 2.0 / (1.0f64 + 1e-5).sqrt();
        assert!((1.0 / std[0] - sc).abs() < 1e-9 && (-mean[0] / std[0] - (1.0 - 0.5 * sc)).abs() < 1e-9);
        // A negative scale has no `normalize`: the batchnorm stays, with its tensors.
        w.insert("bn1.weight".into(), vec![-2.0]);
        let (kept, f) = fold_batchnorm(&s, [1, 2, 2], 10, &mut w).unwrap();
        assert_eq!((f.kept.clone(), kept.layers.len(), w.len()), (vec!["bn1".to_string()], 5, 4));
        assert!(f.is_empty());
    }

    #[test]
    fn missing_batchnorm_tensors_are_named() {
        let s = spec("name = \"t\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = 3\n[[layers]]\ntype = \"batchnorm\"\n[[layers]]\ntype = \"linear\"\n");
        let mut v: HashMap<String, Vec<f32>> = HashMap::new();
        v.insert("bn1.weight".into(), vec![1.0; 3]);
        let e = fold_batchnorm(&s, [1, 2, 2], 10, &mut v).unwrap_err().to_string();
        assert!(e.contains("bn1.bias"), "{e}");
    }

    #[test]
    fn a_batchnorm_of_flat_features_after_no_weight_layer_stays() {
        let s = spec("name = \"t\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = 2\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"batchnorm\"\n[[layers]]\ntype = \"linear\"\n");
        let mut v: HashMap<String, Vec<f32>> = HashMap::new();
        for (k, x) in [("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)] {
            v.insert(format!("bn1.{k}"), vec![x; 2]);
        }
        let (folded, f) = fold_batchnorm(&s, [1, 2, 2], 10, &mut v).unwrap();
        assert_eq!((f.kept, folded.layers), (vec!["bn1".to_string()], {
            let mut l = s.layers.clone();
            for (layer, name) in l.iter_mut().zip(["", "fc1", "", "bn1", "fc2"]) {
                if let LayerSpec::Linear { name: n, .. } | LayerSpec::Batchnorm { name: n, .. } = layer {
                    *n = Some(name.to_string());
                }
            }
            l
        }));
    }
}
