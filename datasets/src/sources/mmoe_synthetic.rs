//! mmoe-synthetic (PROTOCOLS.md): two regression tasks of controlled
//! correlation (the MMoE paper's synthetic data).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::DataSource;
use super::generated::no_file_format;
use crate::error::Result;
use crate::prepared::PreparedData;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::synthetic::mmoe_synthetic;

/// PROTOCOLS.md mmoe-synthetic: two regression tasks (`y1`, `y2`) whose
/// weight vectors have cosine `correlation`; one dense field `x`.
// Defaults are per field, not `#[serde(default)]` on the struct, which
// would make `correlation`, the one thing a config must choose, optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MmoeSynthetic {
    pub correlation: f64,
    /// Sine frequencies `α_k = alpha_scale·k`; PROTOCOLS.md's is 1.
    #[serde(default = "MmoeSynthetic::protocol_alpha_scale")]
    pub alpha_scale: f64,
    /// [train, valid, test].
    #[serde(default = "MmoeSynthetic::protocol_rows")]
    pub rows: [usize; 3],
    #[serde(default)]
    pub seed: u64,
}

impl MmoeSynthetic {
    /// PROTOCOLS.md's data at task correlation `correlation`.
    pub fn with_correlation(correlation: f64) -> Self {
        Self {
            correlation,
            alpha_scale: Self::protocol_alpha_scale(),
            rows: Self::protocol_rows(),
            seed: 0,
        }
    }

    fn protocol_alpha_scale() -> f64 {
        1.0
    }

    fn protocol_rows() -> [usize; 3] {
        mmoe_synthetic::DEFAULT_ROWS
    }
}

impl DataSource for MmoeSynthetic {
    const NAME: &'static str = "mmoe-synthetic";
    const DESCRIPTION: &'static str = "two regression tasks of controlled correlation p (MMoE paper); 10k/1k/1k rows, one dense field";

    /// At correlation 0.5.
    fn builtin(_data_root: &Path) -> Option<Self> {
        Some(Self::with_correlation(0.5))
    }

    fn load(&self) -> Result<PreparedData> {
        let (_, splits) =
            mmoe_synthetic::generate(self.correlation, self.alpha_scale, self.rows, self.seed)?;
        Ok(PreparedData::born_encoded(mmoe_synthetic::layout(), splits))
    }

    fn read_for_prediction(&self, _path: &Path, _options: ReadOptions) -> Result<RawTable> {
        Err(no_file_format(Self::NAME))
    }
}
