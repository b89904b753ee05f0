//! criteo-synth: the shared throughput workload
//! (`shared/bench/criteo_synth_spec.md`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::DataSource;
use super::generated::no_file_format;
use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::synthetic::criteo_synth;

/// The criteo-synth workload (spec: 1,048,576 train rows, seed 42); valid
/// and test are further rows of the same ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CriteoSynth {
    /// [train, valid, test].
    pub rows: [usize; 3],
    pub seed: u64,
}

impl Default for CriteoSynth {
    fn default() -> Self {
        Self {
            rows: [criteo_synth::DEFAULT_ROWS, 1 << 16, 1 << 16],
            seed: criteo_synth::DEFAULT_SEED,
        }
    }
}

impl DataSource for CriteoSynth {
    const NAME: &'static str = "criteo-synth";
    const DESCRIPTION: &'static str = "the criteo-synth throughput workload (13 numeric + 26 categorical fields, 1,048,576 train rows, seed 42)";

    fn builtin(_data_root: &Path) -> Option<Self> {
        Some(Self::default())
    }

    fn load(&self) -> Result<PreparedData> {
        let model = criteo_synth::CriteoSynthModel::new(self.seed);
        // One stream per split: the same ground truth, different rows.
        let [train, valid, test] =
            [0, 1, 2].map(|split| model.generate(self.rows[split], split as u64));
        Ok(PreparedData::born_encoded(
            criteo_synth::layout(),
            [train, valid, test],
        ))
    }

    fn read_for_prediction(&self, _path: &Path, _options: ReadOptions) -> Result<RawTable> {
        Err(no_file_format(Self::NAME))
    }
}
