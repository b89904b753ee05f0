//! libfm: libFM files, the k-th feature being field k.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::frappe_ctr;
use super::split_files::{SplitFiles, split_file_paths};
use super::{DataSource, InputShare};
use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::readers::libfm::{libfm_schema, read_libfm};

/// libFM files, the k-th feature being field k; without `valid`, a seeded
/// 10 % of train.
// `num_fields` defaults alone: a struct-wide `#[serde(default)]` would make
// the files optional too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Libfm {
    pub train: PathBuf,
    pub valid: Option<PathBuf>,
    pub test: PathBuf,
    /// Frappe's 10 unless given.
    #[serde(default = "Libfm::frappe_fields")]
    pub num_fields: usize,
}

impl Libfm {
    /// Loads the files' splits, or a rank's share of each.
    fn load_splits(&self, share: Option<InputShare<'_>>) -> Result<PreparedData> {
        let files = SplitFiles {
            train: &self.train,
            valid: self.valid.as_deref(),
            test: &self.test,
        };
        files.load(
            &libfm_schema(self.num_fields),
            |path, options| read_libfm(path, self.num_fields, options),
            share,
        )
    }

    fn frappe_fields() -> usize {
        frappe_ctr::FIELDS
    }
}

impl DataSource for Libfm {
    const NAME: &'static str = "libfm";
    const DESCRIPTION: &'static str = "libFM files, k-th feature = field k";

    fn load(&self) -> Result<PreparedData> {
        self.load_splits(None)
    }

    fn load_share(&self, share: InputShare<'_>) -> Result<PreparedData> {
        self.load_splits(Some(share))
    }

    /// A libFM file with as many fields.
    fn read_for_prediction(&self, path: &Path, options: ReadOptions) -> Result<RawTable> {
        read_libfm(path, self.num_fields, options)
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        split_file_paths(&mut self.train, &mut self.valid, &mut self.test)
    }
}
