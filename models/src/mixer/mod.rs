//! The RL mixer: which content type fills the next feed slot.
//!
//! - [`input`]: a slot view → input vector (shared by training and serving);
//! - [`dqn_gru`]: the Q-network (GRU session state + Q-head, or GRU-free);
//! - [`policy`]: the greedy policy of a Q-network over batches of sessions;
//! - [`spec`]: what an exported mixer records to be rebuilt.

pub mod dqn_gru;
pub mod input;
pub mod policy;
pub mod spec;

pub use dqn_gru::{MixerConfig, MixerQNet};
pub use input::MixerInput;
pub use policy::QPolicy;
pub use spec::MixerSpec;
