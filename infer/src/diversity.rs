//! Diversity of a recommended list, reported beside its accuracy.
//!
//! - `categories`: distinct categories shown;
//! - `entropy`: Shannon entropy (bits) of the category distribution over
//!   the list (an item with several categories counts once for each);
//! - `ild`: intra-list distance, the mean of `1 − cos(v_i, v_j)` over pairs;
//! - `interest_coverage`: share of the user's main interests (their
//!   `main_interests` most frequent history categories) the list shows;
//! - `interest_fraction`: share of the list's items in a main interest.

use serde::{Deserialize, Serialize};

/// One list's diversity, or a mean over lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DiversityMetrics {
    pub categories: f64,
    pub entropy: f64,
    pub ild: f64,
    pub interest_coverage: f64,
    pub interest_fraction: f64,
}

/// The `m` most frequent categories of a history (ties: lower id first).
pub fn main_interests<'a>(history: impl IntoIterator<Item = &'a [u32]>, m: usize) -> Vec<u32> {
    let mut counts: Vec<(u32, u32)> = Vec::new(); // (category, count)
    for cats in history {
        for &c in cats {
            match counts.iter_mut().find(|(k, _)| *k == c) {
                Some((_, n)) => *n += 1,
                None => counts.push((c, 1)),
            }
        }
    }
    counts.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts.into_iter().take(m).map(|(c, _)| c).collect()
}

impl DiversityMetrics {
    /// Metrics of one list, given each item's categories and unit vector
    /// (in list order) and the user's main interests.
    pub fn of_list(categories: &[&[u32]], vectors: &[&[f32]], interests: &[u32]) -> Self {
        let mut counts: Vec<(u32, u32)> = Vec::new();
        for cats in categories {
            for &c in *cats {
                match counts.iter_mut().find(|(k, _)| *k == c) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((c, 1)),
                }
            }
        }
        let total: u32 = counts.iter().map(|(_, n)| n).sum();
        let entropy = counts
            .iter()
            .map(|&(_, n)| {
                let p = f64::from(n) / f64::from(total);
                -p * p.log2()
            })
            .sum::<f64>();
        let mut pairs = 0usize;
        let mut distance = 0.0f64;
        for i in 0..vectors.len() {
            for j in i + 1..vectors.len() {
                distance += 1.0 - f64::from(ember_ann::vectors::dot(vectors[i], vectors[j]));
                pairs += 1;
            }
        }
        let shown = |c: &u32| counts.iter().any(|(k, _)| k == c);
        let covered = interests.iter().filter(|c| shown(c)).count();
        let in_interest = categories
            .iter()
            .filter(|cats| cats.iter().any(|c| interests.contains(c)))
            .count();
        Self {
            categories: counts.len() as f64,
            entropy: entropy.max(0.0),
            ild: if pairs == 0 {
                0.0
            } else {
                distance / pairs as f64
            },
            interest_coverage: if interests.is_empty() {
                0.0
            } else {
                covered as f64 / interests.len() as f64
            },
            interest_fraction: if categories.is_empty() {
                0.0
            } else {
                in_interest as f64 / categories.len() as f64
            },
        }
    }

    /// The mean of several lists' metrics.
    pub fn mean(lists: &[DiversityMetrics]) -> Self {
        let n = lists.len().max(1) as f64;
        let sum = |f: fn(&DiversityMetrics) -> f64| lists.iter().map(f).sum::<f64>() / n;
        Self {
            categories: sum(|m| m.categories),
            entropy: sum(|m| m.entropy),
            ild: sum(|m| m.ild),
            interest_coverage: sum(|m| m.interest_coverage),
            interest_fraction: sum(|m| m.interest_fraction),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_list() {
        // Items: {0}, {0, 1}, {2}, {0}: counts 0→3, 1→1, 2→1 of 5.
        let cats: [&[u32]; 4] = [&[0], &[0, 1], &[2], &[0]];
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let vectors: [&[f32]; 4] = [&[1.0, 0.0], &[0.0, 1.0], &[s, s], &[1.0, 0.0]];
        let m = DiversityMetrics::of_list(&cats, &vectors, &[0, 3]);
        assert_eq!(m.categories, 3.0);
        let h = -(0.6f64 * 0.6f64.log2() + 2.0 * 0.2 * 0.2f64.log2());
        assert!((m.entropy - h).abs() < 1e-9, "{} vs {h}", m.entropy);
        // Pairs (cosines): 01 0, 02 s, 03 1, 12 s, 13 0, 23 s → Σ(1−cos) = 6 − 3s − 1.
        let ild = (6.0 - 3.0 * f64::from(s) - 1.0) / 6.0;
        assert!((m.ild - ild).abs() < 1e-6, "{} vs {ild}", m.ild);
        assert_eq!(m.interest_coverage, 0.5, "interest 0 shown, 3 not");
        assert_eq!(m.interest_fraction, 0.75, "three of four items are in 0");
    }

    #[test]
    fn main_interests_by_frequency_then_id() {
        let history: [&[u32]; 4] = [&[5, 1], &[1], &[5], &[2]];
        assert_eq!(main_interests(history, 2), vec![1, 5]);
        assert_eq!(main_interests(history, 9), vec![1, 5, 2]);
        let one = DiversityMetrics::of_list(&[&[4]], &[&[1.0]], &[]);
        assert_eq!(
            (one.entropy, one.ild, one.interest_coverage),
            (0.0, 0.0, 0.0)
        );
        let mean = DiversityMetrics::mean(&[
            DiversityMetrics {
                categories: 2.0,
                ..Default::default()
            },
            DiversityMetrics::default(),
        ]);
        assert_eq!(mean.categories, 1.0);
    }
}
