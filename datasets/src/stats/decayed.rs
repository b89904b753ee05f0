//! Decayed counts of impressions and positives per key, and their smoothed
//! ratio, for every row from the events strictly before it.
//!
//! A counter decays by half every `h` days: at time `t` a count last
//! updated at `t₀` is worth `c · 2^{−(t − t₀)/h}` (`h = ∞`: a plain count).
//! Per key, half-life and row the features are
//! - `log1p(impressions)`, how much the key has been seen lately, and
//! - `(positives + α·p) / (impressions + α)`, its positive rate shrunk
//!   toward `p`, the positive rate of every earlier event (Bayesian
//!   smoothing with `α` pseudo-events), so a key seen twice does not score
//!   0 or 1.
//!
//! Rows are processed in time order, and rows sharing a timestamp all see
//! the counters as they stood before that timestamp: no row sees its own
//! label or a later one (tested by permuting the future).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::counter::{Counter, Prior, features_into, observe};

/// Which statistics to compute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatsConfig {
    /// Half-lives in days; 0 means no decay (all history counts alike).
    pub half_lives_days: Vec<f64>,
    /// Pseudo-events of the smoothed ratio (α).
    pub prior_weight: f64,
}

impl StatsConfig {
    /// The feature names of key kind `prefix`, in column order:
    /// `{prefix}_count_{tag}`, `{prefix}_rate_{tag}` per half-life, the tag
    /// `{h}d` or `all` (no decay).
    pub fn column_names(&self, prefix: &str) -> Vec<String> {
        self.half_lives_days
            .iter()
            .flat_map(|h| {
                let tag = if *h > 0.0 {
                    format!("{h}d")
                } else {
                    "all".to_owned()
                };
                [
                    format!("{prefix}_count_{tag}"),
                    format!("{prefix}_rate_{tag}"),
                ]
            })
            .collect()
    }

    /// Which key kind and column a feature name is (the inverse of
    /// [`StatsConfig::column_names`] over `prefixes`).
    pub fn column_of<'a>(&self, name: &str, prefixes: &[&'a str]) -> Option<(&'a str, usize)> {
        prefixes.iter().find_map(|&prefix| {
            self.column_names(prefix)
                .iter()
                .position(|n| n == name)
                .map(|c| (prefix, c))
        })
    }
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self {
            half_lives_days: vec![0.0, 30.0],
            prior_weight: 10.0,
        }
    }
}

/// The features of one key kind (say items) for every row.
#[derive(Debug, Clone, PartialEq)]
pub struct DecayedStats {
    /// Column names: `{prefix}_count_{h}` and `{prefix}_rate_{h}` per half-life.
    pub names: Vec<String>,
    /// `columns[c][row]`.
    pub columns: Vec<Vec<f32>>,
}

impl DecayedStats {
    /// Features of `keys[r]` for every row `r`, from the rows with a
    /// smaller `time` (seconds) and their `positive` labels.
    pub fn compute(
        prefix: &str,
        keys: &[u64],
        time: &[u64],
        positive: &[bool],
        config: &StatsConfig,
    ) -> Self {
        Self::compute_with(prefix, keys, time, positive, None, config)
    }

    /// [`DecayedStats::compute`] where only the rows with `counts[r]` are
    /// events that update the counters; the others only read them (rows to
    /// score, which see exactly what a training row at their time saw).
    pub fn compute_with(
        prefix: &str,
        keys: &[u64],
        time: &[u64],
        positive: &[bool],
        counts: Option<&[bool]>,
        config: &StatsConfig,
    ) -> Self {
        let n = keys.len();
        let hl = &config.half_lives_days;
        let names = config.column_names(prefix);
        let mut columns = vec![vec![0f32; n]; names.len()];
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&r| (time[r], r));
        let mut counters: HashMap<u64, Vec<Counter>> = HashMap::new();
        let mut prior = Prior::default();
        let mut values = vec![0f32; names.len()];
        for group in order.chunk_by(|&a, &b| time[a] == time[b]) {
            let t = time[group[0]];
            for &r in group {
                let state = counters.get(&keys[r]).map(Vec::as_slice);
                features_into(state, t, &prior, config, &mut values);
                for (column, &v) in columns.iter_mut().zip(&values) {
                    column[r] = v;
                }
            }
            for &r in group.iter().filter(|&&r| counts.is_none_or(|c| c[r])) {
                let state = counters
                    .entry(keys[r])
                    .or_insert_with(|| vec![Counter::default(); hl.len()]);
                observe(state, t, positive[r], config);
                prior.observe(positive[r]);
            }
        }
        Self { names, columns }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> StatsConfig {
        StatsConfig {
            half_lives_days: vec![0.0, 1.0],
            prior_weight: 2.0,
        }
    }

    #[test]
    fn counts_rates_and_decay_by_hand() {
        // Key 7 at day 0 (positive), day 1 (negative), day 2 (asks).
        let day = 86_400;
        let s = DecayedStats::compute(
            "item",
            &[7, 7, 7],
            &[0, day, 2 * day],
            &[true, false, true],
            &config(),
        );
        assert_eq!(
            s.names,
            [
                "item_count_all",
                "item_rate_all",
                "item_count_1d",
                "item_rate_1d"
            ]
        );
        // Row 0 sees nothing: count 0, rate = prior ½.
        assert_eq!((s.columns[0][0], s.columns[1][0]), (0.0, 0.5));
        // Row 2 sees 2 events, 1 positive; prior 1/2: (1 + 2·½)/(2 + 2) = ½.
        assert!((s.columns[0][2] - 3f32.ln()).abs() < 1e-6);
        assert!((s.columns[1][2] - 0.5).abs() < 1e-6);
        // Decayed by a day each: impressions 1·¼ + 1·½ = ¾, positives ¼;
        // rate (¼ + 2·½) / (¾ + 2) = 1.25 / 2.75.
        assert!((s.columns[2][2] - 0.75f32.ln_1p()).abs() < 1e-6);
        assert!((s.columns[3][2] - 1.25 / 2.75).abs() < 1e-6);
    }

    #[test]
    fn no_row_sees_its_own_or_a_later_label() {
        // Rows at times 0..6, two sharing time 3; permuting everything from
        // time 3 on (labels and order) changes no row before time 3, and
        // rows sharing time 3 see the same counters.
        let keys = [1, 2, 1, 1, 2, 1, 2];
        let time = [0, 1, 2, 3, 3, 4, 5];
        let labels = [true, false, true, true, false, false, true];
        let a = DecayedStats::compute("k", &keys, &time, &labels, &config());
        let later_changed = [true, false, true, false, true, true, false];
        let b = DecayedStats::compute("k", &keys, &time, &later_changed, &config());
        for c in 0..a.columns.len() {
            assert_eq!(a.columns[c][..5], b.columns[c][..5], "column {c}");
        }
        // Shuffling the rows of the input (same events) changes nothing per row.
        let perm = [6, 3, 0, 5, 1, 4, 2];
        let pk: Vec<u64> = perm.iter().map(|&i| keys[i]).collect();
        let pt: Vec<u64> = perm.iter().map(|&i| time[i]).collect();
        let pl: Vec<bool> = perm.iter().map(|&i| labels[i]).collect();
        let p = DecayedStats::compute("k", &pk, &pt, &pl, &config());
        for (j, &i) in perm.iter().enumerate() {
            for c in 0..a.columns.len() {
                assert_eq!(p.columns[c][j], a.columns[c][i]);
            }
        }
        // Row 3 does not see row 4 (same time): key 1's count is rows 0, 2.
        assert!((a.columns[0][3] - 2f32.ln_1p()).abs() < 1e-6);
    }
}
