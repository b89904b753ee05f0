//! criteo-tsv: Criteo's TSV (label, I1..I13, C1..C26).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::split_files::{SplitFiles, split_file_paths};
use super::{DataSource, InputShare};
use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::readers::criteo::{criteo_schema, read_criteo};

/// Criteo TSV files; `min_count` for the vocabularies; without `valid`, a
/// seeded 10 % of train.
// `min_count` defaults alone: a struct-wide `#[serde(default)]` would make
// the files optional too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriteoTsv {
    pub train: PathBuf,
    pub valid: Option<PathBuf>,
    pub test: PathBuf,
    /// Categorical values seen fewer times in train share the OOV id; 1
    /// (every value its own id) unless given.
    #[serde(default = "CriteoTsv::every_value")]
    pub min_count: u32,
}

impl CriteoTsv {
    /// Loads the files' splits, or a rank's share of each.
    fn load_splits(&self, share: Option<InputShare<'_>>) -> Result<PreparedData> {
        let files = SplitFiles {
            train: &self.train,
            valid: self.valid.as_deref(),
            test: &self.test,
        };
        files.load(
            &criteo_schema(self.min_count),
            |path, options| read_criteo(path, self.min_count, options),
            share,
        )
    }

    fn every_value() -> u32 {
        1
    }
}

impl DataSource for CriteoTsv {
    const NAME: &'static str = "criteo-tsv";
    const DESCRIPTION: &'static str = "Criteo TSV: label, 13 integer and 26 categorical fields";

    fn load(&self) -> Result<PreparedData> {
        self.load_splits(None)
    }

    fn load_share(&self, share: InputShare<'_>) -> Result<PreparedData> {
        self.load_splits(Some(share))
    }

    /// A Criteo TSV file.
    fn read_for_prediction(&self, path: &Path, options: ReadOptions) -> Result<RawTable> {
        read_criteo(path, self.min_count, options)
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        split_file_paths(&mut self.train, &mut self.valid, &mut self.test)
    }
}
