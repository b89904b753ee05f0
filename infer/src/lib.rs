//! ember-infer: load an exported model on any backend and score with it.

pub mod predictor;

pub use predictor::Predictor;
