//! Statistic features of a stream of labelled events: per key (a user, an
//! item), the impressions and positives seen so far, decayed over time.
pub mod counter;
pub mod decayed;

pub use counter::{Counter, Prior, features_into, observe, stats_key};
pub use decayed::{DecayedStats, StatsConfig};
