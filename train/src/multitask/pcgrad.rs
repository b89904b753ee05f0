//! PCGrad, projecting conflicting gradients (Yu et al., NeurIPS 2020,
//! algorithm 1): for each task `i`, visit the other tasks `j` in random
//! order and, where `g_i · g_j < 0`, replace `g_i` by its projection onto the
//! normal plane of `g_j`, `g_i ← g_i − (g_i · g_j / ‖g_j‖²) g_j`; the update
//! is the sum of the projected gradients.
//!
//! Every projected `g_i` stays a linear combination of the original task
//! gradients, so the whole procedure runs on their Gram matrix
//! `G_kj = g_k · g_j` (a T×T matrix read from the device once per step) and
//! yields coefficients `a` with `PCGrad(g) = Σ_k a_k g_k`. The trainer then
//! mixes the per-task gradient tensors with `a` on the device; nothing of
//! parameter size crosses to the host.

use rand::Rng;
use rand::seq::SliceRandom;

/// The coefficients `a_k` of PCGrad's combined gradient `Σ_k a_k g_k`, from
/// the Gram matrix of the task gradients.
pub fn coefficients(gram: &[Vec<f64>], rng: &mut impl Rng) -> Vec<f64> {
    let t = gram.len();
    let mut total = vec![0.0; t];
    for i in 0..t {
        // g_i' = Σ_k c_k g_k, starting at g_i.
        let mut c = vec![0.0; t];
        c[i] = 1.0;
        let mut others: Vec<usize> = (0..t).filter(|&j| j != i).collect();
        others.shuffle(rng);
        for j in others {
            let dot: f64 = (0..t).map(|k| c[k] * gram[k][j]).sum();
            let norm2 = gram[j][j];
            if dot < 0.0 && norm2 > 0.0 {
                c[j] -= dot / norm2;
            }
        }
        for k in 0..t {
            total[k] += c[k];
        }
    }
    total
}

/// The Gram matrix of explicit gradient vectors.
pub fn gram(grads: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    grads
        .iter()
        .map(|a| grads.iter().map(|b| dot(a, b)).collect())
        .collect()
}

/// PCGrad on explicit vectors, written as the paper states it (the
/// reference the coefficient form is tested against).
pub fn project(grads: &[Vec<f64>], rng: &mut impl Rng) -> Vec<f64> {
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let dim = grads.first().map_or(0, Vec::len);
    let mut sum = vec![0.0; dim];
    for (i, g) in grads.iter().enumerate() {
        let mut g_i = g.clone();
        let mut others: Vec<usize> = (0..grads.len()).filter(|&j| j != i).collect();
        others.shuffle(rng);
        for j in others {
            let g_j = &grads[j];
            let d = dot(&g_i, g_j);
            let n = dot(g_j, g_j);
            if d < 0.0 && n > 0.0 {
                for (x, y) in g_i.iter_mut().zip(g_j) {
                    *x -= d / n * y;
                }
            }
        }
        for (s, x) in sum.iter_mut().zip(&g_i) {
            *s += x;
        }
    }
    sum
}

/// `Σ_k a_k g_k` for explicit vectors.
pub fn combine(grads: &[Vec<f64>], a: &[f64]) -> Vec<f64> {
    let dim = grads.first().map_or(0, Vec::len);
    (0..dim)
        .map(|d| grads.iter().zip(a).map(|(g, a)| a * g[d]).sum())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::SmallRng};

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn conflicting_gradients_are_projected_onto_each_others_normal_plane() {
        let mut rng = SmallRng::seed_from_u64(0);
        let g = vec![vec![1.0, 0.0], vec![-1.0, 1.0]];
        // g1·g2 = −1 < 0: g1' = g1 + ½ g2 = (0.5, 0.5) ⟂ g2; g2' = g2 + g1 = (0, 1) ⟂ g1.
        let out = project(&g, &mut rng);
        assert!(close(&out, &[0.5, 1.5]), "{out:?}");
        let a = coefficients(&gram(&g), &mut rng);
        assert!(close(&a, &[2.0, 1.5]), "{a:?}");
        assert!(close(&combine(&g, &a), &[0.5, 1.5]));
        // Plain summation would have been (0, 1): PCGrad changed the update.
        assert!(!close(&out, &[0.0, 1.0]));
    }

    #[test]
    fn agreeing_gradients_are_left_alone() {
        let mut rng = SmallRng::seed_from_u64(0);
        let g = vec![vec![1.0, 0.0], vec![1.0, 1.0]];
        assert!(close(&project(&g, &mut rng), &[2.0, 1.0]));
        assert!(close(&coefficients(&gram(&g), &mut rng), &[1.0, 1.0]));
        // Orthogonal gradients do not conflict either.
        let g = vec![vec![0.0, 3.0], vec![2.0, 0.0]];
        assert!(close(&coefficients(&gram(&g), &mut rng), &[1.0, 1.0]));
    }

    #[test]
    fn coefficient_form_equals_the_direct_form_under_the_same_order() {
        let mut draw = SmallRng::seed_from_u64(9);
        for trial in 0..50 {
            let t = 2 + trial % 3;
            let g: Vec<Vec<f64>> = (0..t)
                .map(|_| (0..6).map(|_| draw.random_range(-1.0..1.0)).collect())
                .collect();
            let direct = project(&g, &mut SmallRng::seed_from_u64(trial as u64));
            let a = coefficients(&gram(&g), &mut SmallRng::seed_from_u64(trial as u64));
            let via_gram = combine(&g, &a);
            assert!(
                direct
                    .iter()
                    .zip(&via_gram)
                    .all(|(x, y)| (x - y).abs() < 1e-9),
                "{direct:?} vs {via_gram:?}"
            );
        }
        // With three tasks the random order matters: two orders, two results.
        let g = vec![vec![1.0, 0.0], vec![-1.0, 0.2], vec![-0.2, -1.0]];
        let results: Vec<Vec<f64>> = (0..20)
            .map(|s| project(&g, &mut SmallRng::seed_from_u64(s)))
            .collect();
        assert!(results.iter().any(|r| !close(r, &results[0])));
    }
}
