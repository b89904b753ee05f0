//! Exact top-K by inner product: a scan of every vector with a bounded heap.
//! The reference the ANN index is measured against, and the search for
//! corpora small enough that a scan is already fast.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use anyhow::Result;

use crate::Neighbour;
use crate::vectors::{VectorSet, dots};

/// Orders by score, then prefers the lower id, so ties break deterministically.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ranked(Neighbour);

impl Eq for Ranked {}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .score
            .total_cmp(&other.0.score)
            .then_with(|| other.0.id.cmp(&self.0.id))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `k` vectors with the highest inner product with `query`, best first,
/// skipping rows for which `exclude(row)` is true.
pub fn exact_top_k(
    vectors: &VectorSet,
    query: &[f32],
    k: usize,
    exclude: impl Fn(u32) -> bool,
) -> Result<Vec<Neighbour>> {
    vectors.check_query(query)?;
    // Every score in one SIMD matrix-vector product, then the heap.
    let mut scores = vec![0f32; vectors.len()];
    dots(query, vectors.as_slice(), &mut scores);
    Ok(top_k_by(
        vectors.len(),
        k,
        |id| scores[id as usize],
        exclude,
    ))
}

/// The `k` of rows `0..n` with the highest `score(row)`, best first (ties:
/// lower row first), skipping rows for which `exclude(row)` is true.
pub fn top_k_by(
    n: usize,
    k: usize,
    score: impl Fn(u32) -> f32,
    exclude: impl Fn(u32) -> bool,
) -> Vec<Neighbour> {
    if k == 0 {
        return Vec::new();
    }
    // A min-heap of the best k so far: its top is the one to beat.
    let mut best: BinaryHeap<Reverse<Ranked>> = BinaryHeap::with_capacity(k + 1);
    for id in 0..n as u32 {
        let score = score(id);
        if best.len() == k && score <= best.peek().expect("k > 0").0.0.score {
            continue;
        }
        if exclude(id) {
            continue;
        }
        best.push(Reverse(Ranked(Neighbour { id, score })));
        if best.len() > k {
            best.pop();
        }
    }
    let mut out: Vec<Ranked> = best.into_iter().map(|Reverse(r)| r).collect();
    out.sort_unstable_by(|a, b| b.cmp(a));
    out.into_iter().map(|r| r.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vectors::dot;

    #[test]
    fn matches_a_full_sort_and_honours_exclusions() {
        let data: Vec<f32> = (0..50 * 4).map(|i| ((i * 37) % 23) as f32 - 11.0).collect();
        let set = VectorSet::new(4, data).unwrap();
        let q = [0.3, -1.0, 0.5, 2.0];
        let mut all: Vec<(u32, f32)> = (0..50).map(|i| (i, dot(&q, set.row(i as usize)))).collect();
        all.retain(|(i, _)| i % 3 != 0);
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let got = exact_top_k(&set, &q, 7, |i| i % 3 == 0).unwrap();
        let want: Vec<u32> = all[..7].iter().map(|p| p.0).collect();
        assert_eq!(got.iter().map(|n| n.id).collect::<Vec<_>>(), want);
        assert!(got.windows(2).all(|w| w[0].score >= w[1].score));
        // More than there are: everything not excluded.
        assert_eq!(
            exact_top_k(&set, &q, 1000, |i| i % 3 == 0).unwrap().len(),
            33
        );
        assert!(exact_top_k(&set, &q[..3], 5, |_| false).is_err());
    }
}
