//! Seeded synthetic data, generated directly as encoded ids.
//!
//! - `known_ctr`: small CTR data with a known true probability per row
//!   (tests and the demo can compare a model's AUC with the ceiling);
//! - `criteo_synth`: the shared throughput workload of
//!   `shared/bench/criteo_synth_spec.md`;
//! - `mmoe_synthetic`: two regression tasks of controlled correlation
//!   (PROTOCOLS.md mmoe-synthetic);
//! - `click_conversion`: impressions → clicks → conversions with the true
//!   CTR and CVR of every impression (ESMM's sample-selection bias);
//! - `drifting_stream`: impressions whose true click probabilities drift
//!   over time, as numbered CSV files (online training, `ember online`);
//! - `feed_log`: an interaction log written as files in a layout of its own
//!   (the README's "Your own data" walkthrough).

pub mod click_conversion;
pub mod criteo_synth;
pub mod drifting_stream;
pub mod feed_log;
pub mod known_ctr;
pub mod mmoe_synthetic;
