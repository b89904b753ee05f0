//! parquet: Parquet files read through arrow, columns named by a schema file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::split_files::{SplitFiles, split_file_paths};
use super::{DataSource, InputShare};
use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::readers::csv_schema::CsvSpec;
use crate::readers::parquet::read_parquet;

/// Parquet with a schema file naming its columns (the same schema files as
/// csv's; only their field list is used); without `valid`, a seeded 10 % of
/// train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parquet {
    pub train: PathBuf,
    pub valid: Option<PathBuf>,
    pub test: PathBuf,
    pub schema: PathBuf,
}

impl Parquet {
    /// Loads the files' splits, or a rank's share of each.
    fn load_splits(&self, share: Option<InputShare<'_>>) -> Result<PreparedData> {
        let schema = CsvSpec::from_file(&self.schema)?.schema;
        let files = SplitFiles {
            train: &self.train,
            valid: self.valid.as_deref(),
            test: &self.test,
        };
        files.load(
            &schema,
            |path, options| read_parquet(path, &schema, options),
            share,
        )
    }
}

impl DataSource for Parquet {
    const NAME: &'static str = "parquet";
    const DESCRIPTION: &'static str = "Parquet read through arrow, columns named by a schema file";

    fn load(&self) -> Result<PreparedData> {
        self.load_splits(None)
    }

    fn load_share(&self, share: InputShare<'_>) -> Result<PreparedData> {
        self.load_splits(Some(share))
    }

    /// A Parquet file with the schema file's columns.
    fn read_for_prediction(&self, path: &Path, options: ReadOptions) -> Result<RawTable> {
        read_parquet(path, &CsvSpec::from_file(&self.schema)?.schema, options)
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        let mut paths = split_file_paths(&mut self.train, &mut self.valid, &mut self.test);
        paths.push(&mut self.schema);
        paths
    }
}
