//! Early-bird tickets (You et al. 2020): the mask that magnitude pruning would draw settles
//! early in training, long before the weights converge. After every epoch the search draws
//! the candidate mask at the target sparsity and compares it with the last `window`
//! candidates; once the largest normalised Hamming distance among them falls below
//! `threshold`, the ticket is drawn (pruned), and the remaining epochs train it. With an
//! adversarial loss this is the robust early-bird ticket.

use super::prune::{magnitude_masks, Scope};
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::train::{Hook, Method, MethodSettings, Optimizer, RunCtx, TrainConfig};
use crate::nn::Model;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EarlyBirdConfig {
    /// Share of the weights the ticket prunes.
    pub sparsity: f64,
    pub scope: Scope,
    /// Largest normalised Hamming distance between recent candidate masks that counts as settled.
    pub threshold: f64,
    /// Candidates compared (the paper: 5).
    pub window: usize,
    /// Draw the ticket after this many epochs even if the masks have not settled.
    pub max_epochs: usize,
}

impl Default for EarlyBirdConfig {
    fn default() -> Self {
        EarlyBirdConfig { sparsity: 0.9, scope: Scope::Global, threshold: 0.1, window: 5, max_epochs: 10 }
    }
}

impl EarlyBirdConfig {
    pub fn check(&self, epochs: usize) -> Result<()> {
        if !(0.0..1.0).contains(&self.sparsity) || !(0.0..=1.0).contains(&self.threshold) || self.window < 2 {
            return Err(AerError::Invalid(format!("early-bird: sparsity {} must be in [0, 1), threshold {} in [0, 1], window {} at least 2", self.sparsity, self.threshold, self.window)));
        }
        if self.max_epochs == 0 || self.max_epochs >= epochs {
            return Err(AerError::Invalid(format!("early-bird: the search may take at most {} epochs, which leaves none of the run's {epochs} to train the ticket; lower max_epochs or raise the epochs", self.max_epochs)));
        }
        Ok(())
    }
}

/// The normalised Hamming distance between two masks: the share of positions where one
/// keeps and the other prunes.
pub fn mask_distance(a: &[bool], b: &[bool]) -> f64 {
    assert_eq!(a.len(), b.len(), "masks of different sizes");
    a.iter().zip(b).filter(|(x, y)| x != y).count() as f64 / a.len().max(1) as f64
}

/// The search's state between epochs.
pub struct EarlyBirdSearch {
    cfg: EarlyBirdConfig,
    recent: VecDeque<Vec<bool>>,
}

impl EarlyBirdSearch {
    pub fn new(cfg: &EarlyBirdConfig) -> EarlyBirdSearch {
        EarlyBirdSearch { cfg: cfg.clone(), recent: VecDeque::new() }
    }

    /// Draw this epoch's candidate (one readback) and return the largest distance between it
    /// and the earlier candidates in the window (None until there is an earlier one).
    pub async fn observe(&mut self, gpu: &Gpu, model: &Model) -> Result<Option<f64>> {
        let masks = magnitude_masks(gpu, model, self.cfg.sparsity, self.cfg.scope);
        let bytes = gpu.read_bytes(&masks.iter().collect::<Vec<_>>()).await?;
        let mask: Vec<bool> = bytes.iter().flat_map(|b| bytemuck::pod_collect_to_vec::<u8, f32>(b)).map(|m| m != 0.0).collect();
        let far = self.recent.iter().map(|m| mask_distance(m, &mask)).fold(None, |a: Option<f64>, d| Some(a.map_or(d, |a| a.max(d))));
        self.recent.push_back(mask);
        if self.recent.len() > self.cfg.window {
            self.recent.pop_front();
        }
        Ok(far)
    }

    /// Whether to draw the ticket after `epochs_done` epochs: the window is full and the
    /// newest candidate (`latest`, from `observe`) is within the threshold of every other in
    /// it, or the search has run out of epochs.
    pub fn settled(&self, latest: Option<f64>, epochs_done: usize) -> bool {
        let full = self.recent.len() >= self.cfg.window;
        (full && latest.is_some_and(|d| d < self.cfg.threshold)) || epochs_done >= self.cfg.max_epochs
    }
}

impl MethodSettings for EarlyBirdConfig {
    const KEY: &'static str = "early_bird";

    fn check(&self, cfg: &TrainConfig) -> Result<()> {
        EarlyBirdConfig::check(self, cfg.epochs)
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(EarlyBird { cfg: self.clone(), search: None })
    }
}

struct EarlyBird {
    cfg: EarlyBirdConfig,
    search: Option<EarlyBirdSearch>,
}

impl Method for EarlyBird {
    fn changes_masks(&self) -> bool {
        true
    }

    /// The search runs until the model has its masks (a resumed run whose ticket is drawn
    /// does not search again; one stopped mid-search starts its window anew).
    fn ready(&mut self, model: &Model) -> Result<()> {
        self.search = model.params.iter().all(|p| p.mask.is_none()).then(|| EarlyBirdSearch::new(&self.cfg));
        Ok(())
    }

    /// While searching for the ticket no epoch competes for best.
    fn eligible(&self, _epoch: usize, _epochs: usize) -> bool {
        self.search.is_none()
    }

    fn after_epoch<'a>(&'a mut self, run: &'a mut RunCtx<'_>, model: &'a mut Model, opt: &'a Optimizer, epoch: usize) -> Hook<'a> {
        Box::pin(async move {
            let Some(search) = self.search.as_mut() else { return Ok(()) };
            let (eb, gpu) = (&self.cfg, run.gpu);
            let far = search.observe(gpu, model).await?;
            let distance = far.map(|d| format!("{d:.4}")).unwrap_or_else(|| "-".into());
            if search.settled(far, epoch + 1) {
                super::magnitude_prune(gpu, model, Some(opt), eb.sparsity, eb.scope);
                run.note(format!("epoch {}: early-bird ticket drawn (mask distance {distance}, threshold {}): pruned {:.1}% ({:?})", epoch + 1, eb.threshold, 100.0 * eb.sparsity, eb.scope));
                self.search = None;
            } else {
                run.note(format!("epoch {}: early-bird mask distance {distance} (threshold {})", epoch + 1, eb.threshold));
            }
            Ok(())
        })
    }
}
