//! Evaluation metrics, computed on the host from scores and labels: the
//! functions, and each family's per-split summary. Training reports them
//! and serving evaluates with them, so they live below both.

mod multitask;
mod paired_auc;
mod ranking;
mod retrieval;

pub use multitask::{MultiTaskMetrics, TaskMetrics};
pub use paired_auc::{PairedAuc, paired_auc};
pub use ranking::EvalMetrics;
pub use retrieval::{RetrievalMetrics, TopKMetrics};

use std::collections::HashMap;

/// Area under the ROC curve: the probability that a random positive scores
/// above a random negative, ties counting one half. O(n log n) by ranking.
/// `None` when the labels hold only one class.
pub fn auc(scores: &[f32], labels: &[f32]) -> Option<f64> {
    let ranks = paired_auc::midranks(scores);
    let (mut positives, mut negatives) = (0f64, 0f64);
    // Sum of the (average, 1-based) ranks of the positives.
    let mut rank_sum = 0f64;
    for (&rank, &label) in ranks.iter().zip(labels) {
        if label > 0.5 {
            positives += 1.0;
            rank_sum += rank;
        } else {
            negatives += 1.0;
        }
    }
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// Group AUC: the AUC within each group (user), averaged with weights equal
/// to the group's size, over groups that have both classes.
pub fn gauc(scores: &[f32], labels: &[f32], groups: &[u64]) -> Option<f64> {
    let mut members: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, &g) in groups.iter().enumerate() {
        members.entry(g).or_default().push(i);
    }
    let (mut weighted, mut weight) = (0f64, 0f64);
    for rows in members.values() {
        let s: Vec<f32> = rows.iter().map(|&i| scores[i]).collect();
        let l: Vec<f32> = rows.iter().map(|&i| labels[i]).collect();
        if let Some(a) = auc(&s, &l) {
            weighted += a * rows.len() as f64;
            weight += rows.len() as f64;
        }
    }
    (weight > 0.0).then(|| weighted / weight)
}

/// Mean binary cross-entropy of probabilities, clipped to [1e-7, 1 − 1e-7].
pub fn logloss(probs: &[f32], labels: &[f32]) -> f64 {
    let eps = 1e-7f64;
    let total: f64 = probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = (p as f64).clamp(eps, 1.0 - eps);
            let y = y as f64;
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    total / probs.len().max(1) as f64
}

/// Root mean squared error.
pub fn rmse(predictions: &[f32], targets: &[f32]) -> f64 {
    mse(predictions, targets).sqrt()
}

pub fn mse(predictions: &[f32], targets: &[f32]) -> f64 {
    let total: f64 = predictions
        .iter()
        .zip(targets)
        .map(|(&p, &t)| (p as f64 - t as f64).powi(2))
        .sum();
    total / predictions.len().max(1) as f64
}

/// Recall@K for one user: the share of relevant items among the top K.
pub fn recall_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    let hits = ranked
        .iter()
        .take(k)
        .filter(|i| relevant.contains(i))
        .count();
    hits as f64 / relevant.len() as f64
}

/// HitRate@K for one user: 1 if any relevant item is among the top K.
pub fn hit_rate_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    let hit = ranked.iter().take(k).any(|i| relevant.contains(i));
    if hit { 1.0 } else { 0.0 }
}

/// NDCG@K for one user with binary relevance.
pub fn ndcg_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, i)| relevant.contains(i))
        .map(|(rank, _)| 1.0 / (rank as f64 + 2.0).log2())
        .sum();
    let ideal: f64 = (0..relevant.len().min(k))
        .map(|rank| 1.0 / (rank as f64 + 2.0).log2())
        .sum();
    if ideal == 0.0 { 0.0 } else { dcg / ideal }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::SmallRng};

    /// AUC by counting every (positive, negative) pair.
    fn brute_force_auc(scores: &[f32], labels: &[f32]) -> f64 {
        let (mut wins, mut pairs) = (0f64, 0f64);
        for i in 0..scores.len() {
            for j in 0..scores.len() {
                if labels[i] > 0.5 && labels[j] < 0.5 {
                    pairs += 1.0;
                    wins += match scores[i].partial_cmp(&scores[j]).unwrap() {
                        std::cmp::Ordering::Greater => 1.0,
                        std::cmp::Ordering::Equal => 0.5,
                        std::cmp::Ordering::Less => 0.0,
                    };
                }
            }
        }
        wins / pairs
    }

    #[test]
    fn auc_matches_brute_force_pair_count_with_ties() {
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..20 {
            let n = rng.random_range(2..300);
            // Coarse scores so ties are common.
            let scores: Vec<f32> = (0..n)
                .map(|_| rng.random_range(0..20) as f32 / 20.0)
                .collect();
            let mut labels: Vec<f32> = (0..n).map(|_| rng.random_bool(0.3) as u8 as f32).collect();
            labels[0] = 1.0;
            labels[1] = 0.0;
            let fast = auc(&scores, &labels).unwrap();
            assert!((fast - brute_force_auc(&scores, &labels)).abs() < 1e-12);
        }
    }

    #[test]
    fn auc_extremes_and_one_class() {
        assert_eq!(auc(&[0.1, 0.9], &[0.0, 1.0]), Some(1.0));
        assert_eq!(auc(&[0.9, 0.1], &[0.0, 1.0]), Some(0.0));
        assert_eq!(auc(&[0.5, 0.5], &[0.0, 1.0]), Some(0.5));
        assert_eq!(auc(&[0.1, 0.2], &[1.0, 1.0]), None);
    }

    #[test]
    fn gauc_weights_groups_by_size_and_skips_one_class_groups() {
        // group 1: perfect (AUC 1, 2 rows); group 2: inverted (AUC 0, 4 rows); group 3: one class.
        let scores = [0.1, 0.9, 0.9, 0.8, 0.2, 0.1, 0.5];
        let labels = [0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let groups = [1, 1, 2, 2, 2, 2, 3];
        let g = gauc(&scores, &labels, &groups).unwrap();
        assert!((g - (1.0 * 2.0 + 0.0 * 4.0) / 6.0).abs() < 1e-12);
    }

    #[test]
    fn logloss_and_rmse_by_hand() {
        let ll = logloss(&[0.8, 0.3], &[1.0, 0.0]);
        let want = -(0.8f64.ln() + 0.7f64.ln()) / 2.0;
        assert!((ll - want).abs() < 1e-6);
        assert!((rmse(&[1.0, 3.0], &[2.0, 5.0]) - (2.5f64).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn ranking_metrics_by_hand() {
        let ranked = [5, 3, 9, 1];
        assert_eq!(recall_at_k(&ranked, &[9], 2), 0.0);
        assert_eq!(recall_at_k(&ranked, &[9], 3), 1.0);
        assert!((ndcg_at_k(&ranked, &[9], 3) - 0.5).abs() < 1e-12);
        assert_eq!(ndcg_at_k(&ranked, &[5], 10), 1.0);
        assert_eq!(hit_rate_at_k(&ranked, &[9, 7], 3), 1.0);
        assert_eq!(recall_at_k(&ranked, &[9, 7], 3), 0.5);
        assert_eq!(hit_rate_at_k(&ranked, &[9], 2), 0.0);
    }
}
