//! GradNorm (Chen et al., ICML 2018): learn the task weights `w_i` so that
//! each weighted task's gradient norm at the last shared layer tracks the
//! average norm scaled by the task's relative inverse training rate:
//!
//! - `G_i = ‖∇_W w_i L_i‖ = w_i ‖∇_W L_i‖`, `Ḡ = mean_i G_i`;
//! - `L̃_i = L_i(t) / L_i(0)`, `r_i = L̃_i / mean_j L̃_j`;
//! - `L_grad = Σ_i |G_i − Ḡ · r_i^α|`, the target `Ḡ · r_i^α` held constant;
//! - `w_i ← w_i − λ ∂L_grad/∂w_i = w_i − λ · sign(G_i − Ḡ r_i^α) · ‖∇_W L_i‖`;
//! - then `w` is renormalised so that `Σ_i w_i = T`.
//!
//! Here `W` is the shared representation at the boundary between shared and
//! task-specific layers (the output of the last shared layer; see
//! `ember_models::multitask`): its per-task gradients come out of the
//! per-task head passes at no extra cost, where gradients with respect to
//! the last shared layer's *weights* would need one more backward per task.

use serde::{Deserialize, Serialize};

/// The smallest weight GradNorm may set: a task is never switched off.
const MIN_WEIGHT: f64 = 1e-3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradNorm {
    pub alpha: f64,
    pub lr: f64,
    pub weights: Vec<f64>,
    /// `L_i(0)`: the task losses of the first step.
    pub initial_losses: Option<Vec<f64>>,
}

/// What one update saw, for logs and tests.
#[derive(Debug, Clone, PartialEq)]
pub struct GradNormStep {
    /// `G_i` with the weights before the update.
    pub weighted_norms: Vec<f64>,
    /// `Ḡ · r_i^α`.
    pub targets: Vec<f64>,
    pub grad_loss: f64,
}

impl GradNorm {
    /// Starts from `initial` weights (renormalised to sum to T).
    pub fn new(alpha: f64, lr: f64, initial: &[f64]) -> Self {
        let mut g = Self {
            alpha,
            lr,
            weights: initial.to_vec(),
            initial_losses: None,
        };
        g.renormalise();
        g
    }

    fn renormalise(&mut self) {
        let t = self.weights.len() as f64;
        let sum: f64 = self.weights.iter().sum();
        if sum > 0.0 && sum.is_finite() {
            for w in &mut self.weights {
                *w *= t / sum;
            }
        } else {
            self.weights.iter_mut().for_each(|w| *w = 1.0);
        }
    }

    /// One weight update from the unweighted task losses `L_i(t)` and the
    /// norms `‖∇_W L_i(t)‖`. The first call records `L_i(0)`.
    pub fn update(&mut self, losses: &[f64], grad_norms: &[f64]) -> GradNormStep {
        let t = self.weights.len();
        debug_assert!(losses.len() == t && grad_norms.len() == t);
        let initial = self
            .initial_losses
            .get_or_insert_with(|| losses.iter().map(|l| l.max(1e-12)).collect());
        let weighted: Vec<f64> = self
            .weights
            .iter()
            .zip(grad_norms)
            .map(|(w, n)| w * n)
            .collect();
        let mean_norm = weighted.iter().sum::<f64>() / t as f64;
        let ratio: Vec<f64> = losses
            .iter()
            .zip(initial.iter())
            .map(|(l, l0)| l / l0)
            .collect();
        let mean_ratio = ratio.iter().sum::<f64>() / t as f64;
        let targets: Vec<f64> = ratio
            .iter()
            .map(|r| mean_norm * (r / mean_ratio).powf(self.alpha))
            .collect();
        let mut grad_loss = 0.0;
        for i in 0..t {
            let diff = weighted[i] - targets[i];
            grad_loss += diff.abs();
            let grad = diff.signum() * grad_norms[i];
            if diff != 0.0 && grad.is_finite() {
                self.weights[i] = (self.weights[i] - self.lr * grad).max(MIN_WEIGHT);
            }
        }
        self.renormalise();
        GradNormStep {
            weighted_norms: weighted,
            targets,
            grad_loss,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::*;

    /// Two tasks on a shared representation `z = x·W` (B = 2, one input,
    /// two outputs), `L_1 = mean((z − a)²)`, `L_2 = 3·mean((z − b)²)`; the
    /// norms come from Burn's autodiff at `z`, the expected update from
    /// hand-derived gradients.
    #[test]
    fn two_task_update_matches_a_direct_computation() {
        let device = Device::flex().autodiff();
        let x = [[1.0f32], [2.0]];
        let w = [[0.5f32, -1.0]];
        let a = [[1.0f32, 0.0], [0.0, 1.0]];
        let b = [[-1.0f32, 2.0], [0.5, 0.5]];
        let autodiff_norm = |target: [[f32; 2]; 2], scale: f32| {
            let z = Tensor::<2>::from_floats(x, &device)
                .matmul(Tensor::<2>::from_floats(w, &device))
                .detach()
                .require_grad();
            let loss = (z.clone() - Tensor::<2>::from_floats(target, &device))
                .square()
                .mean()
                .mul_scalar(scale);
            let grads = loss.backward();
            let g = z.grad(&grads).unwrap();
            let norm = g.square().sum().sqrt().into_scalar::<f32>() as f64;
            (loss.into_scalar::<f32>() as f64, norm)
        };
        let (l1, n1) = autodiff_norm(a, 1.0);
        let (l2, n2) = autodiff_norm(b, 3.0);

        // By hand: z = [[0.5, −1], [1, −2]]; ∂L/∂z = scale · 2 (z − target) / 4.
        let z = [[0.5, -1.0], [1.0, -2.0]];
        let (mut hand_l1, mut hand_l2, mut sq1, mut sq2) = (0.0, 0.0, 0.0, 0.0);
        for r in 0..2 {
            for c in 0..2 {
                let d1 = z[r][c] - a[r][c] as f64;
                let d2 = z[r][c] - b[r][c] as f64;
                hand_l1 += d1 * d1 / 4.0;
                hand_l2 += 3.0 * d2 * d2 / 4.0;
                sq1 += (2.0 * d1 / 4.0).powi(2);
                sq2 += (3.0 * 2.0 * d2 / 4.0).powi(2);
            }
        }
        let (hand_n1, hand_n2) = (sq1.sqrt(), sq2.sqrt());
        assert!((l1 - hand_l1).abs() < 1e-5 && (l2 - hand_l2).abs() < 1e-5);
        assert!((n1 - hand_n1).abs() < 1e-5 && (n2 - hand_n2).abs() < 1e-5);

        // Step 1 (t = 0): L(0) = L, so r = (1, 1) and both targets are Ḡ.
        let (alpha, lr) = (1.5, 0.1);
        let mut gn = GradNorm::new(alpha, lr, &[1.0, 3.0]);
        assert!((gn.weights[0] - 0.5).abs() < 1e-12 && (gn.weights[1] - 1.5).abs() < 1e-12);
        let step = gn.update(&[l1, l2], &[n1, n2]);
        let (g1, g2) = (0.5 * hand_n1, 1.5 * hand_n2);
        let mean = (g1 + g2) / 2.0;
        assert!((step.targets[0] - mean).abs() < 1e-5 && (step.targets[1] - mean).abs() < 1e-5);
        let sign = |v: f64| if v > 0.0 { 1.0 } else { -1.0 };
        let w1 = (0.5 - lr * sign(g1 - mean) * hand_n1).max(1e-3);
        let w2 = (1.5 - lr * sign(g2 - mean) * hand_n2).max(1e-3);
        let (w1, w2) = (2.0 * w1 / (w1 + w2), 2.0 * w2 / (w1 + w2));
        assert!(
            (gn.weights[0] - w1).abs() < 1e-6,
            "{:?} vs {w1}",
            gn.weights
        );
        assert!((gn.weights[1] - w2).abs() < 1e-6);
        assert!((gn.weights.iter().sum::<f64>() - 2.0).abs() < 1e-12);
        assert!((step.grad_loss - ((g1 - mean).abs() + (g2 - mean).abs())).abs() < 1e-5);

        // Step 2: task 1's loss halved, task 2's unchanged; task 2 now trains
        // slower (r_2 > 1), so its target norm is the larger one.
        let step = gn.update(&[l1 / 2.0, l2], &[n1, n2]);
        let (g1, g2) = (w1 * hand_n1, w2 * hand_n2);
        let mean = (g1 + g2) / 2.0;
        let (r1, r2): (f64, f64) = (0.5 / 0.75, 1.0 / 0.75);
        let (t1, t2) = (mean * r1.powf(alpha), mean * r2.powf(alpha));
        assert!((step.targets[0] - t1).abs() < 1e-6 && (step.targets[1] - t2).abs() < 1e-6);
        assert!(t2 > t1);
        let v1 = (w1 - lr * sign(g1 - t1) * hand_n1).max(1e-3);
        let v2 = (w2 - lr * sign(g2 - t2) * hand_n2).max(1e-3);
        let (v1, v2) = (2.0 * v1 / (v1 + v2), 2.0 * v2 / (v1 + v2));
        assert!((gn.weights[0] - v1).abs() < 1e-6 && (gn.weights[1] - v2).abs() < 1e-6);
    }
}
