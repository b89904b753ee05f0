//! interaction-log: your own log (events, user and item tables, item
//! vectors; see [`crate::interactions`]). One config serves every stage:
//! a two-tower model trains on its positives, a ranker on its positives
//! beside sampled negatives, and a serving pipeline's catalog reads it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DataSource;
use crate::error::{DataError, Result};
use crate::event_labels::event_label_tables;
use crate::implicit::{
    HardSampling, ImplicitOptions, implicit_rows_for, implicit_schema, prepare_implicit,
};
use crate::interactions::tables::for_each_row;
use crate::interactions::{
    EventsFile, HardNegatives, LogDataset, LogFiles, SideFile, SplitConfig, UnknownIds,
};
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;

fn default_history_len() -> usize {
    50
}
fn default_negatives() -> usize {
    4
}
fn default_eval_negatives() -> usize {
    99
}
fn default_seed() -> u64 {
    42
}
fn default_hard_share() -> f64 {
    0.5
}
fn default_label() -> String {
    "positive".to_owned()
}

/// A log's files and how to split and sample it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteractionLog {
    // Boxed: the file layouts are large, and every data config is the size
    // of its largest source.
    pub events: Box<EventsFile>,
    #[serde(default)]
    pub users: Option<Box<SideFile>>,
    #[serde(default)]
    pub items: Option<Box<SideFile>>,
    /// Item vectors in a safetensors file (`vectors` `[n, d]` and the ids;
    /// see `interactions::vectors`), when the item table has no vector column.
    #[serde(default)]
    pub item_vectors: Option<PathBuf>,
    /// Event types that are positives (empty: every event).
    #[serde(default)]
    pub positives: Vec<String>,
    #[serde(default)]
    pub unknown_ids: UnknownIds,
    #[serde(default)]
    pub split: SplitConfig,
    /// Recent train positives in the `history` field (0: none, rankers only).
    #[serde(default = "default_history_len")]
    pub history_len: usize,
    /// Rankers: items without a positive per training positive.
    #[serde(default = "default_negatives")]
    pub negatives: usize,
    /// Rankers: items without a positive per validation / test positive.
    #[serde(default = "default_eval_negatives")]
    pub eval_negatives: usize,
    /// Rankers: negatives ∝ (train count + 1)^this; 0 draws uniformly.
    #[serde(default)]
    pub popularity_power: f64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Rankers: the label (task) name.
    #[serde(default = "default_label")]
    pub label: String,
    /// Multi-task rankers: one task per event type named here. Rows are
    /// then the (user, item) pairs the log shows, each task 1 when the
    /// pair has an event of its type (`event_labels`), instead of
    /// positives beside sampled negatives.
    #[serde(default)]
    pub tasks: Vec<String>,
    /// Rankers: the recall stage's candidates per user (`ember candidates`),
    /// from which `hard_share` of the training negatives are drawn.
    #[serde(default)]
    pub hard_negatives: Option<PathBuf>,
    #[serde(default = "default_hard_share")]
    pub hard_share: f64,
}

impl InteractionLog {
    fn dataset(&self) -> Result<LogDataset> {
        let log = LogFiles {
            events: &self.events,
            users: self.users.as_deref(),
            items: self.items.as_deref(),
            item_vectors: self.item_vectors.as_deref(),
            positives: &self.positives,
            unknown_ids: self.unknown_ids,
        }
        .read()?;
        LogDataset::new(log, &self.split, self.history_len)
    }
}

impl DataSource for InteractionLog {
    const NAME: &'static str = "interaction-log";
    const DESCRIPTION: &'static str = "your own log: events + user and item tables (CSV or Parquet) + item vectors; two-tower, rankers and the serving catalog from one config";

    /// Ranker rows: positives and sampled negatives (see `implicit`), or
    /// with `tasks` one row per shown pair with a label per event type.
    fn load(&self) -> Result<PreparedData> {
        if !self.tasks.is_empty() {
            let dataset = self.dataset()?;
            let splits = event_label_tables(&dataset, &self.split, &self.tasks, self.history_len)?;
            return PreparedData::fit(
                &implicit_schema(&dataset, self.history_len, &self.tasks),
                splits,
            );
        }
        let sampling = ImplicitOptions {
            negatives: self.negatives,
            eval_negatives: self.eval_negatives,
            history_len: self.history_len,
            popularity_power: self.popularity_power,
            seed: self.seed,
        };
        let dataset = self.dataset()?;
        let candidates = self
            .hard_negatives
            .as_deref()
            .map(|path| HardNegatives::read(path, &dataset.log))
            .transpose()?;
        let hard = candidates.as_ref().map(|candidates| HardSampling {
            candidates,
            share: self.hard_share,
        });
        prepare_implicit(&dataset, sampling, hard, &self.label)
    }

    /// (user, item) pairs to score, in the events file's layout (its user
    /// and item columns), each with the user's train history.
    fn read_for_prediction(&self, path: &Path, _options: ReadOptions) -> Result<RawTable> {
        let mut pairs = Vec::new();
        let columns = [self.events.user.as_str(), self.events.item.as_str()];
        for_each_row(path, self.events.delimiter, &columns, |line, cells| {
            let text = |i: usize| {
                std::str::from_utf8(cells[i].trim_ascii())
                    .map(str::to_owned)
                    .map_err(|_| {
                        DataError::malformed(path, Some(line), Some(columns[i]), "not UTF-8")
                    })
            };
            pairs.push((text(0)?, text(1)?));
            Ok(())
        })?;
        implicit_rows_for(&self.dataset()?, &pairs, self.history_len)
    }

    fn log_dataset(&self) -> Option<Result<LogDataset>> {
        Some(self.dataset())
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        let mut paths = vec![&mut self.events.path];
        for side in [&mut self.users, &mut self.items].into_iter().flatten() {
            paths.push(&mut side.path);
            paths.extend(side.schema.as_mut());
        }
        paths.extend(self.item_vectors.as_mut());
        paths.extend(self.hard_negatives.as_mut());
        paths
    }
}
