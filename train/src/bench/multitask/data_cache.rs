//! Consecutive runs on the same data (the models of one seed) load or
//! generate it once.

use anyhow::Result;
use ember_datasets::registry::{DataConfig, PreparedData, load};

/// The last data loaded and the config it was loaded from.
#[derive(Default)]
pub(super) struct DataCache {
    last: Option<(DataConfig, PreparedData)>,
}

impl DataCache {
    /// The data of `config`, loaded unless it is the last one asked for.
    pub(super) fn get(&mut self, config: &DataConfig) -> Result<&PreparedData> {
        if self.last.as_ref().is_none_or(|(c, _)| c != config) {
            self.last = Some((config.clone(), load(config)?));
        }
        Ok(&self.last.as_ref().expect("loaded above").1)
    }
}
