//! ember-infer: load an exported model on any backend and score or
//! retrieve with it.

pub mod mixer;
pub mod predictor;
pub mod retriever;

pub use mixer::MixerPolicy;
pub use predictor::Predictor;
pub use retriever::{Recommendation, Retriever, SearchMode};
