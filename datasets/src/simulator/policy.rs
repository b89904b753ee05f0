//! The interface every mixing policy implements, neural or not.

use super::observation::SlotView;

/// Chooses the content type of the next slot for a batch of sessions run in
/// lockstep (batched so a neural policy runs one forward pass per slot).
pub trait MixPolicy {
    /// A short name for tables and plots.
    fn name(&self) -> String;

    /// Called before a batch of `n` fresh sessions; stateful policies reset here.
    fn begin(&mut self, _n: usize) {}

    /// One type index per view. `views[i]` is always session `i` of the
    /// batch; finished sessions still appear (with their last view) so a
    /// recurrent policy keeps its rows aligned, and their choice is ignored.
    fn act(&mut self, views: &[SlotView]) -> Vec<usize>;
}

/// Index of the largest value (first one on ties); `None` for an empty slice.
pub fn argmax(values: &[f32]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &v) in values.iter().enumerate() {
        if best.is_none_or(|b| v > values[b]) {
            best = Some(i);
        }
    }
    best
}
