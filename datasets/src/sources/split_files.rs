//! What the file sources (csv, libfm, criteo-tsv, parquet) share: a train
//! file, an optional validation file, and a test file, all in one format.

use std::path::{Path, PathBuf};

use super::InputShare;
use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
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
    /// Without it, validation is a seeded 10 % of train (of a rank's share of
    /// train, when sharded).
    pub valid: Option<&'a Path>,
    pub test: &'a Path,
}

impl SplitFiles<'_> {
    /// Reads the three splits with `read` and fits the preprocessor for
    /// `schema` on train. With a `share`, `read` is asked for the rank's
    /// share of each file only, and the preprocessor is fitted on the
    /// statistics of every rank's share of train (the same on every rank,
    /// and the same as fitting on all of train).
    pub fn load(
        self,
        schema: &Schema,
        read: impl Fn(&Path, ReadOptions) -> Result<RawTable>,
        share: Option<InputShare<'_>>,
    ) -> Result<PreparedData> {
        let options = ReadOptions {
            shard: share.map(|s| s.shard),
            ..ReadOptions::default()
        };
        let all_train = read(self.train, options)?;
        let (train, valid) = match self.valid {
            Some(valid) => (all_train, read(valid, options)?),
            None => {
                let (train, valid) =
                    splits::random_split(all_train.num_rows(), VALID_FRACTION, VALID_SEED);
                (all_train.take(&train), all_train.take(&valid))
            }
        };
        let splits = [train, valid, read(self.test, options)?];
        match share {
            None => PreparedData::fit(schema, splits),
            Some(share) => PreparedData::fit_shares(schema, splits, share.exchange),
        }
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
