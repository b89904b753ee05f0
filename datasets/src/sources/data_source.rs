//! The trait every data source implements.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::{FileShard, ReadOptions};

/// One rank's part of a distributed job's input: which share of each file
/// it reads, and how it exchanges the statistics the preprocessor is
/// fitted on with the other ranks (the job's all-gather: this rank's bytes
/// in, every rank's bytes out in rank order). The datasets crate knows
/// nothing of MPI; training passes the exchange in.
#[derive(Clone, Copy)]
pub struct InputShare<'a> {
    pub shard: FileShard,
    pub exchange: &'a dyn Fn(Vec<u8>) -> Result<Vec<Vec<u8>>>,
}

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

    /// Loads this rank's share of the splits for a distributed job, with
    /// the preprocessor every rank fits alike. File sources read only
    /// their share of each file; the default loads all of the splits and
    /// keeps every `count`-th row (for generated and small built-in data).
    fn load_share(&self, share: InputShare<'_>) -> Result<PreparedData> {
        Ok(self.load()?.keep_share(share.shard))
    }

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
