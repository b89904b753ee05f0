//! click-conversion: impressions → clicks → purchases with known true CTR
//! and CVR (ESMM's sample-selection-bias setting).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::DataSource;
use super::generated::no_file_format;
use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::synthetic::click_conversion;

/// Impressions with labels `click` and `purchase` (= click ∧ conversion)
/// and known true CTR / CVR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClickConversion {
    /// [train, valid, test].
    pub rows: [usize; 3],
    pub seed: u64,
}

impl Default for ClickConversion {
    fn default() -> Self {
        Self {
            rows: click_conversion::DEFAULT_ROWS,
            seed: click_conversion::DEFAULT_SEED,
        }
    }
}

impl DataSource for ClickConversion {
    const NAME: &'static str = "click-conversion";
    const DESCRIPTION: &'static str =
        "impressions -> clicks -> purchases with known true CTR and CVR (ESMM); 200k/20k/50k";

    fn builtin(_data_root: &Path) -> Option<Self> {
        Some(Self::default())
    }

    fn load(&self) -> Result<PreparedData> {
        let g = click_conversion::generate(self.rows, self.seed);
        Ok(PreparedData::born_encoded(
            g.layout,
            [g.train.data, g.valid.data, g.test.data],
        ))
    }

    fn read_for_prediction(&self, _path: &Path, _options: ReadOptions) -> Result<RawTable> {
        Err(no_file_format(Self::NAME))
    }
}
