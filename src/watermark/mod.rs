//! Black-box ownership watermarks with one-way key–label pairs. The owner keeps a secret key
//! (32 random bytes); trigger inputs and their labels are derived from it with SHA-256 and
//! trained in with the task data; ownership is shown by querying a deployed model with the
//! triggers, through its predictions only, and testing its agreement with the key's labels
//! against chance (a binomial tail). Because the labels are a one-way function of the key, no
//! one can search for a key that a model's behaviour happens to explain. docs/watermark.md
//! specifies the derivation so that other implementations reproduce it.

pub mod binomial;
pub mod embed;
pub mod key;
pub mod record;
pub mod triggers;
pub mod verify;

pub use binomial::log10_upper_tail;
pub use embed::WatermarkConfig;
pub use key::WatermarkKey;
pub use record::WatermarkRecord;
pub use triggers::{trigger_image, trigger_label, triggers, SCHEME};
pub use verify::{verify, Verification, DEFAULT_ALPHA};
