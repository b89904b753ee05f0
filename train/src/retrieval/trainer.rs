//! Training a two-tower model: batches of (user, positive item) and a loss
//! over the batch's candidates, with validation Recall@K over the full
//! corpus, in the shared loop ([`crate::run_loop`]); then the best epoch's
//! test metrics beside the most-popular baseline, and export.

use anyhow::{Context, Result};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use ember_ann::{HnswIndex, VectorSet};
use ember_datasets::{EvalSplit, RetrievalData};
use ember_models::metrics::RetrievalMetrics;
use ember_models::{Batch, TwoTower};
use rand::rngs::SmallRng;

use super::config::{RetrievalLoss, RetrievalRunConfig};
use super::evaluate::{evaluate_most_popular, evaluate_vectors, index_recall};
use super::export::export_retrieval;
use super::loss::{pointwise_bce, sampled_softmax};
use super::negatives::NegativeSource;
use super::summary::{ColdItemMetrics, RetrievalSummary};
use crate::checkpoint::Optimizers;
use crate::epoch::{EpochRecord, EpochStats};
use crate::id_dropout::IdDropout;
use crate::run_loop::{FitOptions, NoFamilyState, RunContext, TrainingFamily, train_epochs};

/// What one retrieval epoch measured.
pub type RetrievalEpoch = EpochRecord<RetrievalMetrics>;

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

/// The two-tower's part of the training loop.
struct RetrievalTraining<'a> {
    config: &'a RetrievalRunConfig,
    data: &'a RetrievalData,
    negatives: NegativeSource,
    /// Id dropout on the item tower's training rows.
    item_dropout: Option<IdDropout>,
    optim: ModuleOptimizer,
    run: &'a RunContext,
}

impl TrainingFamily for RetrievalTraining<'_> {
    type Model = TwoTower;
    type Valid = RetrievalMetrics;
    type Line = RetrievalEpoch;
    type State = NoFamilyState;

    fn title(&self) -> String {
        format!("training two-tower over {} items", self.data.item_ids.len())
    }

    fn unit(&self) -> &'static str {
        "examples"
    }

    fn train_rows(&self) -> usize {
        self.data.train.num_rows
    }

    fn step(
        &mut self,
        model: TwoTower,
        rows: &[usize],
        rng: &mut SmallRng,
        _state: &mut NoFamilyState,
    ) -> (TwoTower, Tensor<1>) {
        let t = &self.config.train;
        let device = &self.run.train_device;
        let positives: Vec<u32> = rows.iter().map(|&r| self.data.train_items[r]).collect();
        // The epoch's stream (after the shuffle) also draws the extra negatives.
        let extra = self.negatives.sample(t.extra_negatives, rng);
        let (items, masks) = self.negatives.candidates(&positives, &extra, device);
        let item_rows: Vec<usize> = items.iter().map(|&i| i as usize).collect();
        let users = model
            .user
            .forward(&Batch::from_rows(&self.data.train, rows, device));
        let item_batch = match &self.item_dropout {
            Some(dropout) => {
                let dropped = dropout.take(&self.data.items, &item_rows, rng);
                Batch::from_rows(&dropped, &Vec::from_iter(0..item_rows.len()), device)
            }
            None => Batch::from_rows(&self.data.items, &item_rows, device),
        };
        let vectors = model.item.forward(&item_batch);
        let scores = TwoTower::scores(users, vectors, self.config.model.temperature);
        let loss = match t.loss {
            RetrievalLoss::Softmax => sampled_softmax(scores, &masks, t.logq),
            RetrievalLoss::Bce => pointwise_bce(scores, &masks),
        };
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let model = self.optim.step(t.lr, model, grads);
        (model, loss.detach())
    }

    fn validate(&self, model: &TwoTower) -> Result<RetrievalMetrics> {
        let t = &self.config.train;
        let (valid, _) = measure(
            model,
            self.data,
            &self.data.valid,
            &t.ks,
            t.eval_batch_size,
            &self.run.device,
        )?;
        Ok(valid)
    }

    fn score(&self, valid: &RetrievalMetrics) -> f64 {
        valid
            .at_k(self.config.train.ks[0])
            .map_or(0.0, |m| m.recall)
    }

    fn line(
        &self,
        stats: EpochStats,
        valid: RetrievalMetrics,
        _: &NoFamilyState,
    ) -> RetrievalEpoch {
        RetrievalEpoch::new(stats, valid)
    }

    fn optimizers(&mut self) -> Optimizers<'_> {
        Optimizers::dense(&mut self.optim)
    }
}

/// Trains the retrieval run described by `config` on `data`, then exports it.
pub fn fit_retrieval(
    config: &RetrievalRunConfig,
    data: &RetrievalData,
    options: &FitOptions,
) -> Result<RetrievalSummary> {
    let t = &config.train;
    let run = RunContext::start(config, t.seed)?;
    let model = config
        .model
        .init(&data.user_layout, &data.item_layout, &run.train_device)
        .map_err(anyhow::Error::msg)?;
    let mut family = RetrievalTraining {
        config,
        data,
        negatives: NegativeSource::new(t.sampler, &data.item_counts)?,
        item_dropout: IdDropout::new(&data.item_layout, &t.id_dropout)?,
        optim: AdamConfig::new().with_epsilon(t.epsilon).init(),
        run: &run,
    };
    let trained = train_epochs(
        &mut family,
        model,
        &run,
        t.schedule(),
        NoFamilyState {},
        options,
    )?;

    let best = trained.best;
    let (test, items) = measure(
        &best,
        data,
        &data.test,
        &t.ks,
        t.eval_batch_size,
        &run.device,
    )?;
    let popular_valid = evaluate_most_popular(&data.valid, &data.item_counts, &t.ks);
    let popular_test = evaluate_most_popular(&data.test, &data.item_counts, &t.ks);
    tracing::info!(best_epoch = trained.best_epoch, test = %test, "test split");
    tracing::info!(test = %popular_test, "most-popular baseline");
    let cold: Vec<usize> = (0..data.test.len())
        .filter(|&q| data.item_counts[data.test.targets[q] as usize] == 0)
        .collect();
    let cold_test = if cold.is_empty() {
        None
    } else {
        let split = data.test.subset(&cold);
        let users = best.user_vectors(&split.queries, t.eval_batch_size, &run.device);
        let cold = ColdItemMetrics {
            queries: split.len(),
            model: evaluate_vectors(&split, &users, &items, &t.ks)?,
            popular: evaluate_most_popular(&split, &data.item_counts, &t.ks),
        };
        tracing::info!(queries = cold.queries, model = %cold.model, popular = %cold.popular, "cold items");
        Some(cold)
    };
    let mut summary = RetrievalSummary {
        name: config.common.name.clone(),
        model: "two_tower".into(),
        device: run.device_used,
        best_epoch: trained.best_epoch,
        epochs_run: trained.epochs_run,
        valid: trained.valid,
        test,
        popular_valid,
        popular_test,
        index_recall: None,
        cold_test,
        train_seconds: trained.train_seconds,
        train_samples_per_second: trained.train_samples_per_second,
        artifact: run.artifact_dir(),
        finished: trained.finished,
    };
    if trained.finished {
        let users = best.user_vectors(&data.test.queries, t.eval_batch_size, &run.device);
        let index = HnswIndex::build(&items, config.index, None);
        let k = t.ks.iter().copied().max().unwrap_or(10);
        summary.index_recall = Some(index_recall(&index, &items, &users, k)?);
        export_retrieval(
            &summary.artifact,
            config,
            data,
            &best,
            &items,
            &index,
            &summary,
        )?;
    }
    Ok(summary)
}
