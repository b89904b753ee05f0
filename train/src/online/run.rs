//! `ember online`: trains on a time-ordered stream, each batch once, in
//! order. Every batch is scored before it is trained on (progressive
//! validation, [`super::progressive`]); every `export_every_events` events
//! or `export_every_seconds` a version is exported atomically into the
//! versions directory ([`super::versions`]), which `ember serve --watch`
//! picks up.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use burn::prelude::*;
use ember_datasets::interactions::tables::for_each_row;
use ember_datasets::open_encoder::OpenEncoder;
use ember_datasets::readers::{CsvSpec, ReadOptions, read_csv};
use ember_datasets::{DataError, FeatureLayout, Preprocessor, RawTable, Schema};
use ember_models::{Batch, RankingModel};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};

use super::config::OnlineRunConfig;
use super::progressive::{
    WindowMetrics, WindowRecord, WindowRows, auc_chart, markdown_table, peak_rss_mib,
};
use super::stream::StreamFiles;
use super::versions::Versions;
use crate::id_dropout::IdDropout;
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

/// Per global table row, its field's learning-rate scale (1 by default).
fn row_scale(
    layout: &FeatureLayout,
    scales: &std::collections::BTreeMap<String, f64>,
) -> Result<Vec<f32>> {
    if let Some(name) = scales
        .keys()
        .find(|n| !layout.categorical.iter().any(|(f, _)| f == *n))
    {
        anyhow::bail!("online.lr_scale.{name}: no such categorical field");
    }
    Ok(layout
        .categorical
        .iter()
        .flat_map(|(name, cardinality)| {
            let s = scales.get(name).copied().unwrap_or(1.0) as f32;
            std::iter::repeat_n(s, *cardinality)
        })
        .collect())
}

/// The model frozen after the first window, with the ids it knew then.
struct Frozen {
    model: RankingModel,
    preprocessor: Preprocessor,
}

/// The model, its open vocabularies and optimizer, set up from the
/// stream's first file.
struct Learner {
    encoder: OpenEncoder,
    layout: FeatureLayout,
    /// Taken out for each step (the step consumes and returns it).
    model: Option<RankingModel>,
    stepper: Stepper,
    frozen: Option<Frozen>,
    /// `train.id_dropout`: training rows' ids replaced by OOV at random
    /// (scoring sees them all), its own random stream.
    id_dropout: Option<(IdDropout, SmallRng)>,
}

impl Learner {
    fn new(
        config: &OnlineRunConfig,
        run: &RunContext,
        schema: &Schema,
        first: &RawTable,
    ) -> Result<Self> {
        let o = &config.online;
        let encoder = OpenEncoder::new(schema, first, o.admission, |name| {
            o.capacity
                .get(name)
                .copied()
                .unwrap_or(o.admission.capacity)
        })?;
        let layout = encoder.layout();
        let model = config
            .model
            .init(&layout, &run.train_device)
            .map_err(anyhow::Error::msg)?;
        let id_dropout = IdDropout::new(&layout, &config.train.id_dropout)?
            .map(|d| (d, SmallRng::seed_from_u64(!config.train.seed)));
        let mut stepper = Stepper::new(&config.train);
        if !o.lr_scale.is_empty() {
            let scale = row_scale(&layout, &o.lr_scale)?;
            stepper
                .row_sparse
                .as_mut()
                .expect("validated: row-sparse")
                .set_row_scale(Tensor::from_data(
                    TensorData::new(scale.clone(), [scale.len()]),
                    &run.train_device,
                ));
        }
        Ok(Self {
            encoder,
            layout,
            model: Some(model),
            stepper,
            frozen: None,
            id_dropout,
        })
    }

    fn model(&self) -> &RankingModel {
        self.model
            .as_ref()
            .expect("the model is back after every step")
    }

    /// Scores `rows` (stream positions `position..`) with the model as it
    /// stands, and with the frozen one, into `pending`; then trains on them.
    fn step(
        &mut self,
        rows: &RawTable,
        truth: &[f32],
        position: u64,
        run: &RunContext,
        eval_batch: usize,
        pending: &mut WindowRows,
    ) -> Result<()> {
        let live = self.encoder.encode(rows, position)?;
        let frozen_scores = match &self.frozen {
            Some(f) => {
                f.model
                    .predict_proba(&f.preprocessor.transform(rows)?, eval_batch, &run.device)
            }
            None => Vec::new(),
        };
        // Rows that changed owner start afresh before anyone reads them.
        let end = position + rows.num_rows() as u64;
        let recycled = global_rows(&self.layout, &self.encoder.expire(end));
        let model = self
            .model
            .take()
            .expect("the model is back after every step");
        let model = self
            .stepper
            .row_sparse
            .as_mut()
            .expect("validated: row-sparse")
            .reset_rows(model, &recycled);
        let scores = model.valid().predict_proba(&live, eval_batch, &run.device);
        pending.push(&live.labels, &scores, &frozen_scores, truth);
        let all: Vec<usize> = (0..live.num_rows).collect();
        let train_rows = match &mut self.id_dropout {
            Some((dropout, rng)) => dropout.take(&live, &all, rng),
            None => live,
        };
        let (model, _loss) = self.stepper.step(
            model,
            Batch::from_rows(&train_rows, &all, &run.train_device),
        );
        self.model = Some(model);
        Ok(())
    }

    /// Keeps the model and its ids as they are now, never to train again.
    fn freeze(&mut self) {
        self.frozen = Some(Frozen {
            model: self.model().valid(),
            preprocessor: self.encoder.snapshot(),
        });
    }

    /// A window's record, with the vocabularies' counts as they stand.
    fn record(&self, window: usize, events: u64, m: WindowMetrics) -> WindowRecord {
        let counts = self.encoder.counts();
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
        let record = WindowRecord {
            window,
            events,
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
            window,
            events,
            auc = ?record.auc,
            true_p = ?record.oracle_auc,
            frozen = ?record.frozen_auc,
            live_rows = record.live_rows,
            admitted = record.admitted,
            evicted = record.evicted,
            "window"
        );
        record
    }

    fn export(
        &self,
        config: &OnlineRunConfig,
        versions: &mut Versions,
        position: u64,
        summary: &OnlineSummary,
    ) -> Result<()> {
        versions.export(
            config,
            position,
            &self.model().valid(),
            &self.encoder.snapshot(),
            &self.layout,
            summary,
        )?;
        Ok(())
    }
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
    let mut versions = Versions::open(config)?;
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
    let mut learner: Option<Learner> = None;
    let mut pending = WindowRows::default();
    let mut position = 0u64;
    let started = Instant::now();
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]")
            .expect("a valid template"),
    );

    while let Some(path) = files.next_file()? {
        let (raw, truth) = read_stream_file(&path, &spec, truth_column)?;
        summary.files += 1;
        let learner = match &mut learner {
            Some(l) => l,
            None => learner.insert(Learner::new(config, &run, &spec.schema, &raw)?),
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
            let rows = raw.take(&(start..end).collect::<Vec<_>>());
            let truth = truth.get(start..end).unwrap_or_default();
            learner.step(
                &rows,
                truth,
                position,
                &run,
                t.eval_batch_size,
                &mut pending,
            )?;
            position += (end - start) as u64;
            if position.is_multiple_of(o.window_events) {
                let window = pending.take(o.window_events as usize).measure();
                let record = learner.record(summary.windows.len() + 1, position, window);
                summary.windows.push(record);
                if o.frozen_baseline && learner.frozen.is_none() {
                    learner.freeze();
                }
            }
            if versions.due(position) {
                summary.events = position;
                learner.export(config, &mut versions, position, &summary)?;
                summary.versions = versions.names.clone();
            }
            start = end;
        }
        bar.set_message(format!(
            "{} events, {} files, {:.0} events/s",
            position,
            summary.files,
            position as f64 / started.elapsed().as_secs_f64().max(1e-9)
        ));
        bar.tick();
    }
    bar.finish_and_clear();
    let Some(learner) = learner else {
        anyhow::bail!("stream {}: no files", config.stream.path.display());
    };
    anyhow::ensure!(
        position > 0,
        "stream {}: no events",
        config.stream.path.display()
    );
    summary.events = position;
    summary.train_seconds = started.elapsed().as_secs_f64();
    summary.events_per_second = position as f64 / summary.train_seconds.max(1e-9);
    // The last version holds everything trained.
    if versions.behind(position) {
        learner.export(config, &mut versions, position, &summary)?;
        summary.versions = versions.names.clone();
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
