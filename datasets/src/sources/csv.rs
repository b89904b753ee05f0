//! csv: any CSV files described by a schema file (`configs/schemas/*.toml`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::split_files::{SplitFiles, split_file_paths};
use super::{DataSource, InputShare};
use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::readers::csv_schema::{CsvSpec, read_csv};

/// CSV with a schema file; without `valid`, a seeded 10 % of train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Csv {
    pub train: PathBuf,
    pub valid: Option<PathBuf>,
    pub test: PathBuf,
    /// The columns and how each is encoded ([`CsvSpec`]).
    pub schema: PathBuf,
}

impl Csv {
    /// Loads the files' splits, or a rank's share of each.
    fn load_splits(&self, share: Option<InputShare<'_>>) -> Result<PreparedData> {
        let spec = CsvSpec::from_file(&self.schema)?;
        let files = SplitFiles {
            train: &self.train,
            valid: self.valid.as_deref(),
            test: &self.test,
        };
        files.load(
            &spec.schema,
            |path, options| read_csv(path, &spec, options),
            share,
        )
    }
}

impl DataSource for Csv {
    const NAME: &'static str = "csv";
    const DESCRIPTION: &'static str = "any CSV described by a schema file (configs/schemas/*.toml)";

    fn load(&self) -> Result<PreparedData> {
        self.load_splits(None)
    }

    fn load_share(&self, share: InputShare<'_>) -> Result<PreparedData> {
        self.load_splits(Some(share))
    }

    /// A CSV file matching the schema file.
    fn read_for_prediction(&self, path: &Path, options: ReadOptions) -> Result<RawTable> {
        read_csv(path, &CsvSpec::from_file(&self.schema)?, options)
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        let mut paths = split_file_paths(&mut self.train, &mut self.valid, &mut self.test);
        paths.push(&mut self.schema);
        paths
    }
}
