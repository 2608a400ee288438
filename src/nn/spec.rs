//! Model descriptions: an ordered list of layers, read from TOML, and the shape check that
//! chains them from the input to the classes.

use crate::error::{AerError, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum LayerSpec {
    /// Fully connected. Without `out`, the layer has one output per class. `name` names its
    /// tensors (`<name>.weight`, `<name>.bias`; by default fc1, fc2, ...).
    Linear {
        out: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// A convolution; `bias = false` leaves out the bias (as PyTorch's ResNets do before a
    /// batchnorm); `name` as for linear (by default conv1, conv2, ...).
    Conv2d {
        out: usize,
        kernel: usize,
        #[serde(default = "one")]
        stride: usize,
        #[serde(default)]
        padding: usize,
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        bias: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    Relu,
    /// 2x2 max-pool, stride 2.
    Maxpool2,
    /// [C, H, W] -> [C*H*W], in C, H, W order (PyTorch's flatten).
    Flatten,
    /// Winners-take-all activation sparsity (DASNet): per example keep the
    /// ceil((1 - sparsity) * C) channels (or units of a flat input) with the largest L1 mass
    /// and zero the rest, in training and inference alike.
    Wta { sparsity: f64 },
    /// A learned activation threshold (joint weight and activation pruning, JPnet): after a
    /// ReLU, values at or below the layer's threshold are zeroed. The threshold is learned in
    /// training as the `sparsity` quantile of the layer's activations; `l1` adds
    /// l1 * mean(|activation|) to the loss, which pushes activations toward zero.
    Threshold {
        sparsity: f64,
        #[serde(default)]
        l1: f64,
    },
    /// Per-channel input normalization, (x - mean[c]) / std[c], as foolbox's preprocessing:
    /// the model takes pixels in [0, 1], so attack radii stay in pixel units.
    Normalize { mean: Vec<f64>, std: Vec<f64> },
    /// Inverted dropout of this share of the activations in training steps; the identity in
    /// evaluation, attacks and bounds.
    Dropout { rate: f64 },
    /// Batch normalization (Ioffe & Szegedy 2015) of a flat input (BatchNorm1d) or per channel
    /// of a [C, H, W] one (BatchNorm2d): batch statistics in training steps, which also move
    /// the running ones by `momentum`; the running statistics in evaluation, attacks and bounds.
    Batchnorm {
        #[serde(default = "bn_momentum")]
        momentum: f64,
        #[serde(default = "bn_eps")]
        eps: f64,
        /// Names its tensors, as for linear (by default bn1, bn2, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
    /// Residual connections, as three layers around a block: `save` keeps the current
    /// activation in the slot `name`; `swap` exchanges the current activation with the slot's,
    /// so that layers after it (a shortcut's 1x1 convolution) run on the block's input while
    /// the block's output waits; `add` adds the slot's activation to the current one and
    /// empties the slot. An identity shortcut is save ... add; a projection save ... swap
    /// conv bn add.
    Save { name: String },
    Swap { name: String },
    Add { name: String },
    /// Global average pooling: [C, H, W] -> [C, 1, 1] (PyTorch's AdaptiveAvgPool2d(1)).
    #[serde(rename = "global_avgpool")]
    GlobalAvgpool,
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn bn_momentum() -> f64 {
    0.1
}

fn bn_eps() -> f64 {
    1e-5
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub name: String,
    pub layers: Vec<LayerSpec>,
    /// Ternary quantization of the weights (see `crate::nn::quant`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quant: Option<crate::nn::quant::QuantSpec>,
}

/// The preset models by name: their TOML files are built in.
pub const PRESETS: &[(&str, &str)] = &[
    ("mlp", include_str!("../../assets/configs/mlp.toml")),
    ("cnn", include_str!("../../assets/configs/cnn.toml")),
    ("smallcnn", include_str!("../../assets/configs/smallcnn.toml")),
    ("madry", include_str!("../../assets/configs/madry.toml")),
    ("resnet20", include_str!("../../assets/configs/resnet20.toml")),
    ("preact-resnet18", include_str!("../../assets/configs/preact-resnet18.toml")),
    ("wrn-28-10", include_str!("../../assets/configs/wrn-28-10.toml")),
];

/// The preset names, for messages and help.
pub fn preset_names() -> String {
    PRESETS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

impl ModelSpec {
    pub fn from_toml(text: &str, origin: &str) -> Result<ModelSpec> {
        let spec: ModelSpec = toml::from_str(text).map_err(|e| AerError::Spec(format!("{origin}: {e}")))?;
        if spec.layers.is_empty() {
            return Err(AerError::Spec(format!("{origin}: the model has no layers")));
        }
        Ok(spec)
    }

    /// This model with a winners-take-all layer of `sparsity` after every ReLU (as the
    /// `cnn-wta*` configs are to `cnn`).
    pub fn with_wta(&self, sparsity: f64) -> ModelSpec {
        let layers = self.layers.iter().flat_map(|l| if *l == LayerSpec::Relu { vec![l.clone(), LayerSpec::Wta { sparsity }] } else { vec![l.clone()] });
        ModelSpec { name: format!("{}-wta{:.0}", self.name, 100.0 * sparsity), layers: layers.collect(), quant: self.quant.clone() }
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("model specs serialise")
    }

    /// A preset name (see `PRESETS`) or a path to a TOML file.
    pub fn load(name_or_path: &str) -> Result<ModelSpec> {
        if let Some((name, text)) = PRESETS.iter().find(|(n, _)| *n == name_or_path) {
            return ModelSpec::from_toml(text, &format!("preset {name}"));
        }
        let path = name_or_path;
        let text = std::fs::read_to_string(path).map_err(|e| AerError::Spec(format!("{path}: cannot read ({e}); use a preset ({}) or a TOML model file", preset_names())))?;
        ModelSpec::from_toml(&text, path)
    }

    /// The prefix of each layer's tensor names (`conv1`, `fc2`, `bn1`, `act1`, or the layer's
    /// own `name`); None for layers without tensors. Names are PyTorch's for a module with
    /// named layers, numbered per kind in order.
    pub fn tensor_prefixes(&self) -> Vec<Option<String>> {
        let mut counts = std::collections::HashMap::new();
        self.layers
            .iter()
            .map(|l| {
                let (kind, own) = match l {
                    LayerSpec::Linear { name, .. } => ("fc", name),
                    LayerSpec::Conv2d { name, .. } => ("conv", name),
                    LayerSpec::Batchnorm { name, .. } => ("bn", name),
                    LayerSpec::Threshold { .. } => ("act", &None),
                    _ => return None,
                };
                let n = counts.entry(kind).or_insert(0);
                *n += 1;
                Some(own.clone().unwrap_or_else(|| format!("{kind}{n}")))
            })
            .collect()
    }

    /// The names of the prunable weights (linear and convolution layers'), in layer order.
    pub fn weight_names(&self) -> Vec<String> {
        self.layers
            .iter()
            .zip(self.tensor_prefixes())
            .filter(|(l, _)| matches!(l, LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. }))
            .filter_map(|(_, p)| p.map(|p| format!("{p}.weight")))
            .collect()
    }

    /// Learned parameters for `input` and `classes`, counted as PyTorch counts them (weights,
    /// biases, batch normalization's scale and shift; not its running statistics).
    pub fn learned_parameters(&self, input: [usize; 3], classes: usize) -> Result<usize> {
        let shapes = self.shapes(input, classes)?;
        Ok(self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| match l {
                LayerSpec::Linear { .. } => (shapes[i][0] + 1) * shapes[i + 1][0],
                LayerSpec::Conv2d { out, kernel, bias, .. } => (shapes[i][0] * kernel * kernel + *bias as usize) * out,
                LayerSpec::Batchnorm { .. } => 2 * shapes[i][0],
                _ => 0,
            })
            .sum())
    }

    /// The activation shape after every layer (without the batch dimension), starting from
    /// `input` = [C, H, W]. Errors name the layer and what it expected.
    pub fn shapes(&self, input: [usize; 3], classes: usize) -> Result<Vec<Vec<usize>>> {
        let mut shapes = Vec::with_capacity(self.layers.len() + 1);
        let mut cur = input.to_vec();
        let mut slots: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        let mut named = std::collections::HashSet::new();
        if let Some(p) = self.tensor_prefixes().into_iter().flatten().find(|p| !named.insert(p.clone())) {
            return Err(AerError::Spec(format!("{}: two layers' tensors are named '{p}'; give each layer its own name", self.name)));
        }
        shapes.push(cur.clone());
        for (i, l) in self.layers.iter().enumerate() {
            let at = |msg: String| AerError::Spec(format!("{}: layer {} ({}): {msg}", self.name, i + 1, l.kind()));
            cur = match l {
                LayerSpec::Linear { out, .. } => {
                    if cur.len() != 1 {
                        return Err(at(format!("expects a flat input but gets {cur:?}; add a flatten layer before it")));
                    }
                    let width = out.unwrap_or(classes);
                    if tensor_elements(&[width, cur[0]]).is_none() {
                        return Err(at(format!("a weight of [{width}, {}] is more than the {MAX_TENSOR_ELEMENTS} values a tensor can hold", cur[0])));
                    }
                    vec![width]
                }
                LayerSpec::Conv2d { out, kernel, stride, padding, .. } => {
                    if cur.len() != 3 {
                        return Err(at(format!("expects a [C, H, W] input but gets {cur:?}")));
                    }
                    if *kernel == 0 || *stride == 0 || *out == 0 {
                        return Err(at("out, kernel and stride must be at least 1".into()));
                    }
                    // Checked: a padding from a damaged file must not wrap around.
                    let padded = |d: usize| padding.checked_mul(2).and_then(|p| p.checked_add(d)).filter(|&n| n <= MAX_TENSOR_ELEMENTS);
                    let (Some(ph), Some(pw)) = (padded(cur[1]), padded(cur[2])) else {
                        return Err(at(format!("padding {padding} is larger than any image a tensor can hold")));
                    };
                    if ph < *kernel || pw < *kernel {
                        return Err(at(format!("kernel {kernel} is larger than the padded input {cur:?} (padding {padding})")));
                    }
                    if tensor_elements(&[*out, cur[0], *kernel, *kernel]).is_none() {
                        return Err(at(format!("a weight of [{out}, {}, {kernel}, {kernel}] is more than the {MAX_TENSOR_ELEMENTS} values a tensor can hold", cur[0])));
                    }
                    vec![*out, (ph - kernel) / stride + 1, (pw - kernel) / stride + 1]
                }
                LayerSpec::Relu => cur.clone(),
                LayerSpec::Maxpool2 => {
                    if cur.len() != 3 || cur[1] < 2 || cur[2] < 2 {
                        return Err(at(format!("expects a [C, H, W] input of at least 2x2 but gets {cur:?}")));
                    }
                    vec![cur[0], cur[1] / 2, cur[2] / 2]
                }
                LayerSpec::Flatten => vec![cur.iter().product()],
                LayerSpec::Threshold { sparsity, l1 } => {
                    if !(0.0..1.0).contains(sparsity) || !(*l1 >= 0.0 && l1.is_finite()) {
                        return Err(at(format!("sparsity {sparsity}, l1 {l1}: give the target share of zero activations from 0 up to (not including) 1, and an l1 weight of 0 or more")));
                    }
                    cur.clone()
                }
                LayerSpec::Normalize { mean, std } => {
                    if cur.len() != 3 || mean.len() != cur[0] || std.len() != cur[0] {
                        return Err(at(format!("has {} means and {} stds for an input of {cur:?}; give one of each per channel", mean.len(), std.len())));
                    }
                    if let Some(s) = std.iter().find(|s| !(**s > 0.0 && s.is_finite())) {
                        return Err(at(format!("std {s}: every std must be a positive number")));
                    }
                    if let Some(m) = mean.iter().find(|m| !m.is_finite()) {
                        return Err(at(format!("mean {m} is not a number")));
                    }
                    cur.clone()
                }
                LayerSpec::Dropout { rate } => {
                    if !(0.0..1.0).contains(rate) {
                        return Err(at(format!("rate {rate}: give the share of activations to drop, from 0 up to (not including) 1")));
                    }
                    cur.clone()
                }
                LayerSpec::Batchnorm { momentum, eps, .. } => {
                    if !(0.0..=1.0).contains(momentum) || !(*eps > 0.0 && eps.is_finite()) {
                        return Err(at(format!("momentum {momentum}, eps {eps}: give a momentum from 0 to 1 and a positive eps")));
                    }
                    if cur.len() != 1 && cur.len() != 3 {
                        return Err(at(format!("expects a flat or a [C, H, W] input but gets {cur:?}")));
                    }
                    cur.clone()
                }
                LayerSpec::Save { name } => {
                    if slots.insert(name, cur.clone()).is_some() {
                        return Err(at(format!("slot '{name}' already holds an activation that no add has used; give each open block its own name")));
                    }
                    cur.clone()
                }
                LayerSpec::Swap { name } => {
                    let slot = slots.get_mut(name.as_str()).ok_or_else(|| at(format!("no activation saved as '{name}'; a save layer must come first")))?;
                    std::mem::replace(slot, cur.clone())
                }
                LayerSpec::Add { name } => {
                    let slot = slots.remove(name.as_str()).ok_or_else(|| at(format!("no activation saved as '{name}'; a save layer must come first")))?;
                    if slot != cur {
                        return Err(at(format!("adds '{name}' of shape {slot:?} to an activation of shape {cur:?}; a shortcut that changes the shape needs a projection (swap, then a 1x1 conv with the block's stride)")));
                    }
                    cur.clone()
                }
                LayerSpec::GlobalAvgpool => {
                    if cur.len() != 3 {
                        return Err(at(format!("expects a [C, H, W] input but gets {cur:?}")));
                    }
                    vec![cur[0], 1, 1]
                }
                LayerSpec::Wta { sparsity } => {
                    if !(0.0..1.0).contains(sparsity) {
                        return Err(at(format!("sparsity {sparsity}: give the share of channels to zero, from 0 up to (not including) 1")));
                    }
                    if cur[0] > crate::kernels::WTA_MAX_CHANNELS {
                        return Err(at(format!("selects among {} channels, more than the {} it supports", cur[0], crate::kernels::WTA_MAX_CHANNELS)));
                    }
                    cur.clone()
                }
            };
            if tensor_elements(&cur).is_none() {
                return Err(AerError::Spec(format!("{}: layer {} ({}) outputs {cur:?} per example, more than the {MAX_TENSOR_ELEMENTS} values a tensor can hold", self.name, i + 1, l.kind())));
            }
            shapes.push(cur.clone());
        }
        if let Some(name) = slots.keys().next() {
            return Err(AerError::Spec(format!("{}: the activation saved as '{name}' is never added; end its block with an add layer", self.name)));
        }
        if cur != [classes] {
            return Err(AerError::Spec(format!(
                "{}: the last layer outputs {cur:?} but the data has {classes} classes; end with a linear layer without `out`",
                self.name
            )));
        }
        Ok(shapes)
    }
}

/// The most values one tensor may hold: the kernels index with 32-bit integers. A size past
/// it (from a damaged or mistyped file) is refused before anything is allocated.
pub const MAX_TENSOR_ELEMENTS: usize = u32::MAX as usize;

/// The number of values of a tensor of `dims`, unless it passes `MAX_TENSOR_ELEMENTS`.
fn tensor_elements(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).filter(|&n| n <= MAX_TENSOR_ELEMENTS)
}

impl LayerSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            LayerSpec::Linear { .. } => "linear",
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::Relu => "relu",
            LayerSpec::Maxpool2 => "maxpool2",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Wta { .. } => "wta",
            LayerSpec::Threshold { .. } => "threshold",
            LayerSpec::Normalize { .. } => "normalize",
            LayerSpec::Dropout { .. } => "dropout",
            LayerSpec::GlobalAvgpool => "global_avgpool",
            LayerSpec::Batchnorm { .. } => "batchnorm",
            LayerSpec::Save { .. } => "save",
            LayerSpec::Swap { .. } => "swap",
            LayerSpec::Add { .. } => "add",
        }
    }

    /// Channels a winners-take-all layer keeps of `channels`.
    pub fn wta_keep(sparsity: f64, channels: usize) -> usize {
        (((1.0 - sparsity) * channels as f64).ceil() as usize).clamp(1, channels.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_chain_on_mnist() {
        let cnn = ModelSpec::load("cnn").unwrap();
        let s = cnn.shapes([1, 28, 28], 10).unwrap();
        assert_eq!(s[6], vec![32, 7, 7]);
        assert_eq!(s.last().unwrap(), &vec![10]);
        let mlp = ModelSpec::load("mlp").unwrap();
        assert_eq!(mlp.shapes([3, 32, 32], 10).unwrap()[1], vec![3072]);
        // TRADES' SmallCNN: 64 x 4 x 4 into the first fc layer; Madry et al.'s: 64 x 7 x 7.
        assert_eq!(ModelSpec::load("smallcnn").unwrap().shapes([1, 28, 28], 10).unwrap()[10], vec![64, 4, 4]);
        assert_eq!(ModelSpec::load("madry").unwrap().shapes([1, 28, 28], 10).unwrap()[6], vec![64, 7, 7]);
        // Residual presets (convolutions with biases, projection shortcuts): He et al.'s
        // ResNet-20 has 0.27 M parameters, PreAct ResNet-18 11.2 M, WRN-28-10 36.5 M.
        for (name, lo, hi) in [("resnet20", 0.26e6, 0.29e6), ("preact-resnet18", 11.1e6, 11.3e6), ("wrn-28-10", 36.4e6, 36.6e6)] {
            let spec = ModelSpec::load(name).unwrap();
            let s = spec.shapes([3, 32, 32], 10).unwrap();
            assert_eq!(s.iter().rev().find(|s| s.len() == 3).unwrap()[1..], [1, 1], "{name} pools to 1x1");
            let n = spec.learned_parameters([3, 32, 32], 10).unwrap() as f64;
            assert!((lo..hi).contains(&n), "{name}: {n} parameters");
        }
        let e = ModelSpec::load("resnet-9").unwrap_err().to_string();
        assert!(e.contains("resnet-9") && e.contains("smallcnn"), "{e}");
    }

    #[test]
    fn residual_slots_are_checked() {
        let spec = |body: &str| ModelSpec::from_toml(&format!("name='r'\n{body}[[layers]]\ntype='flatten'\n[[layers]]\ntype='linear'\n"), "r.toml").unwrap();
        let conv = |stride: usize| format!("[[layers]]\ntype='conv2d'\nout=2\nkernel=3\npadding=1\nstride={stride}\n");
        let e = spec(&format!("[[layers]]\ntype='save'\nname='a'\n{}[[layers]]\ntype='add'\nname='a'\n", conv(2))).shapes([1, 8, 8], 3).unwrap_err().to_string();
        assert!(e.contains("[1, 8, 8]") && e.contains("[2, 4, 4]") && e.contains("projection"), "{e}");
        let e = spec("[[layers]]\ntype='add'\nname='x'\n").shapes([1, 8, 8], 3).unwrap_err().to_string();
        assert!(e.contains("no activation saved as 'x'"), "{e}");
        let e = spec("[[layers]]\ntype='save'\nname='x'\n").shapes([1, 8, 8], 3).unwrap_err().to_string();
        assert!(e.contains("'x' is never added"), "{e}");
        let ok = spec(&format!("[[layers]]\ntype='save'\nname='a'\n{}[[layers]]\ntype='swap'\nname='a'\n{}[[layers]]\ntype='add'\nname='a'\n", conv(2), conv(2)));
        assert_eq!(ok.shapes([1, 8, 8], 3).unwrap()[4], vec![2, 4, 4]);
    }

    #[test]
    fn broken_chains_are_named() {
        let bad = ModelSpec::from_toml("name='x'\n[[layers]]\ntype='linear'\nout=5\n", "x.toml").unwrap();
        let e = bad.shapes([1, 28, 28], 10).unwrap_err().to_string();
        assert!(e.contains("layer 1 (linear)") && e.contains("flatten"), "{e}");
        let e = ModelSpec::from_toml("name='x'\n[[layers]]\ntype='dense'\n", "x.toml").unwrap_err().to_string();
        assert!(e.contains("x.toml") && e.contains("dense"), "{e}");
    }
}
