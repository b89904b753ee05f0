//! What a mixing policy can see: the feedback of served slots and the
//! ranking stage's pCTR for the next slot's candidates. Never the user's
//! hidden taste or fatigue.

use serde::{Deserialize, Serialize};

/// The user's response to one served slot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// Index of the content type shown.
    pub content_type: usize,
    pub click: bool,
    /// Minutes spent on the item (0 without a click).
    pub dwell: f32,
    /// "Not interested" pressed.
    pub negative: bool,
}

/// A policy's view at one decision: the previous slot's feedback and the
/// candidates for this slot. A recurrent policy folds the sequence of views
/// into its state; a memoryless one sees only this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotView {
    /// 0-based slot index.
    pub position: usize,
    /// Feedback on slot `position − 1`; `None` at the first slot.
    pub last: Option<Feedback>,
    /// The ranking stage's click probability for the best candidate of each type.
    pub pctr: Vec<f32>,
}

/// One served slot as a serving log records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServedSlot {
    /// The candidates' pCTRs at the time of serving.
    pub pctr: Vec<f32>,
    pub feedback: Feedback,
}

/// A session so far, as the serving pipeline holds it: what was served with
/// its feedback, and the candidates for the slot to fill now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionState {
    pub served: Vec<ServedSlot>,
    pub candidates_pctr: Vec<f32>,
}

impl SessionState {
    /// The sequence of views a policy saw in this session, ending with the
    /// decision to make now.
    pub fn views(&self) -> Vec<SlotView> {
        let mut views = Vec::with_capacity(self.served.len() + 1);
        for position in 0..=self.served.len() {
            let pctr = match self.served.get(position) {
                Some(slot) => slot.pctr.clone(),
                None => self.candidates_pctr.clone(),
            };
            views.push(SlotView {
                position,
                last: position
                    .checked_sub(1)
                    .map(|prev| self.served[prev].feedback),
                pctr,
            });
        }
        views
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_pair_each_slot_with_the_previous_feedback() {
        let fb = |t, click| Feedback {
            content_type: t,
            click,
            dwell: 0.0,
            negative: false,
        };
        let state = SessionState {
            served: vec![
                ServedSlot {
                    pctr: vec![0.1, 0.2],
                    feedback: fb(1, true),
                },
                ServedSlot {
                    pctr: vec![0.3, 0.4],
                    feedback: fb(0, false),
                },
            ],
            candidates_pctr: vec![0.5, 0.6],
        };
        let views = state.views();
        assert_eq!(views.len(), 3);
        assert_eq!(views[0].last, None);
        assert_eq!(views[1].last, Some(fb(1, true)));
        assert_eq!(views[2].last, Some(fb(0, false)));
        assert_eq!(views[2].pctr, vec![0.5, 0.6]);
        assert_eq!(views[1].position, 1);
    }
}
