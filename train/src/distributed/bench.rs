//! The distributed step measured (`ember distributed bench`, run under
//! `mpirun -np N`; `scripts/distributed_bench.sh` runs 1 and 2 ranks):
//! criteo-synth DeepFM at a fixed local batch, each step split into
//! communication (time inside collectives, waiting for the slower rank
//! included) and compute (the rest), the bytes and messages each rank sends
//! a step, and each rank's peak memory.
//!
//! From the measured per-message cost α and per-byte cost β of this
//! transport (an all-to-all probe, `probe_transport`) it projects a step
//! at 8 and 64 ranks, `compute + α·messages(N) + β·bytes(N)`, for the
//! sharded layout and, next to it, for the layout without sharding:
//! replicated tables whose whole gradients are all-reduced every step.
//! Weak scaling: the local batch stays fixed, so the ids a rank looks up a
//! step stay what was measured and the share that goes to other ranks
//! grows as (N−1)/N.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use burn::prelude::*;
use ember_datasets::synthetic::criteo_synth::{self, CriteoSynthModel};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::{Batch, ModelKind, RankingConfig, RankingModel};
use serde::{Deserialize, Serialize};

use super::comm::{Collective, ring_all_reduce_bytes};
use super::shard::{RowShards, find_tables, shard_tables, weights_of};
use super::step::DistributedStepper;
use crate::bench::criteo_synth::{peak_rss, reset_peak_rss, scaled_vocab};
use crate::config::{EmbeddingUpdate, OptimizerKind, TrainConfig};
use crate::step::Stepper;

#[derive(Debug, Clone)]
pub struct DistributedBenchOptions {
    /// Rows each rank trains on a step.
    pub local_batch: usize,
    pub warmup_steps: usize,
    pub timed_steps: usize,
    /// Rows of all tables together; 0 = criteo-synth's own cardinalities.
    pub table_rows: usize,
    pub embedding_dim: usize,
    pub optimizer: OptimizerKind,
    /// Ranks to project a step for.
    pub project_to: Vec<usize>,
    /// Also time the single-process step (whole tables, the plain
    /// [`Stepper`]) on the same local batches first, in the same process:
    /// the baseline the distributed step is a ratio of. It holds a second
    /// copy of the tables meanwhile, so memory runs leave it out.
    pub baseline: bool,
    pub seed: u64,
}

/// One rank's measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RankMeasure {
    pub rank: usize,
    /// The single-process step on the same local batch, if timed.
    pub plain_step_ms: Option<f64>,
    pub step_ms: f64,
    pub comm_ms: f64,
    pub bytes_sent_per_step: f64,
    pub messages_per_step: f64,
    /// Distinct table rows this rank looked up a step (all tables).
    pub unique_rows_per_step: f64,
    pub peak_rss_bytes: Option<u64>,
}

impl RankMeasure {
    /// The numbers as f32s, to gather (7 significant digits are plenty
    /// for a report; memory travels in MiB).
    fn to_f32s(&self) -> Vec<f32> {
        vec![
            self.step_ms as f32,
            self.comm_ms as f32,
            self.bytes_sent_per_step as f32,
            self.messages_per_step as f32,
            self.unique_rows_per_step as f32,
            self.peak_rss_bytes.map_or(-1.0, |b| (b >> 20) as f32),
            self.plain_step_ms.map_or(-1.0, |t| t as f32),
        ]
    }

    fn from_f32s(rank: usize, v: &[f32]) -> Self {
        Self {
            rank,
            step_ms: v[0].into(),
            comm_ms: v[1].into(),
            bytes_sent_per_step: v[2].into(),
            messages_per_step: v[3].into(),
            unique_rows_per_step: v[4].into(),
            peak_rss_bytes: (v[5] >= 0.0).then(|| (v[5] as u64) << 20),
            plain_step_ms: (v[6] >= 0.0).then(|| v[6].into()),
        }
    }
}

/// A step's cost at `ranks` ranks, measured or projected.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Projection {
    pub ranks: usize,
    pub sharded_step_ms: f64,
    pub sharded_bytes_per_rank: f64,
    /// Replicated tables, their gradients all-reduced densely.
    pub dense_allreduce_step_ms: f64,
    pub dense_allreduce_bytes_per_rank: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DistributedBenchReport {
    pub ranks: usize,
    pub local_batch: usize,
    pub table_rows: usize,
    pub embedding_dim: usize,
    pub dense_params: usize,
    pub per_rank: Vec<RankMeasure>,
    /// Seconds per message (α) and per byte (β) of this transport; `None`
    /// with one rank.
    pub alpha_s: Option<f64>,
    pub beta_s_per_byte: Option<f64>,
    pub projections: Vec<Projection>,
}

/// Runs the benchmark on every rank; the report comes back on rank 0.
pub fn run_bench(
    comm: Arc<dyn Collective>,
    options: &DistributedBenchOptions,
) -> Result<Option<DistributedBenchReport>> {
    let ranks = comm.size();
    let vocab = if options.table_rows == 0 {
        criteo_synth::VOCAB_SIZES.to_vec()
    } else {
        scaled_vocab(options.table_rows)
    };
    let table_rows: usize = vocab.iter().sum();
    let layout = criteo_synth::layout_for(&vocab);
    let steps = options.warmup_steps + options.timed_steps;
    // Each rank its own rows: the generator's stream differs by rank.
    let data = CriteoSynthModel::with_vocab(options.seed, &vocab)
        .generate(steps.min(16) * options.local_batch, comm.rank() as u64);
    let (device, _) = select_device(DeviceChoice::Flex);
    device.seed(options.seed);
    let train_device = device.autodiff();
    let model_config = RankingConfig {
        kind: ModelKind::DeepFm,
        embedding_dim: options.embedding_dim,
        hidden: vec![400, 400, 400],
        ..Default::default()
    };
    let train_config = TrainConfig {
        lr: 1e-3,
        batch_size: options.local_batch * ranks,
        optimizer: options.optimizer,
        embedding_update: EmbeddingUpdate::RowSparse,
        ..Default::default()
    };
    reset_peak_rss();
    let full = model_config
        .init(&layout, &train_device)
        .map_err(anyhow::Error::msg)?;
    let num_batches = data.num_rows.div_ceil(options.local_batch).clamp(1, 16);
    let batches: Vec<Batch> = (0..num_batches)
        .map(|i| {
            let rows: Vec<usize> = (i * options.local_batch
                ..((i + 1) * options.local_batch).min(data.num_rows))
                .collect();
            Batch::from_rows(&data, &rows, &train_device)
        })
        .collect();
    let tables = find_tables(&full, &batches[0], |m: &RankingModel, b| m.forward(b));
    let table_params: usize = {
        let ids: Vec<_> = tables.iter().map(|t| t.param).collect();
        weights_of(&full, &ids)
            .values()
            .map(|w| w.dims().iter().product::<usize>())
            .sum()
    };
    let dense_params = full.num_params() - table_params;
    let plain_step_ms = options.baseline.then(|| {
        let mut plain = Stepper::new(&train_config);
        let mut model = full.clone();
        let mut start = Instant::now();
        for i in 0..steps {
            if i == options.warmup_steps {
                start = Instant::now();
            }
            let loss;
            (model, loss) = plain.step(model, batches[i % batches.len()].clone());
            // Reading the loss waits for the step, as the distributed step does.
            let _ = loss.into_scalar::<f32>();
        }
        1e3 * start.elapsed().as_secs_f64() / options.timed_steps as f64
    });
    let mut model = shard_tables(full, &tables, RowShards::new(comm.rank(), ranks));
    let mut stepper = DistributedStepper::new(Stepper::new(&train_config), comm.clone());

    let mut unique = 0usize;
    let mut start = Instant::now();
    let mut comm_start = comm.stats();
    for i in 0..steps {
        if i == options.warmup_steps {
            start = Instant::now();
            comm_start = comm.stats();
            unique = 0;
        }
        let batch = batches[i % batches.len()].clone();
        unique += distinct_rows(&batch);
        (model, _) = stepper.step(model, batch, options.local_batch * ranks);
    }
    let seconds = start.elapsed().as_secs_f64();
    let spent = comm.stats().since(&comm_start);
    drop(model);
    let t = options.timed_steps as f64;
    let mine = RankMeasure {
        rank: comm.rank(),
        plain_step_ms,
        step_ms: 1e3 * seconds / t,
        comm_ms: 1e3 * spent.seconds / t,
        bytes_sent_per_step: spent.bytes_sent as f64 / t,
        messages_per_step: spent.messages as f64 / t,
        unique_rows_per_step: unique as f64 / t,
        peak_rss_bytes: peak_rss(),
    };
    let (alpha, beta) = if ranks > 1 {
        let (a, b) = probe_transport(comm.as_ref());
        (Some(a), Some(b))
    } else {
        (None, None)
    };
    let Some(parts) = comm.gather_f32(&mine.to_f32s()) else {
        return Ok(None);
    };
    let per_rank: Vec<RankMeasure> = parts
        .iter()
        .enumerate()
        .map(|(rank, p)| RankMeasure::from_f32s(rank, p))
        .collect();
    let mean = |f: fn(&RankMeasure) -> f64| per_rank.iter().map(f).sum::<f64>() / ranks as f64;
    let compute_ms = mean(|r| r.step_ms - r.comm_ms);
    let measured_bytes = mean(|r| r.bytes_sent_per_step);
    let measured_msgs = mean(|r| r.messages_per_step);
    let projections = match (alpha, beta) {
        (Some(alpha), Some(beta)) => {
            // What the all-reduces (dense gradients, the loss) sent; the
            // rest went through the tables' all-to-alls, whose bytes grow
            // as the share of rows owned elsewhere, (N−1)/N.
            let all_reduced =
                |n| (ring_all_reduce_bytes(dense_params, n) + ring_all_reduce_bytes(1, n)) as f64;
            let exchanged = measured_bytes - all_reduced(ranks);
            let remote = |n: usize| (n - 1) as f64 / n as f64;
            let mut targets = vec![ranks];
            targets.extend(options.project_to.iter().copied().filter(|&n| n != ranks));
            targets
                .into_iter()
                .map(|n| {
                    let sharded_bytes = exchanged * remote(n) / remote(ranks) + all_reduced(n);
                    let sharded_msgs = measured_msgs * (n - 1) as f64 / (ranks - 1) as f64;
                    // Replicated tables: their whole gradients are all-reduced too.
                    let dense_bytes = ring_all_reduce_bytes(dense_params + table_params, n) as f64;
                    let dense_msgs = 2.0 * (n - 1) as f64;
                    Projection {
                        ranks: n,
                        sharded_step_ms: compute_ms
                            + 1e3 * (alpha * sharded_msgs + beta * sharded_bytes),
                        sharded_bytes_per_rank: sharded_bytes,
                        dense_allreduce_step_ms: compute_ms
                            + 1e3 * (alpha * dense_msgs + beta * dense_bytes),
                        dense_allreduce_bytes_per_rank: dense_bytes,
                    }
                })
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(Some(DistributedBenchReport {
        ranks,
        local_batch: options.local_batch,
        table_rows,
        embedding_dim: options.embedding_dim,
        dense_params,
        per_rank,
        alpha_s: alpha,
        beta_s_per_byte: beta,
        projections,
    }))
}

/// Distinct rows the batch looks up, over all categorical fields (each
/// field's ids are its own table rows).
fn distinct_rows(batch: &Batch) -> usize {
    let b = batch.size().max(1);
    let width = batch.categorical_host.len() / b;
    let mut seen = std::collections::HashSet::with_capacity(batch.categorical_host.len());
    for row in batch.categorical_host.chunks_exact(width.max(1)) {
        for (f, &id) in row.iter().enumerate() {
            seen.insert((f, id));
        }
    }
    seen.len()
}

/// α (seconds per message) and β (seconds per byte) of all-to-alls between
/// these ranks: the time of tiny exchanges gives α, the extra time of 4 MiB
/// ones β. Medians of repeated calls, after a warm-up.
fn probe_transport(comm: &dyn Collective) -> (f64, f64) {
    let n = comm.size();
    let median_of = |per_rank: usize, reps: usize| {
        let send = vec![1f32; per_rank * n];
        let counts = vec![per_rank; n];
        let mut times: Vec<f64> = (0..reps + 2)
            .map(|_| {
                let t = Instant::now();
                comm.all_to_all_f32(&send, &counts, &counts);
                t.elapsed().as_secs_f64()
            })
            .skip(2)
            .collect();
        times.sort_by(f64::total_cmp);
        // Every rank must agree, or their projections would differ.
        let mut m = [times[times.len() / 2] as f32];
        comm.all_reduce_sum(&mut m);
        f64::from(m[0]) / n as f64
    };
    let tiny = median_of(1, 50);
    let big_floats = 1 << 20; // 4 MiB to each other rank
    let big = median_of(big_floats, 10);
    let messages = (n - 1) as f64;
    let bytes = (big_floats * 4 * (n - 1)) as f64;
    (tiny / messages, ((big - tiny) / bytes).max(0.0))
}
