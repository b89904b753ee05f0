//! What an exported mixer's manifest records about its network: enough to
//! rebuild it on any backend and to encode serving's session state as in
//! training.

use serde::{Deserialize, Serialize};

use super::dqn_gru::MixerConfig;
use super::input::MixerInput;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixerSpec {
    pub config: MixerConfig,
    pub input: MixerInput,
    /// Content type names, in Q-head output order.
    pub type_names: Vec<String>,
}
