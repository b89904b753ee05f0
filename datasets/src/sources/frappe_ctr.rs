//! frappe-ctr (PROTOCOLS.md): Frappe app usage, libFM, 10 categorical fields.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DataSource;
use crate::error::Result;
use crate::paths::default_data_root;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::readers::libfm::{libfm_schema, read_libfm};
use crate::splits;

/// Frappe's fields: the k-th libFM feature is field k.
pub(super) const FIELDS: usize = 10;

/// PROTOCOLS.md frappe-ctr: train and validation from
/// `frappe/frappe.validation.libfm` (every tenth row validation), test
/// `frappe/frappe.test.libfm`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FrappeCtr {
    /// The data directory holding `frappe/`.
    pub root: PathBuf,
}

impl Default for FrappeCtr {
    fn default() -> Self {
        Self {
            root: default_data_root(),
        }
    }
}

impl DataSource for FrappeCtr {
    const NAME: &'static str = "frappe-ctr";
    const DESCRIPTION: &'static str = "Frappe app usage, libFM, 10 categorical fields; PROTOCOLS.md split (51,950 / 5,772 / 28,860)";

    fn builtin(data_root: &Path) -> Option<Self> {
        Some(Self {
            root: data_root.to_owned(),
        })
    }

    fn load(&self) -> Result<PreparedData> {
        let dir = self.root.join("frappe");
        let options = ReadOptions::default();
        let all = read_libfm(&dir.join("frappe.validation.libfm"), FIELDS, options)?;
        let (train, valid) = splits::frappe_split(all.num_rows());
        let test = read_libfm(&dir.join("frappe.test.libfm"), FIELDS, options)?;
        PreparedData::fit(
            &libfm_schema(FIELDS),
            [all.take(&train), all.take(&valid), test],
        )
    }

    /// A libFM file.
    fn read_for_prediction(&self, path: &Path, options: ReadOptions) -> Result<RawTable> {
        read_libfm(path, FIELDS, options)
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        vec![&mut self.root]
    }
}
