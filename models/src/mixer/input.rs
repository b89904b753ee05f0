//! How a policy's view of one slot becomes the network's input vector.
//! Training and serving both go through here, so they cannot drift.

use ember_datasets::simulator::SlotView;
use serde::{Deserialize, Serialize};

/// The shape of the mixing problem the network was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixerInput {
    /// Content types; the Q-head has one output per type.
    pub num_types: usize,
    /// Longest session, to scale the slot position into [0, 1].
    pub horizon: usize,
}

impl MixerInput {
    /// `[last type one-hot (K) | click, log(1 + dwell), negative | pCTR logits (K) | position]`.
    pub fn width(&self) -> usize {
        2 * self.num_types + 4
    }

    /// Appends the encoding of `view` to `out`.
    ///
    /// pCTRs enter as logits: the types' rates differ by a factor of 3, and
    /// logits put a candidate's quality on the same scale for every type.
    pub fn encode_into(&self, view: &SlotView, out: &mut Vec<f32>) {
        let k = self.num_types;
        let start = out.len();
        out.resize(start + self.width(), 0.0);
        let x = &mut out[start..];
        if let Some(fb) = view.last {
            if fb.content_type < k {
                x[fb.content_type] = 1.0;
            }
            x[k] = fb.click as u8 as f32;
            x[k + 1] = fb.dwell.max(0.0).ln_1p();
            x[k + 2] = fb.negative as u8 as f32;
        }
        for (slot, &p) in x[k + 3..2 * k + 3].iter_mut().zip(&view.pctr) {
            let p = p.clamp(1e-4, 1.0 - 1e-4);
            // Centred near the typical pCTR logit (≈ −2) and scaled to O(1).
            *slot = ((p / (1.0 - p)).ln() + 2.0) / 2.0;
        }
        x[2 * k + 3] = view.position as f32 / self.horizon.max(1) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_datasets::simulator::Feedback;

    #[test]
    fn encodes_last_feedback_and_candidates() {
        let input = MixerInput {
            num_types: 4,
            horizon: 10,
        };
        let view = SlotView {
            position: 5,
            last: Some(Feedback {
                content_type: 2,
                click: true,
                dwell: 1.0,
                negative: false,
            }),
            pctr: vec![0.5, 0.1, 0.2, 0.3],
        };
        let mut x = vec![9.0];
        input.encode_into(&view, &mut x);
        let x = &x[1..];
        assert_eq!(x.len(), input.width());
        assert_eq!(&x[..4], &[0.0, 0.0, 1.0, 0.0]);
        assert_eq!(x[4], 1.0);
        assert!((x[5] - 2f32.ln()).abs() < 1e-6);
        assert_eq!(x[7], 1.0); // logit(0.5) = 0 → (0 + 2) / 2
        assert!(x[8] < x[9] && x[9] < x[10]);
        assert_eq!(x[11], 0.5);
    }
}
