//! Counts over a model: parameters, multiply-adds as executed, the largest batch that fits a
//! binding, and measured densities of each layer's input.

use super::model::{Layer, Model};
use super::spec::{LayerSpec, ModelSpec};
use super::tape::Tape;
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use std::collections::HashMap;

impl Model {
    /// For each weight tensor, how many times one example uses each of its values (1 for a
    /// linear layer, output positions for a convolution): weights x uses = multiply-adds.
    pub fn weight_uses_per_example(&self) -> HashMap<String, usize> {
        let shapes = self.spec.shapes(self.input, self.classes).expect("the model was built from these shapes");
        let mut out = HashMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            match l {
                Layer::Linear { w, .. } => {
                    out.insert(self.params[*w].name.clone(), 1);
                }
                Layer::Conv2d { w, .. } => {
                    out.insert(self.params[*w].name.clone(), shapes[i + 1][1] * shapes[i + 1][2]);
                }
                _ => {}
            }
        }
        out
    }

    /// The largest batch whose every activation (and a convolution's im2col columns) fits in
    /// one storage binding of `limit` bytes.
    pub fn max_batch(&self, limit: u64) -> usize {
        self.spec.max_batch(self.input, self.classes, limit).expect("the model was built from these shapes")
    }

    /// The batch to run forward passes in: `wanted`, or as many examples as fit this adapter's
    /// storage binding (splitting an evaluation changes nothing); an error when not one does.
    pub fn fitting_batch(&self, gpu: &Gpu, wanted: usize) -> Result<usize> {
        self.check_batch(gpu, 1, "one example")?;
        Ok(wanted.clamp(1, self.max_batch(gpu.limits.max_storage_buffer_binding_size)))
    }

    /// `batch` examples fit this adapter's storage binding (a training step cannot be split
    /// without changing it: batch statistics, the step); otherwise an error naming the largest
    /// batch that fits. `what` names the setting, e.g. "--batch-size 512".
    pub fn check_batch(&self, gpu: &Gpu, batch: usize, what: &str) -> Result<()> {
        self.spec.check_batch(self.input, self.classes, gpu.limits.max_storage_buffer_binding_size, batch, what)
    }

    /// Weight values each weight layer's kernels multiply by, by weight name: all of a dense
    /// layer's, the kept blocks' (padding included) of a block-sparse one.
    pub fn executed_weights(&self) -> HashMap<String, usize> {
        self.params
            .iter()
            .enumerate()
            .filter(|(_, p)| p.prunable())
            .map(|(i, p)| (p.name.clone(), self.block_structure(i).map_or(p.value.numel(), |b| b.n_blocks * b.block * b.block)))
            .collect()
    }

    /// Per weight tensor, the share of its input channels (or units) that a winners-take-all
    /// layer before it keeps for each example (ReLU, max-pooling and flattening keep a zeroed
    /// channel zero); 1 without one.
    pub fn input_channel_densities(&self) -> HashMap<String, f64> {
        let wta = self.wta_inputs();
        let weights = self.layers.iter().filter_map(|l| match l {
            Layer::Linear { w, .. } | Layer::Conv2d { w, .. } => Some(*w),
            _ => None,
        });
        weights.map(|w| (self.params[w].name.clone(), wta.get(&w).map_or(1.0, |&(keep, channels)| keep as f64 / channels as f64))).collect()
    }

    /// Per weight layer (by its weight's index) that reads a winners-take-all layer's output:
    /// the channels kept and the channels of that activation.
    pub(super) fn wta_inputs(&self) -> HashMap<usize, (usize, usize)> {
        let shapes = self.spec.shapes(self.input, self.classes).expect("the model was built from these shapes");
        let mut kept = None;
        let mut out = HashMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            match l {
                Layer::Wta { keep } => kept = Some((*keep, shapes[i][0])),
                Layer::Linear { w, .. } | Layer::Conv2d { w, .. } => {
                    if let Some(k) = kept.take() {
                        out.insert(*w, k);
                    }
                }
                // A shift makes dropped channels nonzero.
                Layer::ChannelAffine { .. } | Layer::Batchnorm { .. } | Layer::Save(_) | Layer::Swap(_) | Layer::Add(_) => kept = None,
                Layer::Relu | Layer::Maxpool2 | Layer::Flatten | Layer::Threshold { .. } | Layer::Dropout { .. } | Layer::GlobalAvgpool => {}
            }
        }
        out
    }

    /// Per weight tensor, the share of nonzero values in its layer's input over the examples
    /// x, measured: what ReLUs, activation thresholds and winners-take-all leave for a kernel
    /// that skips zero activations.
    pub async fn input_densities(&self, gpu: &Gpu, x: Tensor) -> Result<HashMap<String, f64>> {
        let mut tape = Tape { saved: Vec::new(), inputs: Some(Vec::new()) };
        drop(self.forward(gpu, x, Some(&mut tape)));
        let inputs = tape.inputs.expect("asked for");
        let mut out = HashMap::new();
        for (layer, input) in self.layers.iter().zip(&inputs) {
            if let Layer::Linear { w, .. } | Layer::Conv2d { w, .. } = layer {
                let v = gpu.read_f32(input).await?;
                out.insert(self.params[*w].name.clone(), v.iter().filter(|&&a| a != 0.0).count() as f64 / v.len().max(1) as f64);
            }
        }
        Ok(out)
    }

    /// Multiply-adds per example the weight layers' kernels execute in inference on batches
    /// of `batch` (see `executed_weights`; a layer that skips the channels winners-take-all
    /// dropped does only its kept channels' share).
    pub fn executed_weights_macs(&self, batch: usize) -> usize {
        let uses = self.weight_uses_per_example();
        let wta = self.wta_inputs();
        let executed = self.executed_weights();
        let macs = self.params.iter().enumerate().filter(|(_, p)| p.prunable()).map(|(i, p)| {
            let all = (executed[&p.name] * uses.get(&p.name).copied().unwrap_or(0)) as f64;
            match wta.get(&i) {
                Some(&(keep, channels)) if self.skips_channels(i, batch, keep, channels) => all * keep as f64 / channels as f64,
                _ => all,
            }
        });
        macs.sum::<f64>().round() as usize
    }
}

impl ModelSpec {
    /// The largest batch whose every activation (and a convolution's im2col columns) fits in
    /// one storage binding of `limit` bytes, for inputs of shape `input` and `classes` classes:
    /// what a model of this spec can train on, known before one is built (a pipeline checks
    /// its stages with it before the first runs).
    pub fn max_batch(&self, input: [usize; 3], classes: usize, limit: u64) -> Result<usize> {
        let shapes = self.shapes(input, classes)?;
        let per_example = self.layers.iter().enumerate().map(|(i, l)| {
            let out: usize = shapes[i + 1].iter().product();
            match l {
                LayerSpec::Conv2d { kernel, .. } => out.max(shapes[i][0] * kernel * kernel * shapes[i + 1][1] * shapes[i + 1][2]),
                _ => out.max(shapes[i].iter().product()),
            }
        });
        Ok((limit / (4 * per_example.max().unwrap_or(1).max(1) as u64)) as usize)
    }

    /// `batch` examples fit a storage binding of `limit` bytes; otherwise an error naming the
    /// largest batch that fits. `what` names the setting, e.g. "--batch-size 512".
    pub fn check_batch(&self, input: [usize; 3], classes: usize, limit: u64, batch: usize, what: &str) -> Result<()> {
        let most = self.max_batch(input, classes, limit)?;
        if batch <= most {
            return Ok(());
        }
        let per_example = limit as f64 / (most as f64 + 0.5).max(0.5);
        Err(crate::error::AerError::Invalid(format!(
            "{what}: model '{}' needs about {:.0} MiB in its largest tensor (an activation or a convolution's im2col columns, {:.2} MiB per example), above this adapter's storage binding limit of {} MiB; {}",
            self.name,
            batch as f64 * per_example / (1 << 20) as f64,
            per_example / (1 << 20) as f64,
            limit >> 20,
            if most > 0 { format!("use a batch of at most {most} (--batch-size {most}), or an adapter with a larger limit (`aer adapters`)") } else { "not one example fits: use an adapter with a larger limit (`aer adapters`) or a smaller input".into() }
        )))
    }
}
