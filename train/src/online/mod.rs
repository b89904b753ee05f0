//! Online training: a time-ordered stream in, each batch trained on once,
//! progressive validation per window, versions exported as it goes, and
//! open vocabularies so tables follow a stream of new ids in bounded memory.

pub mod config;
pub mod progressive;
pub mod run;
pub mod stream;
pub mod versions;

pub use config::{OnlineOptions, OnlineRunConfig, OnlineSections, StreamConfig};
pub use progressive::WindowRecord;
pub use run::{OnlineSummary, run_online};
