//! ml100k-implicit: MovieLens-100K as implicit feedback for rankers, the
//! MovieLens preset of the interaction log's ranker rows
//! ([`crate::implicit`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DataSource;
use crate::error::Result;
use crate::implicit::{HardSampling, ImplicitOptions, LABEL, implicit_rows_for, prepare_implicit};
use crate::interactions::movielens::read_ml100k;
use crate::interactions::{HardNegatives, LogDataset, SplitConfig};
use crate::paths::default_data_root;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::readers::movielens::read_movielens;

/// ml100k-ctr's fields, ml100k-retrieval's leave-last-out split, every
/// rating a positive beside sampled unrated items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ml100kImplicit {
    /// The data directory holding `ml-100k/`.
    pub root: PathBuf,
    /// Unrated items per training positive.
    pub negatives: usize,
    /// Unrated items per validation / test positive (NCF: 99).
    pub eval_negatives: usize,
    /// Recent train items in the `history` field (0: none).
    pub history_len: usize,
    /// Negatives ∝ (train count + 1)^this; 0 draws uniformly.
    pub popularity_power: f64,
    pub seed: u64,
    /// The recall stage's candidates per user (`ember candidates`), from
    /// which `hard_share` of the training negatives are drawn.
    pub hard_negatives: Option<PathBuf>,
    pub hard_share: f64,
}

impl Default for Ml100kImplicit {
    fn default() -> Self {
        Self {
            root: default_data_root(),
            negatives: 4,
            eval_negatives: 99,
            history_len: 20,
            popularity_power: 0.0,
            seed: 42,
            hard_negatives: None,
            hard_share: 0.5,
        }
    }
}

impl Ml100kImplicit {
    fn dataset(&self) -> Result<LogDataset> {
        let log = read_ml100k(&self.root.join("ml-100k"))?;
        LogDataset::new(log, &SplitConfig::LeaveLastOut, self.history_len)
    }
}

impl DataSource for Ml100kImplicit {
    const NAME: &'static str = "ml100k-implicit";
    const DESCRIPTION: &'static str = "MovieLens-100K as implicit feedback for rankers: every rating a positive plus 4 sampled unrated items; leave-last-out, test = 1 held-out + 99 unrated per user";

    fn builtin(data_root: &Path) -> Option<Self> {
        Some(Self {
            root: data_root.to_owned(),
            ..Self::default()
        })
    }

    fn load(&self) -> Result<PreparedData> {
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
        prepare_implicit(&dataset, sampling, hard, LABEL)
    }

    /// Scored pairs in the u.data layout (the rating is not a label here),
    /// with the users' train histories from the source's files.
    fn read_for_prediction(&self, path: &Path, options: ReadOptions) -> Result<RawTable> {
        let dir = self.root.join("ml-100k");
        let read = read_movielens(&dir, path, &[], options)?;
        let pairs: Vec<(String, String)> = read
            .user
            .iter()
            .zip(&read.item)
            .map(|(u, i)| (u.to_string(), i.to_string()))
            .collect();
        let mut table = implicit_rows_for(&self.dataset()?, &pairs, self.history_len)?;
        table.skipped_rows = read.table.skipped_rows;
        Ok(table)
    }

    fn log_dataset(&self) -> Option<Result<LogDataset>> {
        Some(self.dataset())
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        let mut paths = vec![&mut self.root];
        paths.extend(self.hard_negatives.as_mut());
        paths
    }
}
