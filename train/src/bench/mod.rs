//! Benchmarks:
//! - [`criteo_synth`]: training and inference throughput (`ember bench`);
//! - [`multitask`]: multi-task models' quality over seeds, run from the
//!   shipped presets (`ember bench-mtl`).
//!
//! The criteo-synth items are re-exported here because `ember bench` and
//! the integration tests have always named them `bench::…`.

pub mod criteo_synth;
pub mod multitask;

pub use criteo_synth::{BenchOptions, BenchResult, header, report, run, write_json};
