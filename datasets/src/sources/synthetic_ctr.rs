//! synthetic-ctr: generated CTR rows with known click probabilities.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::DataSource;
use super::generated::no_file_format;
use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::synthetic::known_ctr;

/// Generated rows with known click probabilities (no files).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticCtr {
    /// [train, valid, test].
    pub rows: [usize; 3],
    pub seed: u64,
}

impl Default for SyntheticCtr {
    fn default() -> Self {
        Self {
            rows: known_ctr::DEFAULT_ROWS,
            seed: known_ctr::DEFAULT_SEED,
        }
    }
}

impl DataSource for SyntheticCtr {
    const NAME: &'static str = "synthetic-ctr";
    const DESCRIPTION: &'static str =
        "generated CTR rows with known true click probabilities (no files); default 20k/5k/5k";

    fn builtin(_data_root: &Path) -> Option<Self> {
        Some(Self::default())
    }

    fn load(&self) -> Result<PreparedData> {
        let g = known_ctr::generate(self.rows, self.seed);
        Ok(PreparedData::born_encoded(
            g.layout,
            [g.train.data, g.valid.data, g.test.data],
        ))
    }

    fn read_for_prediction(&self, _path: &Path, _options: ReadOptions) -> Result<RawTable> {
        Err(no_file_format(Self::NAME))
    }
}
