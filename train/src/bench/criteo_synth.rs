//! The criteo-synth throughput benchmark (`../shared/bench/criteo_synth_spec.md`).
//!
//! DeepFM, embedding 16, MLP 624-400-400-400-1, Adam 1e-3, on 26 categorical
//! fields (Criteo cardinalities capped at 1 M, 5.57 M rows in all) and 13
//! numeric fields. Each numeric field enters as its own field vector
//! `x_n · v_n` (ember's feature layer) rather than PyTorch's shared 13 → 208
//! projection; both give 39 field vectors of 16.
//!
//! Like the PyTorch reference, batches are built before the clock starts and
//! cycled; a training step includes the host-side dedupe of row-sparse ids
//! and the upload of the ids it produces. The clock is read after
//! `Device::sync`. Ratios are against dense embeddings on the same device,
//! run in the same process.
//!
//! Inference is reported twice: `infer /s` times `forward` alone on the
//! prepared batches (what the spec and the PyTorch reference time), and
//! `score /s` scores every generated row through `predict_proba`, the path
//! `ember predict` and the serving ranker take (batch assembly, forward,
//! sigmoid, read-back; split across the cores on a CPU).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::Module;
use burn::prelude::*;
use ember_datasets::synthetic::criteo_synth::{self, CriteoSynthModel, NUM_CATEGORICAL};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::{Batch, ModelKind, RankingConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::config::{EmbeddingUpdate, TrainConfig};
use crate::step::Stepper;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub devices: Vec<DeviceChoice>,
    pub updates: Vec<EmbeddingUpdate>,
    pub batch_sizes: Vec<usize>,
    pub warmup_steps: usize,
    pub timed_steps: usize,
    /// Rows generated (spec: 1,048,576); batches cycle over them.
    pub rows: usize,
    /// Total vocabulary sizes for the scaling run; empty = the spec's.
    pub vocab_totals: Vec<usize>,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    pub device: String,
    pub embedding_update: EmbeddingUpdate,
    pub batch_size: usize,
    pub vocab_rows: usize,
    pub train_step_ms: f64,
    pub train_samples_per_s: f64,
    pub infer_samples_per_s: f64,
    /// Scoring the generated rows end to end through `predict_proba`, as
    /// `ember predict` and the serving ranker do: batch assembly from host
    /// rows, the forward pass, the sigmoid and the read-back included; on a
    /// CPU backend split across the cores by rayon. `None` for runs written
    /// before this field existed.
    #[serde(default)]
    pub score_samples_per_s: Option<f64>,
    /// Peak resident memory of the process during this configuration (CPU
    /// backends), or the device allocator's peak reservation (GPU).
    pub peak_memory_bytes: Option<u64>,
    pub memory_source: String,
}

/// The spec's cardinalities scaled so they sum to `total` (each ≥ 2),
/// keeping their proportions.
pub fn scaled_vocab(total: usize) -> Vec<usize> {
    let base: usize = criteo_synth::VOCAB_SIZES.iter().sum();
    let mut vocab: Vec<usize> = criteo_synth::VOCAB_SIZES
        .iter()
        .map(|&v| ((v as f64 * total as f64 / base as f64).round() as usize).max(2))
        .collect();
    // Put the rounding error on the largest field so the total is exact.
    let sum: usize = vocab.iter().sum();
    let largest = (0..NUM_CATEGORICAL).max_by_key(|&i| vocab[i]).unwrap_or(0);
    vocab[largest] = (vocab[largest] as i64 + total as i64 - sum as i64).max(2) as usize;
    vocab
}

/// Runs every configuration; returns one result per (vocabulary, device,
/// update, batch size).
pub fn run(options: &BenchOptions) -> Result<Vec<BenchResult>> {
    let vocabs: Vec<Vec<usize>> = if options.vocab_totals.is_empty() {
        vec![criteo_synth::VOCAB_SIZES.to_vec()]
    } else {
        options
            .vocab_totals
            .iter()
            .map(|&t| scaled_vocab(t))
            .collect()
    };
    let mut results = Vec::new();
    for vocab in &vocabs {
        let generated = std::time::Instant::now();
        let layout = criteo_synth::layout_for(vocab);
        let data = CriteoSynthModel::with_vocab(options.seed, vocab).generate(options.rows, 0);
        tracing::info!(
            rows = options.rows,
            vocab_rows = vocab.iter().sum::<usize>(),
            seconds = format!("{:.1}", generated.elapsed().as_secs_f64()),
            "generated criteo-synth"
        );
        for &choice in &options.devices {
            for &batch_size in &options.batch_sizes {
                for &update in &options.updates {
                    let result = run_one(options, &layout, &data, choice, update, batch_size)
                        .with_context(|| {
                            format!("benchmark {choice:?} {update:?} batch {batch_size}")
                        })?;
                    eprintln!("{}", format_row(&result));
                    results.push(result);
                }
            }
        }
    }
    Ok(results)
}

fn run_one(
    options: &BenchOptions,
    layout: &ember_datasets::FeatureLayout,
    data: &ember_datasets::EncodedData,
    choice: DeviceChoice,
    update: EmbeddingUpdate,
    batch_size: usize,
) -> Result<BenchResult> {
    let (device, used) = select_device(choice);
    device.seed(options.seed);
    let train_device = device.clone().autodiff();
    let model_config = RankingConfig {
        kind: ModelKind::DeepFm,
        embedding_dim: 16,
        hidden: vec![400, 400, 400],
        ..Default::default()
    };
    let train_config = TrainConfig {
        lr: 1e-3,
        batch_size,
        embedding_update: update,
        ..Default::default()
    };
    reset_peak_rss();
    let mut model = model_config
        .init(layout, &train_device)
        .map_err(anyhow::Error::msg)?;
    let mut stepper = Stepper::new(&train_config);

    let num_batches = (data.num_rows / batch_size).max(1);
    let make_batches = |device: &Device| -> Vec<Batch> {
        (0..num_batches)
            .map(|i| {
                let rows: Vec<usize> =
                    (i * batch_size..((i + 1) * batch_size).min(data.num_rows)).collect();
                Batch::from_rows(data, &rows, device)
            })
            .collect()
    };
    let batches = make_batches(&train_device);
    let total = options.warmup_steps + options.timed_steps;
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template(&format!(
            "{used} {update:?} batch {batch_size}: [{{bar:30}}] {{pos}}/{{len}} steps {{per_sec}}"
        ))
        .expect("valid template"),
    );
    let mut peak_device = 0u64;
    let mut start = Instant::now();
    for i in 0..total {
        if i == options.warmup_steps {
            device.sync().map_err(|e| anyhow::anyhow!("{e:?}"))?;
            peak_device = peak_device.max(device_bytes(&device));
            start = Instant::now();
        }
        let loss;
        (model, loss) = stepper.step(model, batches[i % num_batches].clone());
        drop(loss);
        bar.inc(1);
    }
    device.sync().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let train_seconds = start.elapsed().as_secs_f64();
    peak_device = peak_device.max(device_bytes(&device));
    bar.finish_and_clear();
    drop(batches);

    // Inference: forward only, no autodiff, the same number of batches.
    let eval_model = model.valid();
    let batches = make_batches(&device);
    for batch in batches.iter().take(options.warmup_steps.min(num_batches)) {
        drop(eval_model.forward(batch));
    }
    device.sync().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let start = Instant::now();
    let mut outputs = Vec::with_capacity(options.timed_steps);
    for i in 0..options.timed_steps {
        outputs.push(eval_model.forward(&batches[i % num_batches]));
    }
    device.sync().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let infer_seconds = start.elapsed().as_secs_f64();
    drop(outputs);
    peak_device = peak_device.max(device_bytes(&device));
    drop(batches);

    let start = Instant::now();
    let scores = eval_model.predict_proba(data, batch_size, &device);
    let score_seconds = start.elapsed().as_secs_f64();
    anyhow::ensure!(
        scores.iter().all(|p| p.is_finite()),
        "non-finite scores from the trained model"
    );

    let samples = (options.timed_steps * batch_size) as f64;
    let (peak_memory_bytes, memory_source) = if matches!(used, DeviceChoice::Wgpu) {
        (
            (peak_device > 0).then_some(peak_device),
            "device allocator reservation".to_owned(),
        )
    } else {
        (peak_rss(), "process peak RSS".to_owned())
    };
    Ok(BenchResult {
        device: format!("{used}"),
        embedding_update: update,
        batch_size,
        vocab_rows: layout.categorical.iter().map(|(_, c)| c).sum(),
        train_step_ms: 1e3 * train_seconds / options.timed_steps as f64,
        train_samples_per_s: samples / train_seconds,
        infer_samples_per_s: samples / infer_seconds,
        score_samples_per_s: Some(data.num_rows as f64 / score_seconds),
        peak_memory_bytes,
        memory_source,
    })
}

fn device_bytes(device: &Device) -> u64 {
    device
        .memory_pool_usage()
        .map_or(0, |usage| usage.bytes_reserved)
}

/// Resets the kernel's peak-RSS counter (`VmHWM`), Linux only; elsewhere a no-op.
pub(crate) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub fn header() -> String {
    format!(
        "{:<8} {:<11} {:>6} {:>11} {:>10} {:>13} {:>13} {:>13} {:>10}",
        "device",
        "embeddings",
        "batch",
        "vocab rows",
        "step ms",
        "train /s",
        "infer /s",
        "score /s",
        "peak MB"
    )
}

pub fn format_row(r: &BenchResult) -> String {
    let update = match r.embedding_update {
        EmbeddingUpdate::Dense => "dense",
        EmbeddingUpdate::RowSparse => "row-sparse",
    };
    format!(
        "{:<8} {:<11} {:>6} {:>11} {:>10.1} {:>13.0} {:>13.0} {:>13} {:>10}",
        r.device,
        update,
        r.batch_size,
        r.vocab_rows,
        r.train_step_ms,
        r.train_samples_per_s,
        r.infer_samples_per_s,
        r.score_samples_per_s
            .map_or("-".to_owned(), |s| format!("{s:.0}")),
        r.peak_memory_bytes
            .map_or("-".to_owned(), |b| format!("{:.0}", b as f64 / 1e6)),
    )
}

/// The table, then each row-sparse result as a ratio to dense embeddings on
/// the same device, batch and vocabulary.
pub fn report(results: &[BenchResult]) -> String {
    let mut out = header();
    out.push('\n');
    for r in results {
        out.push_str(&format_row(r));
        out.push('\n');
    }
    for r in results
        .iter()
        .filter(|r| r.embedding_update == EmbeddingUpdate::RowSparse)
    {
        if let Some(dense) = results.iter().find(|d| {
            d.embedding_update == EmbeddingUpdate::Dense
                && d.device == r.device
                && d.batch_size == r.batch_size
                && d.vocab_rows == r.vocab_rows
        }) {
            out.push_str(&format!(
                "{} batch {} vocab {}: row-sparse / dense train throughput = {:.2}x\n",
                r.device,
                r.batch_size,
                r.vocab_rows,
                r.train_samples_per_s / dense.train_samples_per_s
            ));
        }
    }
    out.push_str(&vocab_scaling(results));
    out
}

/// Row-sparse step time at the largest vocabulary over the smallest. A size
/// may be listed more than once (`--vocab 10000,10000000,10000,10000000`, to
/// interleave against drift); each size then counts with the median of its
/// runs, and every run's time is listed.
fn vocab_scaling(results: &[BenchResult]) -> String {
    let mut by_size: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for r in results
        .iter()
        .filter(|r| r.embedding_update == EmbeddingUpdate::RowSparse)
    {
        by_size
            .entry(r.vocab_rows)
            .or_default()
            .push(r.train_step_ms);
    }
    let (Some((&small, small_ms)), Some((&large, large_ms))) =
        (by_size.first_key_value(), by_size.last_key_value())
    else {
        return String::new();
    };
    if small == large {
        return String::new();
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let list = |v: &[f64]| {
        v.iter()
            .map(|ms| format!("{ms:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "row-sparse step time, vocab {small} -> {large}: {:.2}x (median ms of {} run(s) [{}] -> {} run(s) [{}])\n",
        median(large_ms) / median(small_ms),
        small_ms.len(),
        list(small_ms),
        large_ms.len(),
        list(large_ms),
    )
}

pub fn write_json(results: &[BenchResult], path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    ember_models::artifact::write_atomic(path, serde_json::to_string_pretty(results)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sparse_run(vocab_rows: usize, train_step_ms: f64) -> BenchResult {
        BenchResult {
            device: "flex".into(),
            embedding_update: EmbeddingUpdate::RowSparse,
            batch_size: 4096,
            vocab_rows,
            train_step_ms,
            train_samples_per_s: 0.0,
            infer_samples_per_s: 0.0,
            score_samples_per_s: None,
            peak_memory_bytes: None,
            memory_source: String::new(),
        }
    }

    #[test]
    fn vocab_scaling_takes_the_median_of_repeated_sizes() {
        let runs = [
            sparse_run(10_000, 200.0),
            sparse_run(10_000_000, 330.0),
            sparse_run(1_000_000, 999.0),
            sparse_run(10_000, 300.0),
            sparse_run(10_000_000, 320.0),
            sparse_run(10_000, 250.0),
        ];
        let line = vocab_scaling(&runs);
        // medians 250 (10 k) and 325 (10 M): 1.30x; the 1 M run is not an end.
        assert!(
            line.starts_with("row-sparse step time, vocab 10000 -> 10000000: 1.30x"),
            "{line}"
        );
        assert!(line.contains("[200.0, 300.0, 250.0]"), "{line}");
        assert_eq!(vocab_scaling(&runs[..1]), "");
    }

    #[test]
    fn scaled_vocab_hits_the_total_and_keeps_every_field() {
        for total in [10_000, 100_000, 1_000_000, 10_000_000] {
            let v = scaled_vocab(total);
            assert_eq!(v.len(), NUM_CATEGORICAL);
            assert_eq!(v.iter().sum::<usize>(), total);
            assert!(v.iter().all(|&c| c >= 2));
        }
    }
}
