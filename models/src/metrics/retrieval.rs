//! Top-K retrieval metrics averaged over users.

use serde::{Deserialize, Serialize};

use super::{hit_rate_at_k, ndcg_at_k, recall_at_k};

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
