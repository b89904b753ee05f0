//! The data sources a run config can name (`[data] source = "..."`), one
//! file each, and their registration.
//!
//! # Adding a source
//!
//! One new file and one registration line. The file, say
//! `sources/my_clicks.rs`, holds the config and its [`DataSource`]:
//!
//! ```ignore
//! use std::path::{Path, PathBuf};
//!
//! use serde::{Deserialize, Serialize};
//!
//! use super::DataSource;
//! use crate::error::Result;
//! use crate::prepared::PreparedData;
//! use crate::raw::RawTable;
//! use crate::readers::ReadOptions;
//!
//! /// Clicks from my log, `dir/clicks.csv`.
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
//! #[serde(default, deny_unknown_fields)]
//! pub struct MyClicks {
//!     pub dir: PathBuf,
//! }
//!
//! impl Default for MyClicks { /* what a config may leave out */ }
//!
//! impl DataSource for MyClicks {
//!     const NAME: &'static str = "my-clicks"; // MyClicks in kebab case
//!     const DESCRIPTION: &'static str = "clicks from my log";
//!     fn load(&self) -> Result<PreparedData> { /* read, split, PreparedData::fit */ }
//!     fn read_for_prediction(&self, path: &Path, options: ReadOptions) -> Result<RawTable> { /* ... */ }
//!     fn paths_mut(&mut self) -> Vec<&mut PathBuf> { vec![&mut self.dir] }
//! }
//! ```
//!
//! and the line `my_clicks::MyClicks,` in the list below. That generates the
//! `DataConfig::MyClicks` variant (`source = "my-clicks"`), its dispatch,
//! and its line in `ember datasets`; the registry's tests then check its
//! name and that it rejects unknown keys.

mod data_source;
mod generated;
#[macro_use]
mod registration;
mod split_files;

use std::path::Path;

pub use data_source::{DataSource, InputShare};
pub use registration::RegisteredSource;

register_data_sources! {
    frappe_ctr::FrappeCtr,
    ml100k_ctr::Ml100kCtr,
    ml100k_retrieval::Ml100kRetrieval,
    ml100k_implicit::Ml100kImplicit,
    interaction_log::InteractionLog,
    synthetic_ctr::SyntheticCtr,
    criteo_synth::CriteoSynth,
    mmoe_synthetic::MmoeSynthetic,
    click_conversion::ClickConversion,
    csv::Csv,
    libfm::Libfm,
    criteo_tsv::CriteoTsv,
    parquet::Parquet,
}

impl DataConfig {
    /// Makes relative paths relative to `base` (the directory of the config
    /// file that named them), leaving absolute paths alone.
    pub fn resolve_paths(&mut self, base: &Path) {
        for path in self.paths_mut() {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
}
