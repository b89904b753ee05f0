//! ember-infer: load an exported model on any backend and score or
//! retrieve with it.

pub mod predictor;
pub mod retriever;

pub use predictor::Predictor;
pub use retriever::{Recommendation, Retriever, SearchMode};
