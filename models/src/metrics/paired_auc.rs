//! Two models' AUCs on the same rows, and whether their difference is more
//! than the rows' sampling noise: DeLong, DeLong & Clarke-Pearson (1988).
//!
//! Each model's AUC is the mean of its positives' placements,
//! `V10_i = P(x_i > Y)` (ties ½), and equally of its negatives',
//! `V01_j = P(X > y_j)`. The two models' placements are correlated (same
//! rows), and the variance of `AUC_a − AUC_b` is
//!
//! `Var = (S10_aa + S10_bb − 2 S10_ab) / m + (S01_aa + S01_bb − 2 S01_ab) / n`,
//!
//! with `S10`, `S01` the 2×2 sample covariances of the placements over the
//! `m` positives and the `n` negatives. The placements come from midranks
//! (Sun & Xu 2014), O(N log N) per model.
//!
//! It takes the rows as independent draws. Where they come in groups (a
//! user's positive and their sampled negatives) rows of a group tend to
//! move together and the true standard error is usually larger, so a
//! difference this test finds within the noise is no clearer by group.
//!
//! Written here rather than taken from a crate: no maintained Rust crate
//! has DeLong's test, and it is a few sorts on top of [`super::auc`]'s.

/// `AUC_a`, `AUC_b` and their difference's standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedAuc {
    pub auc_a: f64,
    pub auc_b: f64,
    /// `auc_a − auc_b`.
    pub difference: f64,
    /// DeLong's standard error of `difference`.
    pub standard_error: f64,
    pub positives: usize,
    pub negatives: usize,
}

impl PairedAuc {
    /// `difference / standard_error` (0 when both are 0: identical placements).
    pub fn z(&self) -> f64 {
        if self.standard_error > 0.0 {
            self.difference / self.standard_error
        } else {
            0.0
        }
    }

    /// The normal 95% interval of the difference, `d ± 1.96 SE`.
    pub fn interval_95(&self) -> (f64, f64) {
        let half = 1.959_964 * self.standard_error;
        (self.difference - half, self.difference + half)
    }
}

/// DeLong's paired comparison of `scores_a` and `scores_b` on the same rows.
/// Errors when the lengths differ or the labels hold one class only.
pub fn paired_auc(scores_a: &[f32], scores_b: &[f32], labels: &[f32]) -> Result<PairedAuc, String> {
    if scores_a.len() != labels.len() || scores_b.len() != labels.len() {
        return Err(format!(
            "paired AUC needs one score per row from each model: {} and {} scores for {} labels",
            scores_a.len(),
            scores_b.len(),
            labels.len()
        ));
    }
    let positive: Vec<bool> = labels.iter().map(|&y| y > 0.5).collect();
    let m = positive.iter().filter(|&&p| p).count();
    let n = labels.len() - m;
    if m < 2 || n < 2 {
        return Err(format!(
            "paired AUC needs at least two positives and two negatives, got {m} and {n}"
        ));
    }
    let (v10_a, v01_a) = placements(scores_a, &positive, m, n);
    let (v10_b, v01_b) = placements(scores_b, &positive, m, n);
    let auc_a = mean(&v10_a);
    let auc_b = mean(&v10_b);
    let variance = difference_variance(&v10_a, &v10_b) / m as f64
        + difference_variance(&v01_a, &v01_b) / n as f64;
    Ok(PairedAuc {
        auc_a,
        auc_b,
        difference: auc_a - auc_b,
        standard_error: variance.max(0.0).sqrt(),
        positives: m,
        negatives: n,
    })
}

/// `(V10, V01)`: each positive's share of negatives it outscores and each
/// negative's share of positives that outscore it (ties ½), from midranks:
/// `V10_i = (R_i − R⁺_i) / n`, `V01_j = 1 − (R_j − R⁻_j) / m`, with `R` the
/// midrank among all rows and `R⁺`, `R⁻` among the positives / negatives.
fn placements(scores: &[f32], positive: &[bool], m: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    let all = midranks(scores);
    let pos_scores: Vec<f32> = scores
        .iter()
        .zip(positive)
        .filter(|(_, p)| **p)
        .map(|(s, _)| *s)
        .collect();
    let neg_scores: Vec<f32> = scores
        .iter()
        .zip(positive)
        .filter(|(_, p)| !**p)
        .map(|(s, _)| *s)
        .collect();
    let (among_pos, among_neg) = (midranks(&pos_scores), midranks(&neg_scores));
    let (mut v10, mut v01) = (Vec::with_capacity(m), Vec::with_capacity(n));
    let (mut i, mut j) = (0, 0);
    for (k, &p) in positive.iter().enumerate() {
        if p {
            v10.push((all[k] - among_pos[i]) / n as f64);
            i += 1;
        } else {
            v01.push(1.0 - (all[k] - among_neg[j]) / m as f64);
            j += 1;
        }
    }
    (v10, v01)
}

/// 1-based ranks of `scores`, ties sharing their average rank.
pub(super) fn midranks(scores: &[f32]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let average = (i + j + 1) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = average;
        }
        i = j;
    }
    ranks
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The sample variance of `a − b` (= S_aa + S_bb − 2 S_ab), divisor `len − 1`.
fn difference_variance(a: &[f64], b: &[f64]) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let mu = mean(&d);
    d.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (d.len() - 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::auc;
    use rand::{Rng, SeedableRng, rngs::SmallRng};

    /// ψ(x, y): 1 if the positive outscores the negative, ½ on a tie.
    fn psi(x: f32, y: f32) -> f64 {
        match x.partial_cmp(&y).unwrap() {
            std::cmp::Ordering::Greater => 1.0,
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Less => 0.0,
        }
    }

    /// DeLong's variance from its definition: every placement by counting
    /// pairs, the covariances written out entry by entry.
    fn direct_variance(a: &[f32], b: &[f32], labels: &[f32]) -> f64 {
        let pos: Vec<usize> = (0..labels.len()).filter(|&k| labels[k] > 0.5).collect();
        let neg: Vec<usize> = (0..labels.len()).filter(|&k| labels[k] <= 0.5).collect();
        let v10 = |s: &[f32]| -> Vec<f64> {
            pos.iter()
                .map(|&i| neg.iter().map(|&j| psi(s[i], s[j])).sum::<f64>() / neg.len() as f64)
                .collect()
        };
        let v01 = |s: &[f32]| -> Vec<f64> {
            neg.iter()
                .map(|&j| pos.iter().map(|&i| psi(s[i], s[j])).sum::<f64>() / pos.len() as f64)
                .collect()
        };
        let cov = |x: &[f64], y: &[f64]| {
            let (mx, my) = (mean(x), mean(y));
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - mx) * (q - my))
                .sum::<f64>()
                / (x.len() - 1) as f64
        };
        let (pa, pb, na, nb) = (v10(a), v10(b), v01(a), v01(b));
        (cov(&pa, &pa) + cov(&pb, &pb) - 2.0 * cov(&pa, &pb)) / pos.len() as f64
            + (cov(&na, &na) + cov(&nb, &nb) - 2.0 * cov(&na, &nb)) / neg.len() as f64
    }

    #[test]
    fn matches_the_definition_with_ties() {
        let mut rng = SmallRng::seed_from_u64(11);
        for _ in 0..20 {
            let n = rng.random_range(8..200);
            let labels: Vec<f32> = (0..n)
                .map(|k| {
                    if k < 2 || (k >= 4 && rng.random_bool(0.3)) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            // Coarse scores so ties are common; b partly follows a.
            let a: Vec<f32> = (0..n)
                .map(|k| (labels[k] * 3.0 + rng.random_range(0..12) as f32) / 15.0)
                .collect();
            let b: Vec<f32> = a
                .iter()
                .map(|&x| x + rng.random_range(0..4) as f32 / 15.0)
                .collect();
            let p = paired_auc(&a, &b, &labels).unwrap();
            assert!((p.auc_a - auc(&a, &labels).unwrap()).abs() < 1e-12);
            assert!((p.auc_b - auc(&b, &labels).unwrap()).abs() < 1e-12);
            let want = direct_variance(&a, &b, &labels).sqrt();
            assert!(
                (p.standard_error - want).abs() < 1e-9,
                "{} vs {want}",
                p.standard_error
            );
            assert!(p.standard_error > 0.0);
        }
    }

    #[test]
    fn a_model_against_itself_differs_by_nothing() {
        let labels = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let s = [0.9, 0.2, 0.4, 0.5, 0.1, 0.8];
        let p = paired_auc(&s, &s, &labels).unwrap();
        assert_eq!((p.difference, p.standard_error, p.z()), (0.0, 0.0, 0.0));
    }

    #[test]
    fn mismatched_or_one_class_rows_are_refused() {
        assert!(paired_auc(&[0.1, 0.2], &[0.1], &[1.0, 0.0]).is_err());
        let err = paired_auc(&[0.1, 0.2, 0.3], &[0.1, 0.2, 0.3], &[1.0, 1.0, 1.0]).unwrap_err();
        assert!(err.contains("two positives and two negatives"), "{err}");
    }
}
