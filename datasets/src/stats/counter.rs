//! The arithmetic of one key's decayed counters, shared by training
//! ([`super::DecayedStats`], a whole log at once) and serving (the feature
//! store, one event at a time), so both compute the same numbers.
//!
//! A counter decays by half every `h` days: at time `t` a count last
//! updated at `t₀` is worth `c · 2^{−(t − t₀)/h}` (`h = 0`: no decay).

use super::StatsConfig;

/// One key's counts under one half-life, as of `at` (seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counter {
    pub impressions: f64,
    pub positives: f64,
    pub at: u64,
}

impl Counter {
    /// (impressions, positives) decayed to time `t`.
    pub fn at(&self, t: u64, half_life_days: f64) -> (f64, f64) {
        if half_life_days <= 0.0 {
            return (self.impressions, self.positives);
        }
        let days = t.saturating_sub(self.at) as f64 / 86_400.0;
        let w = (-days / half_life_days * std::f64::consts::LN_2).exp();
        (self.impressions * w, self.positives * w)
    }

    /// Counts one event at `t`.
    pub fn add(&mut self, t: u64, half_life_days: f64, positive: bool) {
        let (imp, pos) = self.at(t, half_life_days);
        *self = Counter {
            impressions: imp + 1.0,
            positives: pos + f64::from(u8::from(positive)),
            at: t,
        };
    }
}

/// Every event's positive rate so far: what a key's rate is shrunk toward.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prior {
    pub seen: f64,
    pub seen_positive: f64,
}

impl Prior {
    /// ½ before any event.
    pub fn rate(&self) -> f64 {
        if self.seen > 0.0 {
            self.seen_positive / self.seen
        } else {
            0.5
        }
    }

    pub fn observe(&mut self, positive: bool) {
        self.seen += 1.0;
        self.seen_positive += f64::from(u8::from(positive));
    }
}

/// Counts one event at `t` into a key's counters (one per half-life).
pub fn observe(counters: &mut [Counter], t: u64, positive: bool, config: &StatsConfig) {
    for (c, &h) in counters.iter_mut().zip(&config.half_lives_days) {
        c.add(t, h, positive);
    }
}

/// A key's features at time `t` into `out` (`2 · half-lives` values, in
/// [`StatsConfig::column_names`] order): `log1p(impressions)` and the
/// smoothed rate `(positives + α·p) / (impressions + α)`. `None`: a key
/// never seen.
pub fn features_into(
    counters: Option<&[Counter]>,
    t: u64,
    prior: &Prior,
    config: &StatsConfig,
    out: &mut [f32],
) {
    let p = prior.rate();
    let alpha = config.prior_weight;
    for (j, &h) in config.half_lives_days.iter().enumerate() {
        let (imp, pos) = counters.map_or((0.0, 0.0), |c| c[j].at(t, h));
        out[2 * j] = imp.ln_1p() as f32;
        out[2 * j + 1] = ((pos + alpha * p) / (imp + alpha)) as f32;
    }
}

/// The key of an id in the counters: its value if it is a non-negative
/// integer (MovieLens-style ids), else its XXH3 hash.
pub fn stats_key(id: &str) -> u64 {
    id.trim()
        .parse::<u64>()
        .unwrap_or_else(|_| xxhash_rust::xxh3::xxh3_64(id.trim().as_bytes()))
}
