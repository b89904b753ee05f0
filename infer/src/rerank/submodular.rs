//! Submodular re-ranking: relevance plus a category-coverage reward with
//! diminishing returns.
//!
//! The list's value is `F(S) = Σ_{i∈S} score_i + λ · Σ_c g(n_c(S))`, with
//! `n_c(S)` the number of items of category `c` in `S` and
//! `g(n) = 1 + γ + … + γ^{n−1}`: the first item of a category earns `λ`,
//! the second `λγ`, the third `λγ²`. `g` is concave, so `F` is monotone
//! submodular and greedy selection is within `1 − 1/e` of the best list of
//! that length (Nemhauser et al., 1978). An optional hard cap
//! `max_per_category` removes items whose category is full.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::{CandidateSet, argmax_where};

fn default_lambda() -> f32 {
    0.1
}
fn default_decay() -> f32 {
    0.5
}

/// `[rerank] kind = "submodular"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmodularConfig {
    /// Reward of a category's first item, in score units.
    #[serde(default = "default_lambda")]
    pub lambda: f32,
    /// Each further item of the category earns `decay` times the previous one.
    #[serde(default = "default_decay")]
    pub decay: f32,
    /// At most this many items of any category (none = no cap).
    #[serde(default)]
    pub max_per_category: Option<u32>,
}

impl Default for SubmodularConfig {
    fn default() -> Self {
        Self {
            lambda: default_lambda(),
            decay: default_decay(),
            max_per_category: None,
        }
    }
}

impl SubmodularConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.lambda >= 0.0 && self.lambda.is_finite()) {
            bail!("rerank.lambda = {}: must be ≥ 0", self.lambda);
        }
        if !(0.0..=1.0).contains(&self.decay) {
            bail!("rerank.decay = {}: must be in [0, 1]", self.decay);
        }
        if self.max_per_category == Some(0) {
            bail!("rerank.max_per_category = 0: must be ≥ 1 (or left out)");
        }
        Ok(())
    }

    /// `F(S ∪ {i}) − F(S)` given the category counts of `S`.
    pub fn marginal_gain(&self, candidates: &CandidateSet, i: usize, counts: &[u32]) -> f32 {
        candidates.scores[i]
            + self.lambda
                * candidates
                    .categories
                    .of(i)
                    .iter()
                    .map(|&c| self.decay.powi(counts[c as usize] as i32))
                    .sum::<f32>()
    }

    /// `F(S)` of a list (for tests and reports).
    pub fn value(&self, candidates: &CandidateSet, list: &[usize]) -> f32 {
        let mut counts = vec![0u32; candidates.categories.id_bound()];
        let mut total = 0.0;
        for &i in list {
            total += self.marginal_gain(candidates, i, &counts);
            for &c in candidates.categories.of(i) {
                counts[c as usize] += 1;
            }
        }
        total
    }

    pub fn rerank(&self, candidates: &CandidateSet, k: usize) -> Vec<usize> {
        let n = candidates.len();
        let mut counts = vec![0u32; candidates.categories.id_bound()];
        let mut open = vec![true; n];
        let mut gains = vec![0f32; n];
        let mut order = Vec::with_capacity(k.min(n));
        while order.len() < k {
            let full = |i: usize| {
                self.max_per_category.is_some_and(|cap| {
                    candidates
                        .categories
                        .of(i)
                        .iter()
                        .any(|&c| counts[c as usize] >= cap)
                })
            };
            for i in 0..n {
                if open[i] {
                    gains[i] = self.marginal_gain(candidates, i, &counts);
                }
            }
            let Some(best) = argmax_where(&gains, |i| open[i] && !full(i)) else {
                break;
            };
            open[best] = false;
            for &c in candidates.categories.of(best) {
                counts[c as usize] += 1;
            }
            order.push(best);
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rerank::random_candidates;

    #[test]
    fn gains_never_grow_as_the_list_grows() {
        let set = random_candidates(50, 4, 6, 1);
        let config = SubmodularConfig::default();
        let list = config.rerank(&set, 20);
        let mut counts = vec![0u32; set.categories.id_bound()];
        let mut before: Vec<f32> = (0..set.len())
            .map(|i| config.marginal_gain(&set, i, &counts))
            .collect();
        for &picked in &list {
            for &c in set.categories.of(picked) {
                counts[c as usize] += 1;
            }
            for (i, b) in before.iter_mut().enumerate() {
                let now = config.marginal_gain(&set, i, &counts);
                assert!(now <= *b + 1e-6, "diminishing returns");
                *b = now;
            }
        }
    }

    #[test]
    fn greedy_is_within_one_minus_one_over_e_of_the_best_list() {
        let set = random_candidates(12, 4, 4, 2);
        let config = SubmodularConfig {
            lambda: 0.5,
            ..Default::default()
        };
        let greedy = config.value(&set, &config.rerank(&set, 4));
        let mut best = 0f32;
        for mask in 0u32..(1 << 12) {
            if mask.count_ones() == 4 {
                let list: Vec<usize> = (0..12).filter(|&i| mask >> i & 1 == 1).collect();
                best = best.max(config.value(&set, &list));
            }
        }
        assert!(greedy >= (1.0 - (-1f32).exp()) * best && greedy <= best + 1e-5);
    }

    #[test]
    fn the_cap_and_the_coverage_reward_hold() {
        // Category 0 has the four best scores; a large λ spreads the list.
        let set = CandidateSet {
            scores: vec![0.9, 0.8, 0.7, 0.6, 0.2, 0.1],
            vectors: Vec::new(),
            dim: 0,
            categories: crate::rerank::Categories::from_lists([
                vec![0],
                vec![0],
                vec![0],
                vec![0],
                vec![1],
                vec![2],
            ]),
        };
        // decay 0: only a category's first item is rewarded.
        let spread = SubmodularConfig {
            lambda: 1.0,
            decay: 0.0,
            ..Default::default()
        };
        assert_eq!(spread.rerank(&set, 3), vec![0, 4, 5]);
        // decay 0.5: a second item of category 0 (0.8 + 0.5) beats a new
        // category's low score (0.2 + 1.0).
        let half = SubmodularConfig {
            lambda: 1.0,
            decay: 0.5,
            ..Default::default()
        };
        assert_eq!(half.rerank(&set, 3), vec![0, 1, 4]);
        let by_score = SubmodularConfig {
            lambda: 0.0,
            ..Default::default()
        };
        assert_eq!(by_score.rerank(&set, 3), vec![0, 1, 2]);
        let capped = SubmodularConfig {
            lambda: 0.0,
            max_per_category: Some(2),
            ..Default::default()
        };
        assert_eq!(
            capped.rerank(&set, 5),
            vec![0, 1, 4, 5],
            "no third of category 0"
        );
    }
}
