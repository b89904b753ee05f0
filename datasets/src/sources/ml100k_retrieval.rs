//! ml100k-retrieval (PROTOCOLS.md): MovieLens-100K for two-tower retrieval,
//! loaded with [`crate::retrieval::load_retrieval`], not as ranking splits:
//! the MovieLens preset of the interaction log ([`read_ml100k`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{DataConfig, DataSource};
use crate::error::{DataError, Result};
use crate::interactions::movielens::read_ml100k;
use crate::interactions::{LogDataset, SplitConfig};
use crate::paths::default_data_root;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::retrieval::load_retrieval;

/// PROTOCOLS.md ml100k-retrieval: every rating a positive, leave-last-out
/// per user; the user tower sees the `history_len` most recent train items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ml100kRetrieval {
    /// The data directory holding `ml-100k/`.
    pub root: PathBuf,
    pub history_len: usize,
}

impl Default for Ml100kRetrieval {
    fn default() -> Self {
        Self {
            root: default_data_root(),
            history_len: 50,
        }
    }
}

impl DataSource for Ml100kRetrieval {
    const NAME: &'static str = "ml100k-retrieval";
    const DESCRIPTION: &'static str = "MovieLens-100K, every rating a positive; leave-last-out per user (943 test users, 1,682 items); two-tower";

    fn builtin(data_root: &Path) -> Option<Self> {
        Some(Self {
            root: data_root.to_owned(),
            ..Self::default()
        })
    }

    /// Refused: its splits are users and a corpus, not ranking rows.
    fn load(&self) -> Result<PreparedData> {
        Err(DataError::Invalid(
            "ml100k-retrieval is a retrieval source: train it with a two-tower model (configs/ml100k-retrieval/)".to_owned(),
        ))
    }

    fn read_for_prediction(&self, _path: &Path, _options: ReadOptions) -> Result<RawTable> {
        Err(DataError::Invalid(
            "a retrieval model answers `ember retrieve`, not file scoring".to_owned(),
        ))
    }

    fn log_dataset(&self) -> Option<Result<LogDataset>> {
        Some(
            read_ml100k(&self.root.join("ml-100k"))
                .and_then(|log| LogDataset::new(log, &SplitConfig::LeaveLastOut, self.history_len)),
        )
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        vec![&mut self.root]
    }

    fn describe(&self) -> Result<String> {
        Ok(load_retrieval(&DataConfig::from(self.clone()))?.describe())
    }
}
