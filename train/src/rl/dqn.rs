//! DQN for the mixer: ε-greedy collection of whole sessions, a replay of
//! sessions, a target network, double-DQN targets and a Huber TD loss over
//! every slot of the sampled sessions (the recurrent state is recomputed
//! from each session's first slot, so stored states never go stale).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use ember_datasets::simulator::{
    MixPolicy, SessionRange, SimConfig, evaluate_policy, mean_clicks, run_sessions,
};
use ember_models::artifact::{load_bpk, save_bpk};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::mixer::{MixerInput, MixerQNet, QPolicy};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{SeedableRng, rngs::SmallRng};
use serde::{Deserialize, Serialize};

use super::config::{DqnConfig, MixerRunConfig};
use super::evaluate::VALIDATION_STREAM;
use super::export::export_mixer;
use super::replay::{Episode, EpisodeBatch, EpisodeReplay};
use super::reward::RewardConfig;
use super::schedule::EpsilonGreedy;
use crate::epoch::append_line;

/// One validation of the greedy policy (a line of `metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationRecord {
    pub round: usize,
    pub episodes: usize,
    pub updates: usize,
    pub epsilon: f64,
    /// Mean TD loss since the previous validation.
    pub td_loss: f64,
    pub valid_clicks: f64,
    pub seconds: f64,
}

/// What a finished mixer run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MixerRunSummary {
    pub name: String,
    pub recurrent: bool,
    pub device: DeviceChoice,
    pub episodes: usize,
    pub updates: usize,
    pub best_round: usize,
    pub best_valid_clicks: f64,
    pub train_seconds: f64,
    pub artifact: PathBuf,
}

/// A trained Q-network in inference mode on the plain device.
pub struct TrainedMixer {
    pub net: MixerQNet,
    pub input: MixerInput,
    pub device: Device,
    pub summary: MixerRunSummary,
    pub history: Vec<ValidationRecord>,
}

impl TrainedMixer {
    pub fn policy(&self, name: &str) -> QPolicy {
        QPolicy::new(name, self.net.clone(), self.input, self.device.clone())
    }
}

fn optimizer(dqn: &DqnConfig) -> ModuleOptimizer {
    let clip = (dqn.grad_clip > 0.0).then_some(GradientClippingConfig::Norm(dqn.grad_clip as f32));
    AdamConfig::new()
        .with_epsilon(1e-8)
        .with_grad_clipping(clip)
        .init()
}

/// Runs `policy` over `range`, recording every session as an episode.
pub fn collect(
    sim: &SimConfig,
    reward: &RewardConfig,
    input: &MixerInput,
    policy: &mut dyn MixPolicy,
    range: SessionRange,
) -> Vec<Episode> {
    let mut episodes = vec![Episode::default(); range.count];
    run_sessions(sim, range, policy, |i, view, action, outcome| {
        let e = &mut episodes[i];
        input.encode_into(view, &mut e.inputs);
        e.actions.push(action as u32);
        e.rewards.push(reward.reward(view, action, outcome));
    });
    episodes
}

/// TD targets `[B, T]` on the plain device: `r + γ · V(next)` where
/// `V(next)` is the target network's value of the next slot's best type,
/// chosen by the online network (double DQN) or by the target network.
fn td_targets(
    target: &MixerQNet,
    online_q: Tensor<3>,
    batch: &EpisodeBatch,
    dqn: &DqnConfig,
    device: &Device,
) -> Tensor<2> {
    let (b, t) = (batch.sessions, batch.slots);
    let width = batch.inputs.len() / (b * t);
    let plain = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [b, t]), device);
    let x = Tensor::<3>::from_data(TensorData::new(batch.inputs.clone(), [b, t, width]), device);
    let rewards = plain(&batch.rewards);
    if t < 2 {
        return rewards;
    }
    let target_next = target.forward_seq(x).narrow(1, 1, t - 1);
    let next_value = if dqn.double_dqn {
        let chosen = online_q.narrow(1, 1, t - 1).argmax(2);
        target_next.gather(2, chosen)
    } else {
        target_next.max_dim(2)
    };
    let next_value = Tensor::cat(
        vec![
            next_value.reshape([b, t - 1]),
            Tensor::zeros([b, 1], device),
        ],
        1,
    );
    rewards + next_value * plain(&batch.has_next) * dqn.gamma
}

/// One gradient step on a batch of sessions; returns the new network and
/// the (detached) loss.
fn td_step(
    net: MixerQNet,
    target: &MixerQNet,
    optim: &mut ModuleOptimizer,
    batch: &EpisodeBatch,
    dqn: &DqnConfig,
    device: &Device,
    train_device: &Device,
) -> (MixerQNet, Tensor<1>) {
    let (b, t) = (batch.sessions, batch.slots);
    let width = batch.inputs.len() / (b * t);
    let x = Tensor::<3>::from_data(
        TensorData::new(batch.inputs.clone(), [b, t, width]),
        train_device,
    );
    let q = net.forward_seq(x);
    let actions = Tensor::<3, Int>::from_data(
        TensorData::new(batch.actions.clone(), [b, t, 1]),
        train_device,
    );
    let q_taken = q.clone().gather(2, actions).reshape([b, t]);
    let y = td_targets(target, q.inner(), batch, dqn, device).autodiff();
    let mask = Tensor::<2>::from_data(TensorData::new(batch.mask.clone(), [b, t]), train_device);
    // Huber (δ = 1): ½c² + (|d| − c) with c = min(|d|, 1).
    let abs = (q_taken - y).abs();
    let c = abs.clone().clamp_max(1.0);
    let huber = c.clone() * c.clone() * 0.5 + (abs - c);
    let real_slots = batch.mask.iter().sum::<f32>().max(1.0);
    let loss = (huber * mask).sum() / real_slots;
    let detached = loss.clone().detach().inner();
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    let net = optim.step(dqn.lr, net, grads);
    (net, detached)
}

fn progress(total: usize) -> ProgressBar {
    ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template(
            "dqn [{bar:30}] {human_pos}/{human_len} sessions {per_sec} eta {eta} {msg}",
        )
        .expect("valid template"),
    )
}

/// Trains the mixer `config` describes on simulator `sim`, keeps the
/// weights that validated best, and exports them.
pub fn train_mixer(config: &MixerRunConfig, sim: &SimConfig) -> Result<TrainedMixer> {
    config.validate().map_err(anyhow::Error::msg)?;
    sim.validate()?;
    let dqn = &config.dqn;
    let run_dir = config.run_dir();
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("creating run directory {}", run_dir.display()))?;
    let metrics_log = run_dir.join("metrics.jsonl");
    if metrics_log.exists() {
        std::fs::remove_file(&metrics_log)?;
    }
    let best_path = run_dir.join("best.bpk");
    let (device, device_used) = select_device(config.common.device);
    device.seed(dqn.seed);
    let train_device = device.clone().autodiff();
    let input = MixerInput {
        num_types: sim.num_types(),
        horizon: sim.max_slots,
    };
    let mut net = config
        .model
        .init(&input, &train_device)
        .map_err(anyhow::Error::msg)?;
    let mut target = net.valid();
    let mut optim = optimizer(dqn);
    let mut replay = EpisodeReplay::new(dqn.replay_capacity, input.width());
    let mut rng = SmallRng::seed_from_u64(dqn.seed);
    tracing::info!(
        run = %config.common.name,
        recurrent = config.model.recurrent,
        device = %device_used,
        params = net.num_params(),
        episodes = dqn.episodes,
        "training mixer"
    );

    let rounds = dqn.episodes.div_ceil(dqn.parallel_sessions);
    let validation = SessionRange::new(VALIDATION_STREAM, 0, dqn.validation_sessions);
    let bar = progress(dqn.episodes);
    let start = Instant::now();
    let (mut updates, mut loss_sum, mut loss_steps) = (0usize, None::<Tensor<1>>, 0usize);
    let mut best: Option<(usize, f64)> = None;
    let mut history = Vec::new();
    for round in 0..rounds {
        let first = round * dqn.parallel_sessions;
        let count = dqn.parallel_sessions.min(dqn.episodes - first);
        let epsilon = dqn.epsilon.at(first as f64 / dqn.episodes as f64);
        let mut explorer = EpsilonGreedy {
            inner: QPolicy::new("dqn", net.valid(), input, device.clone()),
            epsilon,
            rng: &mut rng,
        };
        let range = SessionRange::new(dqn.session_stream, first as u64, count);
        for episode in collect(sim, &config.reward, &input, &mut explorer, range) {
            replay.push(episode);
        }
        if replay.len() >= dqn.warmup_episodes.max(1) {
            for _ in 0..dqn.updates_per_round {
                let batch = replay.sample(dqn.batch_size, &mut rng);
                let (next, loss) = td_step(
                    net,
                    &target,
                    &mut optim,
                    &batch,
                    dqn,
                    &device,
                    &train_device,
                );
                net = next;
                loss_sum = Some(match loss_sum {
                    Some(sum) => sum + loss,
                    None => loss,
                });
                loss_steps += 1;
                updates += 1;
                if updates % dqn.target_update == 0 {
                    target = net.valid();
                }
            }
        }
        bar.inc(count as u64);
        let last = round + 1 == rounds;
        if (round + 1) % dqn.validate_every == 0 || last {
            let eval_net = net.valid();
            let mut greedy = QPolicy::new("dqn", eval_net.clone(), input, device.clone());
            let valid_clicks = mean_clicks(&evaluate_policy(sim, validation, 1000, &mut greedy));
            let td_loss = loss_sum
                .take()
                .map(|s| s.into_scalar::<f32>() as f64 / loss_steps.max(1) as f64)
                .unwrap_or(f64::NAN);
            loss_steps = 0;
            let record = ValidationRecord {
                round: round + 1,
                episodes: first + count,
                updates,
                epsilon,
                td_loss,
                valid_clicks,
                seconds: start.elapsed().as_secs_f64(),
            };
            bar.set_message(format!("valid clicks {valid_clicks:.3} ε {epsilon:.2}"));
            tracing::debug!(?record, "validation");
            append_line(&metrics_log, &serde_json::to_string(&record)?)?;
            history.push(record);
            if best.is_none_or(|(_, b)| valid_clicks > b) {
                best = Some((round + 1, valid_clicks));
                save_bpk(&eval_net, &best_path)?;
            }
        }
    }
    bar.finish_and_clear();
    let train_seconds = start.elapsed().as_secs_f64();
    let (best_round, best_valid_clicks) = best.unwrap_or((0, f64::NAN));
    let net = load_bpk(net.valid(), &best_path)?;
    tracing::info!(
        best_round,
        best_valid_clicks = format!("{best_valid_clicks:.3}"),
        updates,
        seconds = format!("{train_seconds:.0}"),
        "mixer trained"
    );
    let artifact = run_dir.join("artifact");
    let summary = MixerRunSummary {
        name: config.common.name.clone(),
        recurrent: config.model.recurrent,
        device: device_used,
        episodes: dqn.episodes,
        updates,
        best_round,
        best_valid_clicks,
        train_seconds,
        artifact: artifact.clone(),
    };
    export_mixer(
        &artifact,
        config,
        sim,
        &net,
        &input,
        &summary,
        &summary.device.to_string(),
    )?;
    Ok(TrainedMixer {
        net,
        input,
        device,
        summary,
        history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_models::mixer::MixerConfig;

    #[test]
    fn double_dqn_targets_bootstrap_from_the_online_choice() {
        let device = Device::flex();
        device.seed(1);
        let input = MixerInput {
            num_types: 3,
            horizon: 5,
        };
        let config = MixerConfig {
            recurrent: false,
            gru_hidden: 0,
            head_hidden: vec![4],
        };
        let online = config.init(&input, &device).unwrap();
        let target = config.init(&input, &device).unwrap();
        let w = input.width();
        let inputs: Vec<f32> = (0..3 * w).map(|i| (i as f32 * 0.37).sin()).collect();
        let batch = EpisodeBatch {
            sessions: 1,
            slots: 3,
            inputs: inputs.clone(),
            actions: vec![0, 1, 0],
            rewards: vec![1.0, 0.0, 2.0],
            mask: vec![1.0, 1.0, 0.0],
            has_next: vec![1.0, 0.0, 0.0],
        };
        let x = Tensor::<3>::from_data(TensorData::new(inputs, [1, 3, w]), &device);
        let q_on = online.forward_seq(x.clone());
        let rows = |q: Tensor<3>| q.into_data().try_to_vec::<f32>().unwrap();
        let (on, tg) = (rows(q_on.clone()), rows(target.forward_seq(x)));
        let gamma = 0.9;
        for double in [true, false] {
            let dqn = DqnConfig {
                gamma,
                double_dqn: double,
                ..Default::default()
            };
            let y = td_targets(&target, q_on.clone(), &batch, &dqn, &device)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            // Slot 0 bootstraps from slot 1; slot 1 is the session's last.
            let next = &tg[3..6];
            let pick = if double {
                argmax3(&on[3..6])
            } else {
                argmax3(next)
            };
            let want = 1.0 + gamma as f32 * next[pick];
            assert!(
                (y[0] - want).abs() < 1e-6,
                "double={double}: {} vs {want}",
                y[0]
            );
            assert_eq!(y[1], 0.0);
        }
    }

    fn argmax3(v: &[f32]) -> usize {
        ember_datasets::simulator::argmax(v).unwrap()
    }
}
