//! Rule constraints: at most `max_per_category` items of any category in
//! every `window` consecutive slots (the "no three thrillers in a row"
//! rule of feed products).
//!
//! Slots are filled in order with the best-scored candidate that keeps
//! every window within the cap. When no candidate fits (too few distinct
//! categories among the candidates), the slot takes the candidate that
//! overshoots the cap least (best score on ties) and the violation is
//! counted, so the list is never shorter than it could be and the caller
//! can see that the rule was bent.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::CandidateSet;

fn default_window() -> usize {
    5
}
fn default_max() -> u32 {
    2
}

/// `[rerank] kind = "rules"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Window length in slots.
    #[serde(default = "default_window")]
    pub window: usize,
    /// Items of one category allowed per window.
    #[serde(default = "default_max")]
    pub max_per_category: u32,
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self {
            window: default_window(),
            max_per_category: default_max(),
        }
    }
}

/// A rule-constrained list.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOutcome {
    pub order: Vec<usize>,
    /// Slots that had to break the rule (no candidate fitted).
    pub violations: usize,
}

impl RulesConfig {
    pub fn validate(&self) -> Result<()> {
        if self.window == 0 {
            bail!("rerank.window = 0: must be ≥ 1");
        }
        if self.max_per_category == 0 {
            bail!("rerank.max_per_category = 0: must be ≥ 1");
        }
        Ok(())
    }

    pub fn rerank(&self, candidates: &CandidateSet, k: usize) -> RuleOutcome {
        let cats = &candidates.categories;
        let mut counts = vec![0u32; cats.id_bound()];
        let mut remaining = candidates.by_score();
        let mut order: Vec<usize> = Vec::with_capacity(k.min(remaining.len()));
        let mut violations = 0;
        while order.len() < k && !remaining.is_empty() {
            // `counts` holds the categories of the last `window - 1` slots.
            let overshoot = |i: usize| {
                cats.of(i)
                    .iter()
                    .map(|&c| (counts[c as usize] + 1).saturating_sub(self.max_per_category))
                    .max()
                    .unwrap_or(0)
            };
            // `remaining` is sorted by score: the first fitting one is the best.
            let pos = match remaining.iter().position(|&i| overshoot(i) == 0) {
                Some(pos) => pos,
                None => {
                    violations += 1;
                    (0..remaining.len())
                        .min_by_key(|&p| (overshoot(remaining[p]), p))
                        .expect("remaining is not empty")
                }
            };
            let item = remaining.remove(pos);
            for &c in cats.of(item) {
                counts[c as usize] += 1;
            }
            order.push(item);
            if order.len() >= self.window {
                // The slot leaving the next window.
                for &c in cats.of(order[order.len() - self.window]) {
                    counts[c as usize] -= 1;
                }
            }
        }
        RuleOutcome { order, violations }
    }

    /// Whether every window of `list` keeps every category within the cap.
    pub fn holds(&self, candidates: &CandidateSet, list: &[usize]) -> bool {
        let mut counts = vec![0u32; candidates.categories.id_bound()];
        for start in 0..list.len() {
            counts.iter_mut().for_each(|c| *c = 0);
            for &i in &list[start..(start + self.window).min(list.len())] {
                for &c in candidates.categories.of(i) {
                    counts[c as usize] += 1;
                }
            }
            if counts.iter().any(|&n| n > self.max_per_category) {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rerank::Categories;
    use crate::rerank::random_candidates;

    #[test]
    fn every_window_respects_the_cap() {
        for seed in 0..30 {
            // 12 categories, 1–3 each: always feasible for a window of 4, cap 1..=2.
            let set = random_candidates(200, 4, 12, seed);
            for (window, cap) in [(3, 1), (4, 2), (6, 2)] {
                let rules = RulesConfig {
                    window,
                    max_per_category: cap,
                };
                let out = rules.rerank(&set, 30);
                assert_eq!(out.order.len(), 30);
                assert_eq!(out.violations, 0, "seed {seed}");
                assert!(rules.holds(&set, &out.order), "seed {seed} {window} {cap}");
            }
        }
    }

    #[test]
    fn best_fitting_item_first_and_a_counted_violation_when_none_fits() {
        let set = CandidateSet {
            scores: vec![0.9, 0.8, 0.7, 0.1],
            vectors: Vec::new(),
            dim: 0,
            categories: Categories::from_lists([vec![0], vec![0], vec![0], vec![1]]),
        };
        let rules = RulesConfig {
            window: 2,
            max_per_category: 1,
        };
        let out = rules.rerank(&set, 4);
        // 0, then 3 (the only other category), then 1; then only 2 is left.
        assert_eq!(out.order, vec![0, 3, 1, 2]);
        assert_eq!(out.violations, 1);
        assert!(!rules.holds(&set, &out.order));
        assert!(rules.holds(&set, &out.order[..3]));
    }
}
