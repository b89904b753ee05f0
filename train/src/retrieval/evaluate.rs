//! Full-corpus retrieval metrics: every user's held-out item is ranked
//! against all items, the user's train items excluded (PROTOCOLS.md,
//! ml100k-retrieval). One relevant item per user, so Recall@K = HitRate@K.

use anyhow::Result;
use ember_ann::{VectorSet, exact_top_k, top_k_by};
use ember_datasets::EvalSplit;
use serde::{Deserialize, Serialize};

use crate::metrics::{hit_rate_at_k, ndcg_at_k, recall_at_k};

/// Averages over users at one cut-off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TopKMetrics {
    pub k: usize,
    pub recall: f64,
    pub hit_rate: f64,
    pub ndcg: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetrievalMetrics {
    pub users: usize,
    pub at: Vec<TopKMetrics>,
}

impl RetrievalMetrics {
    pub fn at_k(&self, k: usize) -> Option<&TopKMetrics> {
        self.at.iter().find(|m| m.k == k)
    }

    /// Averages the metrics of ranked lists (best first) against each
    /// user's relevant items, at every cut-off in `ks`.
    pub fn of(ranked: &[Vec<u32>], relevant: &[Vec<u32>], ks: &[usize]) -> Self {
        let n = ranked.len().max(1) as f64;
        let at = ks
            .iter()
            .map(|&k| {
                let mean = |f: fn(&[u32], &[u32], usize) -> f64| {
                    ranked
                        .iter()
                        .zip(relevant)
                        .map(|(r, rel)| f(r, rel, k))
                        .sum::<f64>()
                        / n
                };
                TopKMetrics {
                    k,
                    recall: mean(recall_at_k),
                    hit_rate: mean(hit_rate_at_k),
                    ndcg: mean(ndcg_at_k),
                }
            })
            .collect();
        Self {
            users: ranked.len(),
            at,
        }
    }
}

impl std::fmt::Display for RetrievalMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, m) in self.at.iter().enumerate() {
            if i > 0 {
                write!(f, " | ")?;
            }
            write!(
                f,
                "Recall@{k} {:.4} HR@{k} {:.4} NDCG@{k} {:.4}",
                m.recall,
                m.hit_rate,
                m.ndcg,
                k = m.k
            )?;
        }
        write!(f, " ({} users)", self.users)
    }
}

fn relevant(split: &EvalSplit) -> Vec<Vec<u32>> {
    split.targets.iter().map(|&t| vec![t]).collect()
}

/// Ranks the corpus for every query by exact inner product of its user
/// vector (row-major `[queries, d]`) with the item vectors, seen items excluded.
pub fn evaluate_vectors(
    split: &EvalSplit,
    user_vectors: &[f32],
    items: &VectorSet,
    ks: &[usize],
) -> Result<RetrievalMetrics> {
    let k_max = ks.iter().copied().max().unwrap_or(0);
    let d = items.dim();
    let ranked = (0..split.len())
        .map(|q| {
            let seen = &split.seen[q];
            let top = exact_top_k(items, &user_vectors[q * d..(q + 1) * d], k_max, |i| {
                seen.binary_search(&i).is_ok()
            })?;
            Ok(top.into_iter().map(|n| n.id).collect())
        })
        .collect::<Result<Vec<Vec<u32>>>>()?;
    Ok(RetrievalMetrics::of(&ranked, &relevant(split), ks))
}

/// The most-popular baseline: every user gets the items with the most train
/// positives (ties: lower corpus row first), seen items excluded.
pub fn evaluate_most_popular(split: &EvalSplit, counts: &[u64], ks: &[usize]) -> RetrievalMetrics {
    let k_max = ks.iter().copied().max().unwrap_or(0);
    let ranked: Vec<Vec<u32>> = (0..split.len())
        .map(|q| {
            let seen = &split.seen[q];
            top_k_by(
                counts.len(),
                k_max,
                |i| counts[i as usize] as f32,
                |i| seen.binary_search(&i).is_ok(),
            )
            .into_iter()
            .map(|n| n.id)
            .collect()
        })
        .collect();
    RetrievalMetrics::of(&ranked, &relevant(split), ks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_popular_skips_seen_items_and_scores_by_hand() {
        // Items by popularity: 2 (9), 0 (5), 3 (4), 1 (1).
        let counts = [5, 1, 9, 4];
        let split = EvalSplit {
            users: vec![10, 11],
            targets: vec![0, 3],
            // User 10 has seen item 2, so item 0 ranks first; user 11 saw nothing.
            seen: vec![vec![2], vec![]],
            ..Default::default()
        };
        let m = evaluate_most_popular(&split, &counts, &[1, 3]);
        let at1 = m.at_k(1).unwrap();
        assert_eq!((at1.recall, at1.hit_rate, at1.ndcg), (0.5, 0.5, 0.5));
        let at3 = m.at_k(3).unwrap();
        // User 11 finds item 3 at rank 3: NDCG 1/log2(4) = 0.5.
        assert_eq!(at3.recall, 1.0);
        assert!((at3.ndcg - (1.0 + 0.5) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn vectors_rank_by_inner_product() {
        let items = VectorSet::new(2, vec![1.0, 0.0, 0.0, 1.0, 0.6, 0.8]).unwrap();
        let split = EvalSplit {
            users: vec![1],
            targets: vec![2],
            seen: vec![vec![1]],
            ..Default::default()
        };
        // The user points at item 1 (seen, so excluded); item 2 comes next.
        let m = evaluate_vectors(&split, &[0.0, 1.0], &items, &[1]).unwrap();
        assert_eq!(m.at_k(1).unwrap().hit_rate, 1.0);
    }
}
