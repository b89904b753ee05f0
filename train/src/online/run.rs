//! `ember online`: trains on a time-ordered stream, each batch once, in
//! order. Every batch is scored before it is trained on (progressive
//! validation, [`super::progressive`]); every `export_every_events` events
//! or `export_every_seconds` a version is exported atomically into the
//! versions directory, which `ember serve --watch` picks up.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::prelude::*;
use ember_datasets::interactions::tables::for_each_row;
use ember_datasets::open_encoder::OpenEncoder;
use ember_datasets::readers::{CsvSpec, ReadOptions, read_csv};
use ember_datasets::sources::Csv;
use ember_datasets::{DataConfig, DataError, EncodedData, FeatureLayout, Preprocessor, RawTable};
use ember_models::artifact::{ArtifactWriter, Family, MODEL, ManifestEntry};
use ember_models::{Batch, RankingModel};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::config::OnlineRunConfig;
use super::progressive::{WindowRecord, WindowRows, auc_chart, markdown_table, peak_rss_mib};
use super::stream::StreamFiles;
use crate::run_loop::RunContext;
use crate::step::Stepper;

/// What an online run reports (also `summary.json` in the run directory).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OnlineSummary {
    pub name: String,
    pub model: String,
    pub events: u64,
    pub files: usize,
    pub windows: Vec<WindowRecord>,
    pub versions: Vec<String>,
    pub train_seconds: f64,
    pub events_per_second: f64,
}

/// The encoded rows of one batch, with what the frozen model reads.
struct BatchRows {
    live: EncodedData,
    frozen: Option<EncodedData>,
    truth: Vec<f32>,
}

/// The model frozen after the first window, with the ids it knew then.
struct Frozen {
    model: RankingModel,
    preprocessor: Preprocessor,
}

/// Reads one stream file: its rows and, if asked, each row's true probability.
fn read_stream_file(
    path: &Path,
    spec: &CsvSpec,
    truth_column: Option<&str>,
) -> Result<(RawTable, Vec<f32>)> {
    let raw = read_csv(path, spec, ReadOptions::default())?;
    let mut truth = Vec::new();
    if let Some(column) = truth_column {
        truth.reserve(raw.num_rows());
        for_each_row(path, Some(spec.delimiter), &[column], |line, cells| {
            let text = std::str::from_utf8(cells[0].trim_ascii()).unwrap_or("");
            let p: f32 = text.parse().map_err(|_| {
                DataError::malformed(
                    path,
                    Some(line),
                    Some(column),
                    format!("'{text}' is not a probability"),
                )
            })?;
            truth.push(p);
            Ok(())
        })?;
        anyhow::ensure!(
            truth.len() == raw.num_rows(),
            "{}: {} rows but {} values of '{column}'",
            path.display(),
            raw.num_rows(),
            truth.len()
        );
    }
    Ok((raw, truth))
}

/// Global table rows of the (field, local id) pairs in `recycled`.
fn global_rows(layout: &FeatureLayout, recycled: &[Vec<u32>]) -> Vec<i32> {
    let mut offset = 0usize;
    let mut rows = Vec::new();
    for ((_, cardinality), ids) in layout.categorical.iter().zip(recycled) {
        rows.extend(ids.iter().map(|&id| (offset + id as usize) as i32));
        offset += cardinality;
    }
    rows
}

/// Writes version `name` of the model into `versions/name`, through a
/// hidden directory renamed into place: a reader sees all of it or none.
fn export_version(
    config: &OnlineRunConfig,
    versions: &Path,
    name: &str,
    model: &RankingModel,
    preprocessor: &Preprocessor,
    layout: &FeatureLayout,
    summary: &OnlineSummary,
) -> Result<PathBuf> {
    let partial = versions.join(format!(".{name}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)
            .with_context(|| format!("removing {}", partial.display()))?;
    }
    let data = DataConfig::from(Csv {
        train: config.stream.path.clone(),
        valid: None,
        test: config.stream.path.clone(),
        schema: config.stream.schema.clone(),
    });
    let mut writer = ArtifactWriter::create(&partial)?;
    writer.preprocessor(&Some(preprocessor))?;
    writer.weights(MODEL, model, false)?;
    writer.run_config(config)?;
    writer.finish(ManifestEntry {
        family: Family::Ranking,
        model: serde_json::to_value(&config.model)?,
        data: serde_json::to_value(&data)?,
        layout: layout.clone(),
        metrics: serde_json::to_value(summary)?,
        trained_on: config.common.device.to_string(),
    })?;
    let done = versions.join(name);
    std::fs::rename(&partial, &done)
        .with_context(|| format!("renaming {} to {}", partial.display(), done.display()))?;
    Ok(done)
}

/// The number of the newest `vNNNNNN` version in `versions` (0: none), so
/// a new run's versions sort after an earlier run's and a watching server
/// takes them as newer.
fn latest_version_number(versions: &Path) -> Result<u64> {
    let mut latest = 0;
    for entry in
        std::fs::read_dir(versions).with_context(|| format!("reading {}", versions.display()))?
    {
        let name = entry?.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_prefix('v'))
            .and_then(|n| n.parse::<u64>().ok())
        {
            latest = latest.max(n);
        }
    }
    Ok(latest)
}

/// Deletes all but the newest `keep` versions (0: keeps all).
fn prune_versions(versions: &Path, names: &[String], keep: usize) -> Result<()> {
    if keep == 0 || names.len() <= keep {
        return Ok(());
    }
    for name in &names[..names.len() - keep] {
        let dir = versions.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
    }
    Ok(())
}

/// Runs `config` over its stream to the end.
pub fn run_online(config: &OnlineRunConfig) -> Result<OnlineSummary> {
    config.validate()?;
    let t = &config.train;
    let o = &config.online;
    let run = RunContext::start(config, t.seed)?;
    let spec = CsvSpec::from_file(&config.stream.schema)?;
    let truth_column = config.stream.true_probability.as_deref();
    let mut files = StreamFiles::new(&config.stream)?;
    let versions_dir = config.versions_dir();
    std::fs::create_dir_all(&versions_dir)
        .with_context(|| format!("creating {}", versions_dir.display()))?;

    let mut summary = OnlineSummary {
        name: config.common.name.clone(),
        model: config.model.kind.name().to_owned(),
        events: 0,
        files: 0,
        windows: Vec::new(),
        versions: Vec::new(),
        train_seconds: 0.0,
        events_per_second: 0.0,
    };
    let first_version = latest_version_number(&versions_dir)? + 1;
    let version_name = |count: usize| format!("v{:06}", first_version + count as u64);
    let mut encoder: Option<OpenEncoder> = None;
    let mut layout = FeatureLayout::default();
    let mut model: Option<RankingModel> = None;
    let mut frozen: Option<Frozen> = None;
    let mut stepper = Stepper::new(t);
    let mut pending = WindowRows::default();
    let mut position = 0u64;
    let mut last_export = (0u64, Instant::now());
    let started = Instant::now();
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]")
            .expect("a valid template"),
    );

    while let Some(path) = files.next_file()? {
        let (raw, truth) = read_stream_file(&path, &spec, truth_column)?;
        summary.files += 1;
        let encoder = match &mut encoder {
            Some(e) => e,
            None => {
                let e = OpenEncoder::new(&spec.schema, &raw, o.admission, |name| {
                    o.capacity
                        .get(name)
                        .copied()
                        .unwrap_or(o.admission.capacity)
                })?;
                layout = e.layout();
                model = Some(
                    config
                        .model
                        .init(&layout, &run.train_device)
                        .map_err(anyhow::Error::msg)?,
                );
                encoder.insert(e)
            }
        };
        let n = raw.num_rows();
        let mut start = 0;
        while start < n {
            // A batch never straddles a window, so the frozen model starts
            // exactly at the second window.
            let to_window = o.window_events - position % o.window_events;
            let end = (start + t.batch_size)
                .min(n)
                .min(start + to_window as usize);
            let rows: Vec<usize> = (start..end).collect();
            let part = raw.take(&rows);
            let batch = BatchRows {
                live: encoder.encode(&part, position)?,
                frozen: frozen
                    .as_ref()
                    .map(|f| f.preprocessor.transform(&part))
                    .transpose()?,
                truth: if truth.is_empty() {
                    Vec::new()
                } else {
                    truth[start..end].to_vec()
                },
            };
            position += (end - start) as u64;
            // Rows that changed owner start afresh before anyone reads them.
            let recycled = global_rows(&layout, &encoder.expire(position));
            let current = model.take().expect("initialised with the first file");
            let current = stepper
                .row_sparse
                .as_mut()
                .expect("validated: row-sparse")
                .reset_rows(current, &recycled);
            // Progressive validation: score, then train.
            let all: Vec<usize> = (0..batch.live.num_rows).collect();
            let scores = current
                .valid()
                .predict_proba(&batch.live, t.eval_batch_size, &run.device);
            let frozen_scores = match (&frozen, &batch.frozen) {
                (Some(f), Some(data)) => {
                    f.model.predict_proba(data, t.eval_batch_size, &run.device)
                }
                _ => Vec::new(),
            };
            pending.push(&batch.live.labels, &scores, &frozen_scores, &batch.truth);
            let (trained, _loss) = stepper.step(
                current,
                Batch::from_rows(&batch.live, &all, &run.train_device),
            );
            model = Some(trained);

            if position.is_multiple_of(o.window_events) {
                let window = pending.take(o.window_events as usize);
                let m = window.measure();
                let counts = encoder.counts();
                let record = WindowRecord {
                    window: summary.windows.len() + 1,
                    events: position,
                    positive_rate: m.positive_rate,
                    auc: m.online.auc,
                    logloss: m.online.logloss,
                    frozen_auc: m.frozen.and_then(|s| s.auc),
                    frozen_logloss: m.frozen.map(|s| s.logloss),
                    oracle_auc: m.truth.and_then(|s| s.auc),
                    oracle_logloss: m.truth.map(|s| s.logloss),
                    live_rows: counts.iter().map(|(_, c)| c.live).sum(),
                    admitted: counts.iter().map(|(_, c)| c.admitted).sum(),
                    evicted: counts.iter().map(|(_, c)| c.evicted).sum(),
                    peak_rss_mib: peak_rss_mib(),
                };
                tracing::info!(
                    window = record.window,
                    events = position,
                    auc = ?record.auc,
                    oracle = ?record.oracle_auc,
                    frozen = ?record.frozen_auc,
                    live_rows = record.live_rows,
                    admitted = record.admitted,
                    evicted = record.evicted,
                    "window"
                );
                for (field, c) in &counts {
                    tracing::debug!(
                        field,
                        live = c.live,
                        candidates = c.candidates,
                        admitted = c.admitted,
                        evicted = c.evicted,
                        refused_full = c.refused_full,
                        "vocabulary"
                    );
                }
                summary.windows.push(record);
                if o.frozen_baseline && frozen.is_none() {
                    frozen = Some(Frozen {
                        model: model.as_ref().expect("trained").valid(),
                        preprocessor: encoder.snapshot(),
                    });
                }
            }
            let due_events =
                o.export_every_events > 0 && position - last_export.0 >= o.export_every_events;
            let due_time = o.export_every_seconds > 0.0
                && last_export.1.elapsed().as_secs_f64() >= o.export_every_seconds;
            if due_events || due_time {
                let name = version_name(summary.versions.len());
                summary.events = position;
                export_version(
                    config,
                    &versions_dir,
                    &name,
                    &model.as_ref().expect("trained").valid(),
                    &encoder.snapshot(),
                    &layout,
                    &summary,
                )?;
                tracing::info!(version = %name, events = position, "exported");
                summary.versions.push(name);
                prune_versions(&versions_dir, &summary.versions, o.keep_versions)?;
                last_export = (position, Instant::now());
            }
            start = end;
        }
        let seconds = started.elapsed().as_secs_f64();
        bar.set_message(format!(
            "{} events, {} files, {:.0} events/s",
            position,
            summary.files,
            position as f64 / seconds.max(1e-9)
        ));
        bar.tick();
    }
    bar.finish_and_clear();
    anyhow::ensure!(
        position > 0,
        "stream {}: no events",
        config.stream.path.display()
    );
    summary.events = position;
    summary.train_seconds = started.elapsed().as_secs_f64();
    summary.events_per_second = position as f64 / summary.train_seconds.max(1e-9);
    // The last version holds everything trained.
    let encoder = encoder.expect("a file was read");
    let name = version_name(summary.versions.len());
    if last_export.0 < position {
        export_version(
            config,
            &versions_dir,
            &name,
            &model.as_ref().expect("trained").valid(),
            &encoder.snapshot(),
            &layout,
            &summary,
        )?;
        summary.versions.push(name);
        prune_versions(&versions_dir, &summary.versions, o.keep_versions)?;
    }
    write_report(&run.run_dir, &summary)?;
    Ok(summary)
}

/// `summary.json`, `windows.md` and `auc_over_time.svg` in the run directory.
fn write_report(dir: &Path, summary: &OnlineSummary) -> Result<()> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        ember_models::artifact::write_atomic(&path, text.as_bytes())
    };
    write("summary.json", serde_json::to_string_pretty(summary)?)?;
    write("windows.md", markdown_table(&summary.windows))?;
    let title = format!("{}: progressive AUC per window", summary.name);
    write(
        "auc_over_time.svg",
        auc_chart(&title, &summary.windows).to_svg(),
    )?;
    Ok(())
}
