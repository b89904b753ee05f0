//! Multi-task training: the task objectives, loss balancing (fixed
//! weights, GradNorm, PCGrad), the gradient flow that makes per-task
//! gradients available under Burn's free-on-backward autodiff, fusion-weight
//! search, and the training loop.

pub mod balance;
pub mod config;
pub mod fusion;
pub mod gradnorm;
pub mod grads;
pub mod objective;
pub mod pcgrad;
pub mod step;
pub mod trainer;

pub use balance::{BalanceConfig, Balancer};
pub use config::{MultiTaskFamily, MultiTaskRunConfig};
pub use fusion::{FusionConfig, FusionPoint};
pub use trainer::{MultiTaskRun, MultiTaskSummary, fit};
