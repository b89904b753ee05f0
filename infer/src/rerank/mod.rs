//! Re-rankers: the last stage of the pipeline turns the fine ranker's
//! scored candidates into the list shown, trading a little relevance for
//! diversity.
//!
//! Every re-ranker reads the same [`CandidateSet`] (relevance scores, unit
//! item vectors, categories) and returns candidate indices in display
//! order. They are configured from the pipeline TOML's `[rerank]` table:
//!
//! - `dpp`: MAP inference of a determinantal point process by fast greedy
//!   with incremental Cholesky updates (Chen, Zhang & Zhou, NeurIPS 2018);
//! - `submodular`: greedy maximisation of relevance plus a per-category
//!   coverage reward with diminishing returns;
//! - `rules`: at most `max_per_category` items of any category in every
//!   `window` consecutive slots;
//! - `none`: the fine ranker's order.

pub mod dpp;
pub mod rules;
pub mod submodular;

use anyhow::{Result, bail};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

pub use dpp::{DppConfig, DppKernel, fast_greedy_map, naive_greedy_map};
pub use rules::RulesConfig;
pub use submodular::SubmodularConfig;

/// Categories of each candidate in CSR layout: candidate `i` has
/// `ids[offsets[i]..offsets[i + 1]]` (an item may have several, or none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Categories {
    pub offsets: Vec<usize>,
    pub ids: Vec<u32>,
}

impl Categories {
    /// From one category list per candidate.
    pub fn from_lists<I, L>(lists: I) -> Self
    where
        I: IntoIterator<Item = L>,
        L: IntoIterator<Item = u32>,
    {
        let mut out = Categories {
            offsets: vec![0],
            ids: Vec::new(),
        };
        for list in lists {
            out.ids.extend(list);
            out.offsets.push(out.ids.len());
        }
        out
    }

    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Categories of candidate `i`.
    pub fn of(&self, i: usize) -> &[u32] {
        &self.ids[self.offsets[i]..self.offsets[i + 1]]
    }

    /// One more than the largest category id (the size of a count table).
    pub fn id_bound(&self) -> usize {
        self.ids.iter().max().map_or(0, |&m| m as usize + 1)
    }
}

/// What a re-ranker sees of the candidates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CandidateSet {
    /// Relevance of each candidate (the fine ranker's score).
    pub scores: Vec<f32>,
    /// Unit item vectors, row-major `[n, dim]` (the similarity of the DPP
    /// kernel and of the intra-list distance).
    pub vectors: Vec<f32>,
    pub dim: usize,
    pub categories: Categories,
}

impl CandidateSet {
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    pub fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// Checks that the columns agree (a pipeline bug otherwise, but an
    /// error rather than a panic on the serving path).
    pub fn check(&self) -> Result<()> {
        let n = self.scores.len();
        if self.vectors.len() != n * self.dim {
            bail!(
                "candidate set: {} vector values for {n} candidates of dimension {}",
                self.vectors.len(),
                self.dim
            );
        }
        if self.categories.len() != n {
            bail!(
                "candidate set: categories for {} candidates, scores for {n}",
                self.categories.len()
            );
        }
        Ok(())
    }

    /// Indices sorted by descending score (ties by index): the order
    /// without re-ranking.
    pub fn by_score(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| self.scores[b].total_cmp(&self.scores[a]).then(a.cmp(&b)));
        order
    }
}

/// The `[rerank]` table of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RerankerConfig {
    /// The fine ranker's order.
    #[default]
    None,
    Dpp(DppConfig),
    Submodular(SubmodularConfig),
    Rules(RulesConfig),
}

impl RerankerConfig {
    pub fn name(&self) -> &'static str {
        match self {
            RerankerConfig::None => "none",
            RerankerConfig::Dpp(_) => "dpp",
            RerankerConfig::Submodular(_) => "submodular",
            RerankerConfig::Rules(_) => "rules",
        }
    }

    /// Parameters out of range are an error naming the field.
    pub fn validate(&self) -> Result<()> {
        match self {
            RerankerConfig::None => Ok(()),
            RerankerConfig::Dpp(c) => c.validate(),
            RerankerConfig::Submodular(c) => c.validate(),
            RerankerConfig::Rules(c) => c.validate(),
        }
    }

    /// Up to `k` candidate indices in display order.
    pub fn rerank(&self, candidates: &CandidateSet, k: usize) -> Result<Vec<usize>> {
        candidates.check()?;
        Ok(match self {
            RerankerConfig::None => {
                let mut order = candidates.by_score();
                order.truncate(k);
                order
            }
            RerankerConfig::Dpp(c) => c.rerank(candidates, k),
            RerankerConfig::Submodular(c) => c.rerank(candidates, k),
            RerankerConfig::Rules(c) => c.rerank(candidates, k).order,
        })
    }
}

/// Index of the largest value among `values[i]` with `open(i)`, lowest index
/// on ties (so every greedy re-ranker is deterministic).
pub(crate) fn argmax_where(values: &[f32], open: impl Fn(usize) -> bool) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &v) in values.iter().enumerate() {
        // A NaN is never the best (it compares false with everything, so
        // it would otherwise stay best wherever it came first).
        if open(i) && !v.is_nan() && best.is_none_or(|b| v > values[b]) {
            best = Some(i);
        }
    }
    best
}

/// Seeded synthetic candidates (tests and the benchmark): scores in
/// [0, 1), random unit vectors, 1–3 of `cats` categories each.
pub fn random_candidates(n: usize, dim: usize, cats: u32, seed: u64) -> CandidateSet {
    let mut rng = SmallRng::seed_from_u64(seed);
    let scores = (0..n).map(|_| rng.random::<f32>()).collect();
    let mut vectors: Vec<f32> = (0..n * dim).map(|_| rng.random::<f32>() - 0.5).collect();
    for v in vectors.chunks_exact_mut(dim) {
        ember_ann::vectors::normalise(v);
    }
    let categories = Categories::from_lists((0..n).map(|_| {
        let count = rng.random_range(1..=3);
        let mut list: Vec<u32> = (0..count).map(|_| rng.random_range(0..cats)).collect();
        list.sort_unstable();
        list.dedup();
        list
    }));
    CandidateSet {
        scores,
        vectors,
        dim,
        categories,
    }
}
