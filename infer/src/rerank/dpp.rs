//! DPP re-ranking: MAP inference of a determinantal point process.
//!
//! The kernel is `L = diag(q) · S · diag(q)`: `S_ij` is the cosine of the
//! item vectors (plus `jitter` on the diagonal, so `S` is positive definite
//! even when there are more candidates than dimensions) and
//! `q_i = exp(α · score_i)` the quality. With `α = θ / (2(1 − θ))`, the log
//! determinant of a list is `θ/(1−θ) · Σ score + log det S`: `theta` in
//! [0, 1) trades relevance (→ 1) against diversity (→ 0) (Chen et al. §5).
//!
//! [`fast_greedy_map`] is Algorithm 1 of Chen, Zhang & Zhou (NeurIPS 2018):
//! the greedy choice `argmax log det(L_{Y∪{i}})` needs only `d_i²`, the
//! squared last diagonal entry of the Cholesky factor of `L_{Y∪{i}}`, and
//! each selection updates every `d_i²` with one new Cholesky column, here
//! computed from the kernel's factor: `O(N·k·dim)` for `k` of `N`, never
//! materialising `L`.
//! [`naive_greedy_map`] recomputes every log-determinant from scratch; it is
//! the reference the fast one is tested and benchmarked against.

use anyhow::{Result, bail};
use ember_ann::vectors::{dot, dots};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{CandidateSet, argmax_where};

fn default_theta() -> f32 {
    0.7
}
fn default_jitter() -> f32 {
    1e-3
}
fn default_epsilon() -> f32 {
    1e-9
}

/// `[rerank] kind = "dpp"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DppConfig {
    /// Relevance weight in [0, 1): 0 = only diversity, → 1 = only score.
    #[serde(default = "default_theta")]
    pub theta: f32,
    /// Added to the similarity's diagonal (keeps it positive definite).
    #[serde(default = "default_jitter")]
    pub jitter: f32,
    /// Stop when the best candidate's `d²` falls below this (its item would
    /// make the selection's kernel singular).
    #[serde(default = "default_epsilon")]
    pub epsilon: f32,
}

impl Default for DppConfig {
    fn default() -> Self {
        Self {
            theta: default_theta(),
            jitter: default_jitter(),
            epsilon: default_epsilon(),
        }
    }
}

impl DppConfig {
    pub fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.theta) {
            bail!("rerank.theta = {}: must be in [0, 1)", self.theta);
        }
        if !(self.jitter >= 0.0 && self.jitter.is_finite()) {
            bail!("rerank.jitter = {}: must be ≥ 0", self.jitter);
        }
        if !(self.epsilon >= 0.0 && self.epsilon.is_finite()) {
            bail!("rerank.epsilon = {}: must be ≥ 0", self.epsilon);
        }
        Ok(())
    }

    /// The exponent `α` of `q = exp(α · score)`.
    pub fn alpha(&self) -> f32 {
        self.theta / (2.0 * (1.0 - self.theta))
    }

    pub fn rerank(&self, candidates: &CandidateSet, k: usize) -> Vec<usize> {
        let kernel = DppKernel::new(candidates, self.alpha(), self.jitter);
        fast_greedy_map(&kernel, k, self.epsilon)
    }
}

/// `L = diag(q) · (V Vᵀ + jitter · I) · diag(q)`, entries computed on demand.
pub struct DppKernel<'a> {
    quality: Vec<f32>,
    vectors: &'a [f32],
    dim: usize,
    jitter: f32,
}

impl<'a> DppKernel<'a> {
    /// Scores are centred on their maximum before `exp` so that the
    /// qualities stay in (0, 1] whatever the score scale (this only
    /// multiplies every determinant of a given size by the same constant,
    /// which leaves the greedy choices unchanged).
    pub fn new(candidates: &'a CandidateSet, alpha: f32, jitter: f32) -> Self {
        let top = candidates
            .scores
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max);
        Self {
            quality: candidates
                .scores
                .iter()
                .map(|&s| (alpha * (s - top)).exp())
                .collect(),
            vectors: &candidates.vectors,
            dim: candidates.dim,
            jitter,
        }
    }

    pub fn len(&self) -> usize {
        self.quality.len()
    }

    pub fn is_empty(&self) -> bool {
        self.quality.is_empty()
    }

    fn vector(&self, i: usize) -> &[f32] {
        &self.vectors[i * self.dim..(i + 1) * self.dim]
    }

    /// `L_ij`.
    #[inline]
    pub fn entry(&self, i: usize, j: usize) -> f32 {
        let s = dot(self.vector(i), self.vector(j)) + if i == j { self.jitter } else { 0.0 };
        self.quality[i] * s * self.quality[j]
    }
}

/// Candidates per parallel task in a selection step.
const CHUNK: usize = 512;

/// Greedy MAP by incremental Cholesky updates (Chen et al., Algorithm 1):
/// up to `k` indices in selection order.
///
/// Each selection of `j` adds one column to the Cholesky factor of the
/// selection's kernel, `e_i = (L_ji − ⟨c_j, c_i⟩) / d_j` for every
/// candidate `i`, and lowers `d_i² −= e_i²`. Algorithm 1 computes `e` from
/// the stored columns, `O(N·t)` more work at the `t`-th step. Our kernel
/// has a factor, `L_ij = q_i q_j ⟨w_i, w_j⟩` with `w_i = (v_i, √jitter·δ_i)`,
/// so the same column is `e_i = q_i ⟨u, w_i⟩` for `u` the Gram-Schmidt
/// direction that `w_j` adds to the span of the selected `w`'s (expand
/// `⟨c_j, c_i⟩` as a sum over that orthonormal basis). For an unselected
/// `i` the jitter coordinate of `w_i` is outside the span, so
/// `e_i = q_i ⟨u_v, v_i⟩`: one matrix-vector product `V u_v` per selection,
/// `O(N·dim)`, and no stored columns at all.
pub fn fast_greedy_map(kernel: &DppKernel, k: usize, epsilon: f32) -> Vec<usize> {
    let n = kernel.len();
    let k = k.min(n);
    if k == 0 {
        return Vec::new();
    }
    let dim = kernel.dim;
    let mut d2: Vec<f32> = (0..n).map(|i| kernel.entry(i, i)).collect();
    let mut open = vec![true; n];
    let mut selected = Vec::with_capacity(k);
    let mut basis = SelectionBasis::new(dim, kernel.jitter.sqrt(), k);
    let mut e = vec![0f32; n];
    let Some(mut j) = argmax_where(&d2, |_| true) else {
        return selected;
    };
    loop {
        // Also stops on NaN and on an exact 0 with epsilon 0.
        if d2[j].is_nan() || d2[j] <= 0.0 || d2[j] < epsilon {
            break;
        }
        selected.push(j);
        open[j] = false;
        if selected.len() == k {
            break;
        }
        let u = basis.push(kernel.vector(j));
        // Candidates are independent here: chunks of them go to the cores.
        let update = |base: usize, e: &mut [f32], d2: &mut [f32]| {
            let rows = &kernel.vectors[base * dim..(base + e.len()) * dim];
            dots(u, rows, e);
            for (o, (ei, d)) in e.iter().zip(d2.iter_mut()).enumerate() {
                if open[base + o] {
                    let c = kernel.quality[base + o] * ei;
                    *d -= c * c;
                }
            }
        };
        e.par_chunks_mut(CHUNK)
            .zip(d2.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(chunk, (e, d2))| update(chunk * CHUNK, e, d2));
        match argmax_where(&d2, |i| open[i]) {
            Some(next) => j = next,
            None => break,
        }
    }
    selected
}

/// An orthonormal basis of the selected items' `w = (v, √jitter·δ)`, in
/// selection order. A basis vector has an item-vector part (`dim` values)
/// and a jitter part, which is nonzero only on the coordinates of items
/// selected so far (the `p`-th vector has `p + 1` of them).
struct SelectionBasis {
    dim: usize,
    sqrt_jitter: f32,
    vector_parts: Vec<f32>,
    jitter_parts: Vec<Vec<f32>>,
}

impl SelectionBasis {
    fn new(dim: usize, sqrt_jitter: f32, capacity: usize) -> Self {
        Self {
            dim,
            sqrt_jitter,
            vector_parts: Vec::with_capacity(capacity * dim),
            jitter_parts: Vec::with_capacity(capacity),
        }
    }

    /// Adds the selected item with vector `v` and returns the new basis
    /// vector's item-vector part. Gram-Schmidt runs twice ("twice is
    /// enough", Giraud et al. 2005) so the basis stays orthogonal in f32;
    /// it is `O(t·(dim + t))`, nothing beside the `O(N·dim)` update.
    fn push(&mut self, v: &[f32]) -> &[f32] {
        let t = self.jitter_parts.len();
        let mut rv = v.to_vec();
        let mut rj = vec![0f32; t + 1];
        rj[t] = self.sqrt_jitter;
        for _ in 0..2 {
            for (p, bj) in self.jitter_parts.iter().enumerate() {
                let bv = &self.vector_parts[p * self.dim..(p + 1) * self.dim];
                let c = dot(bv, &rv) + dot(bj, &rj[..=p]);
                rv.iter_mut().zip(bv).for_each(|(r, b)| *r -= c * b);
                rj.iter_mut().zip(bj).for_each(|(r, b)| *r -= c * b);
            }
        }
        let norm = (dot(&rv, &rv) + dot(&rj, &rj)).sqrt();
        // The caller only selects items with d² > 0, whose w is outside the
        // span; the guard keeps a rounding-level norm from making infinities.
        let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        self.vector_parts.extend(rv.iter().map(|x| x * inv));
        self.jitter_parts.push(rj.iter().map(|x| x * inv).collect());
        &self.vector_parts[t * self.dim..]
    }
}

/// Log-determinant of the symmetric positive definite matrix `a` (`m × m`,
/// row-major) by Cholesky; `None` when it is not positive definite.
fn log_det(a: &[f64], m: usize) -> Option<f64> {
    let mut l = vec![0f64; m * m];
    let mut log_det = 0.0;
    for i in 0..m {
        for j in 0..=i {
            let mut s = a[i * m + j];
            for p in 0..j {
                s -= l[i * m + p] * l[j * m + p];
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * m + i] = s.sqrt();
                log_det += s.ln();
            } else {
                l[i * m + j] = s / l[j * m + j];
            }
        }
    }
    Some(log_det)
}

/// Greedy MAP recomputing `log det(L_{Y∪{i}})` of every candidate from
/// scratch at every step (in f64): the definition, `O(N·k⁴)`. Stops, like
/// the fast version, when the best gain `det(L_{Y∪{i}}) / det(L_Y)` falls
/// below `epsilon`.
pub fn naive_greedy_map(kernel: &DppKernel, k: usize, epsilon: f32) -> Vec<usize> {
    let n = kernel.len();
    let k = k.min(n);
    let mut selected: Vec<usize> = Vec::with_capacity(k);
    let mut current = 0.0f64; // log det of the empty selection
    let mut sub = Vec::with_capacity((k + 1) * (k + 1));
    while selected.len() < k {
        let m = selected.len() + 1;
        let mut best: Option<(usize, f64)> = None;
        for i in 0..n {
            if selected.contains(&i) {
                continue;
            }
            sub.clear();
            for &a in selected.iter().chain(std::iter::once(&i)) {
                for &b in selected.iter().chain(std::iter::once(&i)) {
                    sub.push(f64::from(kernel.entry(a, b)));
                }
            }
            let Some(ld) = log_det(&sub, m) else {
                continue;
            };
            if best.is_none_or(|(_, b)| ld > b) {
                best = Some((i, ld));
            }
        }
        match best {
            Some((i, ld)) if (ld - current).exp() >= f64::from(epsilon) => {
                selected.push(i);
                current = ld;
            }
            _ => break,
        }
    }
    selected
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rerank::random_candidates;

    #[test]
    fn fast_greedy_selects_what_naive_greedy_selects() {
        for seed in 0..20 {
            let set = random_candidates(60, 16, 5, seed);
            for theta in [0.0, 0.5, 0.9] {
                let config = DppConfig {
                    theta,
                    ..Default::default()
                };
                let kernel = DppKernel::new(&set, config.alpha(), config.jitter);
                let fast = fast_greedy_map(&kernel, 12, config.epsilon);
                let naive = naive_greedy_map(&kernel, 12, config.epsilon);
                assert_eq!(fast, naive, "seed {seed}, theta {theta}");
                assert_eq!(fast.len(), 12);
            }
        }
    }

    #[test]
    fn more_items_than_dimensions_still_selects_with_jitter() {
        // Rank-4 similarity, 10 picks: the jitter keeps the kernel definite.
        let set = random_candidates(30, 4, 3, 7);
        let config = DppConfig::default();
        let kernel = DppKernel::new(&set, config.alpha(), config.jitter);
        let fast = fast_greedy_map(&kernel, 10, config.epsilon);
        assert_eq!(fast, naive_greedy_map(&kernel, 10, config.epsilon));
        assert_eq!(fast.len(), 10);
        // Without jitter the kernel has rank 4: greedy stops there.
        let kernel = DppKernel::new(&set, config.alpha(), 0.0);
        assert!(fast_greedy_map(&kernel, 10, 1e-4).len() <= 4);
    }

    #[test]
    fn vectors_of_dimension_zero_select_by_quality_alone() {
        // S = jitter · I: every pick is independent of the others.
        let set = CandidateSet {
            scores: vec![0.2, 0.9, 0.5, 0.7],
            vectors: Vec::new(),
            dim: 0,
            categories: crate::rerank::Categories::from_lists([[0], [0], [1], [1]]),
        };
        let config = DppConfig::default();
        let kernel = DppKernel::new(&set, config.alpha(), config.jitter);
        let fast = fast_greedy_map(&kernel, 3, 0.0);
        assert_eq!(fast, vec![1, 3, 2]);
        assert_eq!(fast, naive_greedy_map(&kernel, 3, 0.0));
    }

    #[test]
    fn theta_trades_relevance_for_diversity() {
        // Two near-duplicates with the best scores and one distinct item.
        let set = CandidateSet {
            scores: vec![0.9, 0.89, 0.5],
            vectors: vec![1.0, 0.0, 0.999, 0.0447, 0.0, 1.0],
            dim: 2,
            categories: crate::rerank::Categories::from_lists([[0], [0], [1]]),
        };
        let pick = |theta| {
            DppConfig {
                theta,
                ..Default::default()
            }
            .rerank(&set, 2)
        };
        assert_eq!(pick(0.3), vec![0, 2], "diversity: the distinct item second");
        assert_eq!(pick(0.99), vec![0, 1], "relevance: the two best");
        assert!(
            DppConfig {
                theta: 1.0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }
}
