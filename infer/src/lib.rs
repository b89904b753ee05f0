//! ember-infer: load an exported model on any backend and score with it.

pub mod mixer;
pub mod predictor;

pub use mixer::MixerPolicy;
pub use predictor::Predictor;
