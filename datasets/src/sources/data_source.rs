//! The trait every data source implements.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;

/// A data source: the config a `[data]` table holds once `source = NAME`
/// has picked it, and what can be done with it.
///
/// The implementing type is the config itself: its serde fields are the
/// table's keys. It must derive `Debug, Clone, PartialEq, Serialize,
/// Deserialize` with `#[serde(deny_unknown_fields)]` (so that a misspelt key
/// is an error, not a silently used default) and be registered in
/// [`crate::sources`].
pub trait DataSource {
    /// The name configs give it (`source = "frappe-ctr"`); the registration
    /// derives the same name from the type's name in kebab case, and the
    /// registry's tests check that the two agree.
    const NAME: &'static str;

    /// One line on what it holds, for `ember datasets`.
    const DESCRIPTION: &'static str;

    /// The config `ember datasets NAME` describes, with files (if any) under
    /// `data_root`; `None` for a source that needs files a config must name.
    fn builtin(data_root: &Path) -> Option<Self>
    where
        Self: Sized,
    {
        let _ = data_root;
        None
    }

    /// Loads (or generates) the train / validation / test splits and
    /// encodes them.
    fn load(&self) -> Result<PreparedData>;

    /// Reads a new file in the format this source's data was in, for a
    /// model trained on it to score; encode the result with the stored
    /// [`Preprocessor`](crate::Preprocessor). A source without such a
    /// format says why.
    fn read_for_prediction(&self, path: &Path, options: ReadOptions) -> Result<RawTable>;

    /// The interaction log and split behind the source, for a source that
    /// is one (two-tower training and the serving catalog read it); `None`
    /// for a source of ranking rows only.
    fn log_dataset(&self) -> Option<Result<crate::interactions::LogDataset>> {
        None
    }

    /// The paths it names, which
    /// [`DataConfig::resolve_paths`](crate::DataConfig::resolve_paths) makes
    /// relative to the config file.
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        Vec::new()
    }

    /// What `ember datasets NAME` prints about it.
    fn describe(&self) -> Result<String> {
        Ok(self.load()?.described(Self::NAME).field_table(Self::NAME))
    }
}
