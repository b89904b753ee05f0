//! Loss balancing, selectable per run (`[balance] method = ...`):
//!
//! - `fixed`: `Σ_t w_t L_t` with each task's configured `weight`;
//! - `gradnorm`: weights learned by GradNorm ([`super::gradnorm`]);
//! - `pcgrad`: the weighted task gradients on the shared parameters
//!   combined by PCGrad ([`super::pcgrad`]); task-specific parameters get
//!   their task's gradient unchanged.

use ember_models::multitask::TaskGraph;
use serde::{Deserialize, Serialize};

use super::gradnorm::GradNorm;

fn default_alpha() -> f64 {
    1.5
}
fn default_gradnorm_lr() -> f64 {
    0.025
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum BalanceConfig {
    #[default]
    Fixed,
    #[serde(rename = "gradnorm")]
    GradNorm {
        /// Strength of the pull toward equal training rates (the paper's α).
        #[serde(default = "default_alpha")]
        alpha: f64,
        /// Step size of the weight update.
        #[serde(default = "default_gradnorm_lr")]
        lr: f64,
    },
    #[serde(rename = "pcgrad")]
    PcGrad,
}

impl BalanceConfig {
    pub fn name(&self) -> &'static str {
        match self {
            BalanceConfig::Fixed => "fixed",
            BalanceConfig::GradNorm { .. } => "gradnorm",
            BalanceConfig::PcGrad => "pcgrad",
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if let BalanceConfig::GradNorm { alpha, lr } = self
            && !(alpha.is_finite() && *alpha >= 0.0 && lr.is_finite() && *lr > 0.0)
        {
            return Err(format!(
                "gradnorm needs alpha ≥ 0 and lr > 0 (got alpha {alpha}, lr {lr})"
            ));
        }
        Ok(())
    }
}

/// The balancer's state during a run (saved in checkpoints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Balancer {
    Fixed {
        weights: Vec<f64>,
    },
    GradNorm(GradNorm),
    /// `steps` seeds each step's random task order, so a resumed run
    /// draws the orders it would have drawn.
    PcGrad {
        weights: Vec<f64>,
        seed: u64,
        steps: u64,
    },
}

impl Balancer {
    pub fn new(config: &BalanceConfig, graph: &TaskGraph, seed: u64) -> Self {
        let weights: Vec<f64> = graph.tasks.iter().map(|t| t.weight).collect();
        match config {
            BalanceConfig::Fixed => Balancer::Fixed { weights },
            BalanceConfig::GradNorm { alpha, lr } => {
                Balancer::GradNorm(GradNorm::new(*alpha, *lr, &weights))
            }
            BalanceConfig::PcGrad => Balancer::PcGrad {
                weights,
                seed,
                steps: 0,
            },
        }
    }

    /// The current loss weights `w_t`.
    pub fn weights(&self) -> &[f64] {
        match self {
            Balancer::Fixed { weights } | Balancer::PcGrad { weights, .. } => weights,
            Balancer::GradNorm(g) => &g.weights,
        }
    }
}
