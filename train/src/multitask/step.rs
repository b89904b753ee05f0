//! The gradient flow of one multi-task step.
//!
//! Burn frees the autodiff graph on backward and cannot retain it, so
//! per-task gradients are not had by calling backward T times on one
//! graph. Instead (see `ember_models::multitask`):
//!
//! 1. the shared part runs once: `h = shared(x)`;
//! 2. for each task `t`, the heads run on a detached copy `h̃` of `h` that
//!    keeps its gradient, and `L_t.backward()` yields the task's gradients
//!    for the task-specific parameters and `r_t = ∂L_t/∂h̃`;
//! 3. the shared parameters get their gradient from one backward of the
//!    surrogate `<h, Σ_t w_t r_t>`, whose gradient is `Jᵀ Σ_t w_t r_t` =
//!    `∇_shared Σ_t w_t L_t` exactly (fixed weights, GradNorm);
//! 4. PCGrad needs each task's gradient on the shared *parameters*: the
//!    shared part runs again per task (T forwards and backwards of it, the
//!    heads still once per task) and the gradients are combined on the
//!    device from their Gram matrix.
//!
//! Costs per step: T head passes plus one shared pass (fixed, GradNorm) or
//! T shared passes (PCGrad). With dropout, each shared pass of PCGrad draws
//! its own mask.

use burn::optim::GradientsParams;
use burn::prelude::*;
use ember_models::Batch;
use ember_models::multitask::MultiTaskModel;
use rand::{SeedableRng, rngs::SmallRng};

use super::balance::Balancer;
use super::grads::{Gram, weighted_sum};
use super::objective::task_loss;
use super::pcgrad;

/// The parameter gradients of one step and the (unweighted) task losses `[T]`.
pub struct StepGradients {
    pub grads: GradientsParams,
    pub losses: Tensor<1>,
}

/// `Σ_t w_t r_t`, part by part.
fn weighted_repr_grads(repr_grads: &[Vec<Tensor<2>>], weights: &[f64]) -> Vec<Tensor<2>> {
    let parts = repr_grads[0].len();
    (0..parts)
        .map(|p| {
            repr_grads
                .iter()
                .zip(weights)
                .map(|(r, &w)| r[p].clone().mul_scalar(w))
                .reduce(|a, b| a + b)
                .expect("at least one task")
        })
        .collect()
}

/// Computes the step's gradients and lets the balancer update itself.
pub fn step_gradients(
    model: &MultiTaskModel,
    batch: &Batch,
    balancer: &mut Balancer,
) -> StepGradients {
    let labels = &batch.labels;
    let repr = model.net.shared(batch);
    let t_count = model.graph.len();
    let mut head_grads = Vec::with_capacity(t_count);
    let mut repr_grads = Vec::with_capacity(t_count);
    let mut losses = Vec::with_capacity(t_count);
    for (t, task) in model.graph.tasks.iter().enumerate() {
        let leaf = repr.detached_leaf();
        let outputs = model.outputs(&leaf);
        let loss = task_loss(task, &outputs[t], labels);
        let mut grads = loss.backward();
        repr_grads.push(leaf.grads(&grads));
        head_grads.push(GradientsParams::from_module(&mut grads, model));
        losses.push(loss.detach().inner());
    }
    let losses = Tensor::cat(losses, 0);
    let weights = balancer.weights().to_vec();

    let shared: Vec<(f64, GradientsParams)> = match balancer {
        Balancer::Fixed { .. } => {
            let g = weighted_repr_grads(&repr_grads, &weights);
            vec![(
                1.0,
                GradientsParams::from_grads(repr.surrogate(&g).backward(), model),
            )]
        }
        Balancer::GradNorm(gradnorm) => {
            // ‖r_t‖ and L_t for the weight update: one read of 2T numbers.
            let norms: Vec<Tensor<1>> = repr_grads
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|p| p.clone().square().sum())
                        .reduce(|a, b| a + b)
                        .expect("a representation has parts")
                        .sqrt()
                })
                .collect();
            let host = Tensor::cat([vec![losses.clone()], norms].concat(), 0)
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32");
            let (l, n) = host.split_at(t_count);
            let to64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
            gradnorm.update(&to64(l), &to64(n));
            // This step uses the weights GradNorm started it with.
            let g = weighted_repr_grads(&repr_grads, &weights);
            vec![(
                1.0,
                GradientsParams::from_grads(repr.surrogate(&g).backward(), model),
            )]
        }
        Balancer::PcGrad { seed, steps, .. } => {
            let mut per_task = Vec::with_capacity(t_count);
            let mut first = Some(repr);
            for (t, r) in repr_grads.iter().enumerate() {
                let h = first.take().unwrap_or_else(|| model.net.shared(batch));
                let g: Vec<Tensor<2>> =
                    r.iter().map(|p| p.clone().mul_scalar(weights[t])).collect();
                per_task.push(GradientsParams::from_grads(
                    h.surrogate(&g).backward(),
                    model,
                ));
            }
            let mut gram = Gram::new(&per_task);
            model.net.visit_shared(&mut gram);
            let gram = gram.finish(&losses.device());
            let mut rng =
                SmallRng::seed_from_u64(*seed ^ steps.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            *steps += 1;
            let a = pcgrad::coefficients(&gram, &mut rng);
            a.into_iter().zip(per_task).collect()
        }
    };
    let mut inputs: Vec<(f64, &GradientsParams)> =
        weights.iter().copied().zip(head_grads.iter()).collect();
    inputs.extend(shared.iter().map(|(c, g)| (*c, g)));
    StepGradients {
        grads: weighted_sum(model, &inputs),
        losses,
    }
}
