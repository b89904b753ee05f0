//! Statistic features of a stream of labelled events: per key (a user, an
//! item), the impressions and positives seen so far, decayed over time.
pub mod decayed;

pub use decayed::{DecayedStats, StatsConfig};
