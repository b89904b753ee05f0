//! The two-tower training loop: shuffled batches of (user, positive item),
//! a loss over the batch's candidates, validation Recall@K over the full
//! corpus after each epoch, early stopping, checkpoints, export.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use ember_ann::VectorSet;
use ember_datasets::{EvalSplit, RetrievalData};
use ember_models::artifact::{load_bpk, save_bpk};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::{Batch, TwoTower};
use serde::{Deserialize, Serialize};

use super::config::{RetrievalLoss, RetrievalRunConfig};
use super::evaluate::{RetrievalMetrics, evaluate_most_popular, evaluate_vectors};
use super::export::export_retrieval;
use super::loss::{pointwise_bce, sampled_softmax};
use super::negatives::NegativeSource;
use crate::checkpoint::{Checkpoint, TrainState};
use crate::early_stopping::epoch_bar;
use crate::epoch::{
    EpochPlan, EpochRecord, LossSum, best_valid, epoch_rng, log_epoch, shuffle_rows,
};
use crate::trainer::FitOptions;

/// What one retrieval epoch measured.
pub type RetrievalEpoch = EpochRecord<RetrievalMetrics>;

/// What a finished retrieval run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetrievalSummary {
    pub name: String,
    pub model: String,
    pub device: DeviceChoice,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub valid: RetrievalMetrics,
    pub test: RetrievalMetrics,
    /// The most-popular baseline on the same queries.
    pub popular_valid: RetrievalMetrics,
    pub popular_test: RetrievalMetrics,
    /// Share of the exact top-K (largest K) of the test users that the ANN
    /// index returns, seen items not excluded; `None` for an unfinished run.
    pub index_recall: Option<f64>,
    pub train_seconds: f64,
    pub train_samples_per_second: f64,
    pub artifact: PathBuf,
    pub finished: bool,
}

/// Item vectors of the whole corpus and the metrics of `split`, exact search.
pub fn measure(
    model: &TwoTower,
    data: &RetrievalData,
    split: &EvalSplit,
    ks: &[usize],
    batch_size: usize,
    device: &Device,
) -> Result<(RetrievalMetrics, VectorSet)> {
    let dim = model.user.mlp.d_output();
    let items = VectorSet::new(dim, model.item_vectors(&data.items, batch_size, device))
        .context("item vectors")?;
    let users = model.user_vectors(&split.queries, batch_size, device);
    Ok((evaluate_vectors(split, &users, &items, ks)?, items))
}

/// Trains the retrieval run described by `config` on `data`, then exports it.
pub fn fit_retrieval(
    config: &RetrievalRunConfig,
    data: &RetrievalData,
    options: &FitOptions,
) -> Result<RetrievalSummary> {
    let t = &config.train;
    let run_dir = config.run_dir();
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("creating run directory {}", run_dir.display()))?;
    let (device, device_used) = select_device(config.device);
    device.seed(t.seed);
    let train_device = device.clone().autodiff();

    let mut model = config
        .model
        .init(&data.user_layout, &data.item_layout, &train_device)
        .map_err(anyhow::Error::msg)?;
    let mut optim = AdamConfig::new().with_epsilon(t.epsilon).init();
    let checkpoint = Checkpoint::new(&run_dir);
    let mut state: TrainState<RetrievalEpoch> = TrainState::default();
    if options.resume && checkpoint.exists() {
        (model, optim, state) = checkpoint.load(model, optim, None, &device)?;
        tracing::info!(epochs_done = state.epochs_done, "resumed from checkpoint");
    }
    let negatives = NegativeSource::new(t.sampler, &data.item_counts)?;
    let best_path = run_dir.join("best.bpk");
    let metrics_log = run_dir.join("metrics.jsonl");
    let monitor_k = t.ks[0];
    tracing::info!(
        run = %config.name,
        device = %device_used,
        params = model.num_params(),
        train_examples = data.train.num_rows,
        items = data.item_ids.len(),
        "training two-tower"
    );

    let n = data.train.num_rows;
    let mut order: Vec<usize> = (0..n).collect();
    let run_start = Instant::now();
    let mut trained = 0usize;
    let mut plan = EpochPlan::new(t.epochs, t.patience, options);
    while let Some(epoch) = plan.next(state.epochs_done, &state.stopping) {
        // The epoch's stream also draws the extra negatives.
        let mut rng = epoch_rng(t.seed, epoch);
        shuffle_rows(&mut order, &mut rng);
        let bar = epoch_bar(n, epoch, "examples");
        let epoch_start = Instant::now();
        let mut loss_sum = LossSum::default();
        for rows in order.chunks(t.batch_size) {
            let positives: Vec<u32> = rows.iter().map(|&r| data.train_items[r]).collect();
            let extra = negatives.sample(t.extra_negatives, &mut rng);
            let (items, masks) = negatives.candidates(&positives, &extra, &train_device);
            let item_rows: Vec<usize> = items.iter().map(|&i| i as usize).collect();
            let users = model
                .user
                .forward(&Batch::from_rows(&data.train, rows, &train_device));
            let vectors =
                model
                    .item
                    .forward(&Batch::from_rows(&data.items, &item_rows, &train_device));
            let scores = TwoTower::scores(users, vectors, config.model.temperature);
            let loss = match t.loss {
                RetrievalLoss::Softmax => sampled_softmax(scores, &masks, t.logq),
                RetrievalLoss::Bce => pointwise_bce(scores, &masks),
            };
            loss_sum.add(loss.clone().detach());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(t.lr, model, grads);
            bar.inc(rows.len() as u64);
        }
        let train_loss = loss_sum.means(1)[0];
        let seconds = epoch_start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        trained += n;

        let eval_model = model.valid();
        let (valid, _) = measure(
            &eval_model,
            data,
            &data.valid,
            &t.ks,
            t.eval_batch_size,
            &device,
        )?;
        let score = valid.at_k(monitor_k).map_or(0.0, |m| m.recall);
        if state.stopping.observe(epoch, score) {
            save_bpk(&eval_model, &best_path)?;
        }
        let record = RetrievalEpoch {
            epoch,
            train_loss,
            valid: valid.clone(),
            seconds,
            samples_per_second: n as f64 / seconds,
        };
        tracing::info!(
            epoch,
            train_loss = format!("{train_loss:.4}"),
            valid = %valid,
            examples_per_s = format!("{:.0}", record.samples_per_second),
            best = state.stopping.best_epoch,
            "epoch done"
        );
        log_epoch(&metrics_log, &mut state.history, record)?;
        state.epochs_done = epoch;
        checkpoint.save(&model, &optim, None, &state)?;
    }
    let finished = plan.finished();
    let train_seconds = run_start.elapsed().as_secs_f64();

    let best = load_bpk(model.valid(), &best_path)?;
    let valid = best_valid(&state.history, state.stopping.best_epoch);
    let (test, items) = measure(&best, data, &data.test, &t.ks, t.eval_batch_size, &device)?;
    let popular_valid = evaluate_most_popular(&data.valid, &data.item_counts, &t.ks);
    let popular_test = evaluate_most_popular(&data.test, &data.item_counts, &t.ks);
    tracing::info!(best_epoch = state.stopping.best_epoch, test = %test, "test split");
    tracing::info!(test = %popular_test, "most-popular baseline");
    let artifact = run_dir.join("artifact");
    let mut summary = RetrievalSummary {
        name: config.name.clone(),
        model: "two_tower".into(),
        device: device_used,
        best_epoch: state.stopping.best_epoch,
        epochs_run: state.epochs_done,
        valid,
        test,
        popular_valid,
        popular_test,
        index_recall: None,
        train_seconds,
        train_samples_per_second: trained as f64 / train_seconds.max(1e-9),
        artifact: artifact.clone(),
        finished,
    };
    if finished {
        let users = best.user_vectors(&data.test.queries, t.eval_batch_size, &device);
        export_retrieval(&artifact, config, data, &best, items, &users, &mut summary)?;
    }
    Ok(summary)
}
