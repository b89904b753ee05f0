//! Running a policy over a stream of simulated sessions.

use super::config::SimConfig;
use super::observation::SlotView;
use super::policy::MixPolicy;
use super::session::{Session, StepOutcome, session_seed};

/// Sessions `start..start + count` of seed stream `stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRange {
    pub stream: u64,
    pub start: u64,
    pub count: usize,
}

impl SessionRange {
    pub fn new(stream: u64, start: u64, count: usize) -> Self {
        Self {
            stream,
            start,
            count,
        }
    }

    /// The same sessions cut into consecutive batches of at most `size`.
    pub fn batches(&self, size: usize) -> impl Iterator<Item = SessionRange> + '_ {
        let size = size.max(1);
        (0..self.count)
            .step_by(size)
            .map(move |offset| SessionRange {
                stream: self.stream,
                start: self.start + offset as u64,
                count: size.min(self.count - offset),
            })
    }
}

/// What one session came to.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionResult {
    pub clicks: u32,
    pub slots: usize,
    /// Slots served per type.
    pub shown: Vec<u32>,
}

/// Runs `policy` over `range` in lockstep, calling `on_step(i, view, action,
/// outcome)` for every served slot of session `i` (its index in the range).
pub fn run_sessions(
    config: &SimConfig,
    range: SessionRange,
    policy: &mut dyn MixPolicy,
    mut on_step: impl FnMut(usize, &SlotView, usize, &StepOutcome),
) -> Vec<SessionResult> {
    let mut sessions: Vec<Session> = (0..range.count as u64)
        .map(|i| Session::new(config, session_seed(range.stream, range.start + i)))
        .collect();
    policy.begin(sessions.len());
    let mut views: Vec<SlotView> = sessions.iter().map(Session::view).collect();
    while sessions.iter().any(|s| !s.is_done()) {
        let actions = policy.act(&views);
        for (i, session) in sessions.iter_mut().enumerate() {
            if session.is_done() {
                continue;
            }
            let outcome = session.step(actions[i]);
            on_step(i, &views[i], actions[i], &outcome);
            if !outcome.done {
                views[i] = session.view();
            }
        }
    }
    sessions
        .iter()
        .map(|s| SessionResult {
            clicks: s.clicks(),
            slots: s.len(),
            shown: s.shown().to_vec(),
        })
        .collect()
}

/// [`run_sessions`] over `range` in batches of `batch` sessions, without a step hook.
pub fn evaluate_policy(
    config: &SimConfig,
    range: SessionRange,
    batch: usize,
    policy: &mut dyn MixPolicy,
) -> Vec<SessionResult> {
    range
        .batches(batch)
        .flat_map(|b| run_sessions(config, b, policy, |_, _, _, _| {}))
        .collect()
}

/// Mean clicks per session.
pub fn mean_clicks(results: &[SessionResult]) -> f64 {
    results.iter().map(|r| r.clicks as f64).sum::<f64>() / results.len().max(1) as f64
}

/// Share of all served slots that went to type `k`.
pub fn share_of(results: &[SessionResult], k: usize) -> f64 {
    let shown: u64 = results.iter().map(|r| r.shown[k] as u64).sum();
    let slots: u64 = results.iter().map(|r| r.slots as u64).sum();
    shown as f64 / slots.max(1) as f64
}
