//! Choosing fusion weights offline: the final ranking score combines the
//! task predictions by the rule of [`ember_models::multitask::fusion`]
//! (`s = Σ_i w_i p_i` or `s = Π_i p_i^{w_i}`), and [`grid_search`] scores every weight set of a grid by
//! each target's AUC and marks the non-dominated (Pareto-optimal) sets:
//! those no other set beats on one target without losing on another.
//!
//! AUC depends only on the order of the scores, so weight sets that are
//! multiples of each other rank identically and only one is kept (weights
//! normalised to sum to 1); the product form is scored as `Σ_i w_i ln p_i`.

use serde::{Deserialize, Serialize};

use ember_models::metrics::auc;
use ember_models::multitask::fusion::{FusionForm, fuse};

fn default_grid() -> Vec<f64> {
    vec![0.0, 0.25, 0.5, 0.75, 1.0]
}

/// The `[fusion]` table of a multi-task run: after training, grid-search
/// fusion weights on the validation split and report them on the test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FusionConfig {
    #[serde(default)]
    pub form: FusionForm,
    /// Values each task's weight takes (every combination is tried).
    #[serde(default = "default_grid")]
    pub grid: Vec<f64>,
}

impl Default for FusionConfig {
    fn default() -> Self {
        Self {
            form: FusionForm::Sum,
            grid: default_grid(),
        }
    }
}

/// The binary tasks' predictions on one split and each target's labels.
#[derive(Debug, Clone, Default)]
pub struct FusionSplit {
    pub predictions: Vec<Vec<f32>>,
    pub targets: Vec<Vec<f32>>,
}

impl FusionSplit {
    /// The AUC of the fused score of `weights` on each target.
    fn aucs(&self, weights: &[f64], form: FusionForm) -> Vec<Option<f64>> {
        let score = fuse(&self.predictions, weights, form);
        self.targets.iter().map(|y| auc(&score, y)).collect()
    }
}

/// One weight set: the AUC of its fused score on each target on the split
/// the weights are chosen on (validation) and on the split they are
/// reported on (test). Choosing on test would leak: the reported AUCs
/// would be the maximum of many noisy test measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FusionPoint {
    pub weights: Vec<f64>,
    pub valid_aucs: Vec<Option<f64>>,
    pub test_aucs: Vec<Option<f64>>,
    /// No other weight set beats it on validation.
    pub non_dominated: bool,
}

/// Every non-zero weight vector of `grid^T`, normalised to sum 1, without duplicates.
pub fn weight_sets(tasks: usize, grid: &[f64]) -> Result<Vec<Vec<f64>>, String> {
    if grid.is_empty() || grid.iter().all(|&w| w == 0.0) {
        return Err("fusion grid needs at least one positive weight".into());
    }
    if grid.iter().any(|w| !w.is_finite() || *w < 0.0) {
        return Err(format!(
            "fusion grid {grid:?}: weights must be finite and ≥ 0"
        ));
    }
    let combos = grid
        .len()
        .checked_pow(tasks as u32)
        .filter(|&n| n <= 1_000_000);
    let Some(combos) = combos else {
        return Err(format!(
            "fusion grid of {} values over {tasks} tasks is over a million weight sets",
            grid.len()
        ));
    };
    let mut sets: Vec<Vec<f64>> = Vec::new();
    for mut code in 0..combos {
        let mut w = Vec::with_capacity(tasks);
        for _ in 0..tasks {
            w.push(grid[code % grid.len()]);
            code /= grid.len();
        }
        let sum: f64 = w.iter().sum();
        if sum <= 0.0 {
            continue;
        }
        let w: Vec<f64> = w.iter().map(|x| x / sum).collect();
        if !sets
            .iter()
            .any(|s| s.iter().zip(&w).all(|(a, b)| (a - b).abs() < 1e-9))
        {
            sets.push(w);
        }
    }
    Ok(sets)
}

/// Which points no other point dominates (≥ on every target, > on one).
/// A missing AUC counts as the worst value.
pub fn non_dominated(points: &[Vec<Option<f64>>]) -> Vec<bool> {
    let value = |v: &Option<f64>| v.unwrap_or(f64::NEG_INFINITY);
    let dominates = |a: &[Option<f64>], b: &[Option<f64>]| {
        a.iter().zip(b).all(|(x, y)| value(x) >= value(y))
            && a.iter().zip(b).any(|(x, y)| value(x) > value(y))
    };
    points
        .iter()
        .map(|p| !points.iter().any(|q| dominates(q, p)))
        .collect()
}

/// Scores every weight set of `grid` against each target's labels on
/// `valid`, marks the sets non-dominated there, and reports every set's
/// AUCs on `test` beside them.
pub fn grid_search(
    valid: &FusionSplit,
    test: &FusionSplit,
    config: &FusionConfig,
) -> Result<Vec<FusionPoint>, String> {
    let sets = weight_sets(valid.predictions.len(), &config.grid)?;
    let valid_aucs: Vec<Vec<Option<f64>>> =
        sets.iter().map(|w| valid.aucs(w, config.form)).collect();
    let front = non_dominated(&valid_aucs);
    Ok(sets
        .into_iter()
        .zip(valid_aucs)
        .zip(front)
        .map(|((weights, valid_aucs), non_dominated)| FusionPoint {
            test_aucs: test.aucs(&weights, config.form),
            weights,
            valid_aucs,
            non_dominated,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_sets_are_normalised_and_deduplicated() {
        let sets = weight_sets(2, &[0.0, 0.5, 1.0]).unwrap();
        // (0,.5)≡(0,1), (.5,0)≡(1,0), (.5,.5)≡(1,1); (.5,1), (1,.5) distinct.
        assert_eq!(sets.len(), 5, "{sets:?}");
        assert!(
            sets.iter()
                .all(|w| (w.iter().sum::<f64>() - 1.0).abs() < 1e-12)
        );
        assert!(weight_sets(2, &[-1.0]).is_err());
        assert!(weight_sets(30, &[0.0, 1.0]).is_err());
    }

    #[test]
    fn pareto_front_by_hand() {
        let p = |a: f64, b: f64| vec![Some(a), Some(b)];
        let points = vec![
            p(0.7, 0.6),
            p(0.6, 0.7),
            p(0.65, 0.65),
            p(0.6, 0.6),
            p(0.7, 0.55),
        ];
        assert_eq!(non_dominated(&points), vec![true, true, true, false, false]);
    }

    #[test]
    fn each_target_prefers_its_own_task_and_the_product_form_ranks_by_log_sum() {
        // Task 0's prediction ranks target 0 perfectly, task 1's target 1.
        let preds = vec![vec![0.1, 0.2, 0.8, 0.9], vec![0.9, 0.1, 0.8, 0.2]];
        let targets = vec![vec![0.0, 0.0, 1.0, 1.0], vec![1.0, 0.0, 1.0, 0.0]];
        let split = FusionSplit {
            predictions: preds.clone(),
            targets,
        };
        let points = grid_search(&split, &split, &FusionConfig::default()).unwrap();
        let only = |t: usize| {
            points
                .iter()
                .find(|p| (p.weights[t] - 1.0).abs() < 1e-12)
                .unwrap()
        };
        assert_eq!(only(0).valid_aucs[0], Some(1.0));
        assert_eq!(only(1).valid_aucs[1], Some(1.0));
        // Single-task weights are beaten by mixtures here ((1, 0) scores 0.25
        // on target 1, (½, ½) scores 1.0 and 0.75), so they leave the front;
        // the front still holds the best AUC of each target.
        assert_eq!(only(0).valid_aucs[1], Some(0.25));
        assert!(!only(0).non_dominated);
        for t in 0..2 {
            let best_on_front = points
                .iter()
                .filter(|p| p.non_dominated)
                .filter_map(|p| p.valid_aucs[t])
                .fold(0.0, f64::max);
            assert_eq!(best_on_front, 1.0);
        }
        let prod = fuse(&preds, &[1.0, 2.0], FusionForm::Product);
        let want = (0.1f64).ln() + 2.0 * (0.9f64).ln();
        assert!((prod[0] as f64 - want).abs() < 1e-5);
    }

    #[test]
    fn the_front_is_chosen_on_validation_and_test_only_reports() {
        // One target; on validation task 0 ranks it perfectly and task 1
        // inverts it, on test the other way round.
        let valid = FusionSplit {
            predictions: vec![vec![0.1, 0.9], vec![0.9, 0.1]],
            targets: vec![vec![0.0, 1.0]],
        };
        let test = FusionSplit {
            predictions: vec![vec![0.9, 0.1], vec![0.1, 0.9]],
            targets: vec![vec![0.0, 1.0]],
        };
        let points = grid_search(&valid, &test, &FusionConfig::default()).unwrap();
        let front: Vec<&FusionPoint> = points.iter().filter(|p| p.non_dominated).collect();
        assert!(!front.is_empty());
        for p in &front {
            assert_eq!(p.valid_aucs[0], Some(1.0));
            assert!(p.weights[0] > p.weights[1], "{p:?}");
            assert_eq!(p.test_aucs[0], Some(0.0), "test only reports");
        }
    }
}
