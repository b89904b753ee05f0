//! ember-infer: load exported models on any backend and serve them:
//! scoring, retrieval, the multi-stage recommendation pipeline
//! ([`pipeline`]), re-rankers ([`rerank`]), diversity metrics
//! ([`diversity`]), serving-path feature encoding ([`features`]), the HTTP
//! server ([`server`]), the RL mixer policy, and the feed's sessions,
//! feedback and experiments ([`feed`]).

pub mod bench;
pub mod candidates;
pub mod diversity;
pub mod feature_store;
pub mod features;
pub mod feed;
pub mod mixer;
pub mod pipeline;
pub mod predictor;
pub mod rerank;
pub mod retriever;
pub mod server;

pub use mixer::MixerPolicy;
pub use pipeline::{Pipeline, PipelineConfig};
pub use predictor::Predictor;
pub use retriever::{Recommendation, Retriever, SearchMode};
