//! Full-corpus retrieval metrics: every user's held-out item is ranked
//! against all items, the user's train items excluded (PROTOCOLS.md,
//! ml100k-retrieval). One relevant item per user, so Recall@K = HitRate@K.

use anyhow::Result;
use ember_ann::{HnswIndex, VectorSet, exact_top_k, top_k_by};
use ember_datasets::EvalSplit;
use ember_models::metrics::RetrievalMetrics;

/// Share of the exact top-`k` lists of the query vectors `users`
/// (row-major) that `index` finds.
pub fn index_recall(index: &HnswIndex, items: &VectorSet, users: &[f32], k: usize) -> Result<f64> {
    let d = items.dim();
    let (mut hits, mut total) = (0usize, 0usize);
    for q in users.chunks_exact(d) {
        let exact = exact_top_k(items, q, k, |_| false)?;
        let approx = index.search(q, k)?;
        hits += approx
            .iter()
            .filter(|a| exact.iter().any(|e| e.id == a.id))
            .count();
        total += exact.len();
    }
    Ok(hits as f64 / total.max(1) as f64)
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
