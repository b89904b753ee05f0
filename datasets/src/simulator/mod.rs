//! A seeded feed-session simulator for the content-type mixing problem.
//!
//! A feed mixes content types whose click rates differ widely. Each
//! simulated user has a hidden taste per type, tires of a type with
//! repeated exposure (and recovers when it is rested), may press "not
//! interested", and leaves more readily after slots that gave them nothing.
//! A mixing policy picks the type of each slot from what serving can see
//! (the ranking stage's pCTRs and the session's feedback so far).
//!
//! - [`config`]: parameters (`configs/mixer/simulator.toml`), validated;
//! - [`session`]: the dynamics of one session;
//! - [`observation`]: what a policy sees, and a serving log's session state;
//! - [`policy`], [`baselines`]: the policy interface and the non-learning policies;
//! - [`rollout`]: running a policy over a seeded range of sessions.

pub mod baselines;
pub mod config;
pub mod observation;
pub mod policy;
pub mod rollout;
pub mod session;

pub use baselines::{FixedMix, GreedyPctr, RandomPolicy, ShareCappedGreedy};
pub use config::SimConfig;
pub use observation::{Feedback, ServedSlot, SessionState, SlotView};
pub use policy::{MixPolicy, argmax};
pub use rollout::{
    SessionRange, SessionResult, evaluate_policy, mean_clicks, run_sessions, share_of,
};
pub use session::{Session, StepOutcome, session_seed};
