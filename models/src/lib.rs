//! ember-models: Burn modules for every stage of a recommender.
//!
//! Reusable layers live in [`layers`] (the feature layer, FM-family
//! interactions, MLP, attention pooling); each model in [`ranking`] and
//! [`retrieval`] is a thin composition of them that reads like its paper's
//! equation. Models know nothing of files: they map a [`Batch`] to logits
//! (ranking) or to unit vectors (retrieval towers).
//!
//! Below training and serving alike: [`artifact`] (the exported-model
//! format, written by `ember-train` and read by `ember-infer`), [`metrics`],
//! and the fusion rule that turns task predictions into one score
//! ([`multitask::fusion`]).

pub mod artifact;
pub mod batch;
pub mod device;
pub mod layers;
pub mod metrics;
pub mod mixer;
pub mod multitask;
pub mod ranking;
pub mod retrieval;

pub use batch::Batch;
pub use multitask::{MultiTaskConfig, MultiTaskKind, MultiTaskModel};
pub use ranking::ModelKind;
pub use ranking::{RankingConfig, RankingModel};
pub use retrieval::{TwoTower, TwoTowerConfig};
