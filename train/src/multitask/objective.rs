//! Per-task losses on the task graph's outputs: BCE on `p_t` (kept in log
//! space, so a progressive task's `p_parent · σ(z)` is fitted exactly as
//! ESMM's CTCVR loss) or MSE for regression, each optionally restricted to
//! the rows where another label is 1 (`observed_if`).

use burn::prelude::*;
use ember_models::multitask::{Task, TaskOutput};

/// One task's mean loss over its observed rows of the batch; `labels` is
/// the batch's `[B, L]` label matrix.
pub fn task_loss(task: &Task, output: &TaskOutput, labels: &Tensor<2>) -> Tensor<1> {
    let y = labels.clone().narrow(1, task.label, 1);
    let per_row = match output {
        TaskOutput::Binary {
            log_p, log_not_p, ..
        } => (y.clone() * log_p.clone() + (y.neg() + 1.0) * log_not_p.clone()).neg(),
        TaskOutput::Regression { value } => (value.clone() - y).square(),
    };
    match task.observed_if {
        None => per_row.mean(),
        Some(column) => {
            let mask = labels.clone().narrow(1, column, 1);
            // Mean over the observed rows (a batch without any gives 0).
            (per_row * mask.clone()).sum() / mask.sum().clamp_min(1.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_models::multitask::{TaskGraph, TaskSpec};

    #[test]
    fn progressive_bce_and_masked_loss_by_hand() {
        let device = Device::flex();
        let labels: Vec<String> = vec!["click".into(), "buy".into()];
        let graph = TaskGraph::resolve(
            &[
                TaskSpec::binary("click"),
                TaskSpec::binary("ctcvr").with_label("buy").after("click"),
                TaskSpec::binary("cvr")
                    .with_label("buy")
                    .observed_if("click"),
            ],
            &labels,
        )
        .unwrap();
        let z = [[0.5f32, -0.3, 1.0], [-1.0, 2.0, -2.0], [0.0, 0.1, 0.3]];
        let y = [[1.0f32, 1.0], [0.0, 0.0], [1.0, 0.0]];
        let out = graph.outputs(Tensor::<2>::from_floats(z, &device));
        let y_t = Tensor::<2>::from_floats(y, &device);
        let loss = |t: usize| task_loss(&graph.tasks[t], &out[t], &y_t).into_scalar::<f32>() as f64;
        let sig = |x: f32| 1.0 / (1.0 + (-(x as f64)).exp());
        let bce = |p: f64, y: f32| if y > 0.5 { -p.ln() } else { -(1.0 - p).ln() };
        let want_ctcvr: f64 = (0..3)
            .map(|r| bce(sig(z[r][0]) * sig(z[r][1]), y[r][1]))
            .sum::<f64>()
            / 3.0;
        assert!(
            (loss(1) - want_ctcvr).abs() < 1e-5,
            "{} vs {want_ctcvr}",
            loss(1)
        );
        // cvr: only rows 0 and 2 (clicked).
        let want_cvr = (bce(sig(z[0][2]), y[0][1]) + bce(sig(z[2][2]), y[2][1])) / 2.0;
        assert!((loss(2) - want_cvr).abs() < 1e-5);
    }
}
