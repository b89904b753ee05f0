//! What the file sources (csv, libfm, criteo-tsv, parquet) share: a train
//! file, an optional validation file, and a test file, all in one format.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::schema::Schema;
use crate::splits;

/// The share of train that becomes validation when no file is given.
const VALID_FRACTION: f64 = 0.1;
/// Fixed so that every run holds out the same rows.
const VALID_SEED: u64 = 42;

/// The three files of a file source, as its config names them.
#[derive(Debug, Clone, Copy)]
pub(super) struct SplitFiles<'a> {
    pub train: &'a Path,
    /// Without it, validation is a seeded 10 % of train.
    pub valid: Option<&'a Path>,
    pub test: &'a Path,
}

impl SplitFiles<'_> {
    /// Reads the three splits with `read` and fits the preprocessor for
    /// `schema` on train.
    pub fn load(
        self,
        schema: &Schema,
        read: impl Fn(&Path) -> Result<RawTable>,
    ) -> Result<PreparedData> {
        let all_train = read(self.train)?;
        let (train, valid) = match self.valid {
            Some(valid) => (all_train, read(valid)?),
            None => {
                let (train, valid) =
                    splits::random_split(all_train.num_rows(), VALID_FRACTION, VALID_SEED);
                (all_train.take(&train), all_train.take(&valid))
            }
        };
        PreparedData::fit(schema, [train, valid, read(self.test)?])
    }
}

/// A file source's train, valid (when named) and test paths, for its
/// [`DataSource::paths_mut`](super::DataSource::paths_mut).
pub(super) fn split_file_paths<'a>(
    train: &'a mut PathBuf,
    valid: &'a mut Option<PathBuf>,
    test: &'a mut PathBuf,
) -> Vec<&'a mut PathBuf> {
    let mut paths = vec![train, test];
    paths.extend(valid.as_mut());
    paths
}
