//! ml100k-ctr (PROTOCOLS.md): MovieLens-100K ratings joined with users and
//! items, split by time.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DataSource;
use crate::error::Result;
use crate::paths::default_data_root;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::readers::movielens::{RatingLabel, movielens_schema, read_movielens};
use crate::splits;

/// PROTOCOLS.md ml100k-ctr; `labels` adds tasks (e.g. `["like", "love"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ml100kCtr {
    /// The data directory holding `ml-100k/`.
    pub root: PathBuf,
    pub labels: Vec<RatingLabel>,
    /// Users and items with fewer training rows share the OOV id
    /// (see [`crate::readers::movielens::movielens_schema`]).
    pub id_min_count: u32,
}

impl Default for Ml100kCtr {
    /// The protocol's: one task, rating ≥ 4; every id its own.
    fn default() -> Self {
        Self {
            root: default_data_root(),
            labels: vec![RatingLabel::AtLeast4],
            id_min_count: 1,
        }
    }
}

impl DataSource for Ml100kCtr {
    const NAME: &'static str = "ml100k-ctr";
    const DESCRIPTION: &'static str =
        "MovieLens-100K ratings joined with users and items; label rating>=4; time split 80/10/10";

    fn builtin(data_root: &Path) -> Option<Self> {
        Some(Self {
            root: data_root.to_owned(),
            ..Self::default()
        })
    }

    fn load(&self) -> Result<PreparedData> {
        let dir = self.root.join("ml-100k");
        let ml = read_movielens(
            &dir,
            &dir.join("u.data"),
            &self.labels,
            ReadOptions::default(),
        )?;
        let parts = splits::time_split(&ml.timestamp, &ml.user, &ml.item);
        PreparedData::fit(
            &movielens_schema(&self.labels, self.id_min_count),
            parts.map(|rows| ml.table.take(&rows)),
        )
    }

    /// A ratings file in the u.data layout, joined with `u.user` / `u.item`
    /// under the config's root.
    fn read_for_prediction(&self, path: &Path, options: ReadOptions) -> Result<RawTable> {
        Ok(read_movielens(&self.root.join("ml-100k"), path, &self.labels, options)?.table)
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        vec![&mut self.root]
    }
}
