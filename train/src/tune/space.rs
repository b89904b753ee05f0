//! A search space: which config keys `ember tune` varies, over what, and
//! the successive-halving budget.
//!
//! ```toml
//! [params]
//! "model.embedding_dim" = { values = [8, 16, 32] }
//! "model.dropout" = { uniform = [0.0, 0.5] }
//! "train.lr" = { log_uniform = [3e-4, 3e-3] }
//! "model.cross_layers" = { int_uniform = [1, 4] }
//! [halving]
//! min_epochs = 2   # every trial's first budget
//! eta = 3          # a third goes on to the next rung, with 3× the epochs
//! max_epochs = 18  # the last rung's budget
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The space `ember tune` searches when given none: the settings of a
/// ranking preset that matter most on data nobody has tuned for.
pub const DEFAULT_SPACE: &str = include_str!("../../../configs/tune/ranking_space.toml");

/// Where one key's values come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Domain {
    /// One of these, uniformly.
    Values(Vec<toml::Value>),
    /// A float uniform in `[a, b]`.
    Uniform([f64; 2]),
    /// A float whose logarithm is uniform in `[ln a, ln b]` (rates).
    LogUniform([f64; 2]),
    /// An integer uniform in `[a, b]`, both included.
    IntUniform([i64; 2]),
}

impl Domain {
    fn check(&self, key: &str) -> Result<()> {
        match self {
            Domain::Values(v) if v.is_empty() => bail!("'{key}': values is empty"),
            Domain::Uniform([a, b]) if !(a.is_finite() && b.is_finite() && a <= b) => {
                bail!("'{key}': uniform needs finite a <= b, got [{a}, {b}]")
            }
            Domain::LogUniform([a, b])
                if !(a.is_finite() && b.is_finite() && *a > 0.0 && a <= b) =>
            {
                bail!("'{key}': log_uniform needs 0 < a <= b, got [{a}, {b}]")
            }
            Domain::IntUniform([a, b]) if a > b => {
                bail!("'{key}': int_uniform needs a <= b, got [{a}, {b}]")
            }
            _ => Ok(()),
        }
    }

    pub fn sample(&self, rng: &mut impl Rng) -> toml::Value {
        match self {
            Domain::Values(v) => v[rng.random_range(0..v.len())].clone(),
            Domain::Uniform([a, b]) => toml::Value::Float(round(a + (b - a) * rng.random::<f64>())),
            Domain::LogUniform([a, b]) => {
                let (la, lb) = (a.ln(), b.ln());
                toml::Value::Float(round((la + (lb - la) * rng.random::<f64>()).exp()))
            }
            Domain::IntUniform([a, b]) => toml::Value::Integer(rng.random_range(*a..=*b)),
        }
    }
}

/// Four significant digits: a leaderboard reads `0.0003162`, not 17 digits.
fn round(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(3 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// Successive halving's rungs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Halving {
    pub min_epochs: usize,
    pub eta: usize,
    pub max_epochs: usize,
}

impl Default for Halving {
    fn default() -> Self {
        Self {
            min_epochs: 2,
            eta: 3,
            max_epochs: 18,
        }
    }
}

impl Halving {
    /// The epochs each rung trains its trials to: `min · eta^k`, capped by
    /// (and ending at) `max`.
    pub fn budgets(&self) -> Vec<usize> {
        let mut budgets = Vec::new();
        let mut b = self.min_epochs.max(1);
        while b < self.max_epochs {
            budgets.push(b);
            b *= self.eta.max(2);
        }
        budgets.push(self.max_epochs.max(1));
        budgets
    }

    /// How many of `n` trials go on to the next rung.
    pub fn survivors(&self, n: usize) -> usize {
        n.div_ceil(self.eta.max(2)).max(1)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpace {
    pub params: BTreeMap<String, Domain>,
    #[serde(default)]
    pub halving: Halving,
}

impl SearchSpace {
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let space: SearchSpace =
            toml::from_str(text).with_context(|| format!("{origin}: not a search space"))?;
        if space.params.is_empty() {
            bail!("{origin}: [params] names no key to search");
        }
        for (key, domain) in &space.params {
            domain.check(key).with_context(|| origin.to_owned())?;
        }
        let h = &space.halving;
        if h.min_epochs == 0 || h.max_epochs < h.min_epochs || h.eta < 2 {
            bail!("{origin}: [halving] needs 1 <= min_epochs <= max_epochs and eta >= 2");
        }
        Ok(space)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// One trial's settings, as `key=value` overrides.
    pub fn sample(&self, rng: &mut impl Rng) -> Vec<String> {
        self.params
            .iter()
            .map(|(key, domain)| format!("{key}={}", domain.sample(rng)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn budgets_grow_by_eta_and_end_at_the_maximum() {
        let h = Halving {
            min_epochs: 2,
            eta: 3,
            max_epochs: 18,
        };
        assert_eq!(h.budgets(), vec![2, 6, 18]);
        assert_eq!(h.survivors(20), 7);
        assert_eq!(h.survivors(1), 1);
        let h = Halving {
            min_epochs: 1,
            eta: 2,
            max_epochs: 5,
        };
        assert_eq!(h.budgets(), vec![1, 2, 4, 5]);
    }

    #[test]
    fn samples_stay_in_their_domains_and_repeat_with_the_seed() {
        let space = SearchSpace::parse(DEFAULT_SPACE, "default").unwrap();
        let draw = |seed| {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
            (0..50).map(|_| space.sample(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        for _ in 0..1000 {
            match Domain::LogUniform([3e-4, 3e-3]).sample(&mut rng) {
                toml::Value::Float(x) => assert!((3e-4..=3e-3 * 1.001).contains(&x)),
                other => panic!("{other}"),
            }
            match Domain::IntUniform([1, 4]).sample(&mut rng) {
                toml::Value::Integer(i) => assert!((1..=4).contains(&i)),
                other => panic!("{other}"),
            }
        }
        assert!(SearchSpace::parse("[params]\nx = { uniform = [2.0, 1.0] }\n", "t").is_err());
        assert!(SearchSpace::parse("[params]\nx = { typo = [1] }\n", "t").is_err());
    }
}
