//! The mixer's Q-network: a GRU folds the session so far (types shown,
//! clicks, dwell, negative feedback, candidate pCTRs) into a state, and a
//! Q-head maps state and current candidates to one value per content type.
//!
//! With `recurrent = false` the GRU is left out and the head sees only the
//! current slot's input (the last feedback and the candidates): the
//! GRU-free baseline that shows what the session state adds.

use burn::nn::gru::{Gru, GruConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::input::MixerInput;
use crate::layers::{Mlp, MlpConfig};

/// Hyper-parameters of the Q-network (the `[model]` table of a mixer run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MixerConfig {
    /// Keep a GRU state over the session; `false` = the last step only.
    pub recurrent: bool,
    pub gru_hidden: usize,
    /// Widths of the Q-head's hidden layers.
    pub head_hidden: Vec<usize>,
}

impl Default for MixerConfig {
    fn default() -> Self {
        Self {
            recurrent: true,
            gru_hidden: 48,
            head_hidden: vec![64],
        }
    }
}

impl MixerConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.recurrent && self.gru_hidden == 0 {
            return Err("model.gru_hidden must be ≥ 1 for a recurrent mixer".into());
        }
        if self.head_hidden.contains(&0) {
            return Err("model.head_hidden widths must be ≥ 1".into());
        }
        Ok(())
    }

    pub fn init(&self, input: &MixerInput, device: &Device) -> Result<MixerQNet, String> {
        self.validate()?;
        if input.num_types < 2 {
            return Err(format!(
                "a mixer needs at least 2 content types, got {}",
                input.num_types
            ));
        }
        let d_in = input.width();
        let gru = self
            .recurrent
            .then(|| GruConfig::new(d_in, self.gru_hidden, true).init(device));
        // The head sees the candidates directly too: the state need not
        // carry this slot's pCTRs through the GRU's squashing.
        let d_head = d_in + if self.recurrent { self.gru_hidden } else { 0 };
        let head = MlpConfig::new(d_head, self.head_hidden.clone())
            .with_d_output(Some(input.num_types))
            .init(device);
        Ok(MixerQNet { gru, head })
    }
}

#[derive(Module, Debug)]
pub struct MixerQNet {
    pub gru: Option<Gru>,
    pub head: Mlp,
}

impl MixerQNet {
    /// Q-values for every slot of whole sessions: `x [B, T, D]` → `[B, T, K]`.
    /// Causal, so padding after a session's end leaves its slots unchanged.
    pub fn forward_seq(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let features = match &self.gru {
            Some(gru) => Tensor::cat(vec![gru.forward(x.clone(), None), x], 2),
            None => x,
        };
        let width = features.dims()[2];
        debug_assert!(width >= d);
        let q = self.head.forward(features.reshape([b * t, width]));
        let k = q.dims()[1];
        q.reshape([b, t, k])
    }

    /// One slot for a batch of sessions: `x [B, D]` and the previous state
    /// (`None` at the first slot) → (`Q [B, K]`, new state).
    pub fn forward_step(
        &self,
        x: Tensor<2>,
        state: Option<Tensor<2>>,
    ) -> (Tensor<2>, Option<Tensor<2>>) {
        match &self.gru {
            Some(gru) => {
                let [b, _] = x.dims();
                let h = gru.forward(x.clone().unsqueeze_dim(1), state);
                let h: Tensor<2> = h.reshape([b, gru.d_hidden]);
                let q = self.head.forward(Tensor::cat(vec![h.clone(), x], 1));
                (q, Some(h))
            }
            None => (self.head.forward(x), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    #[test]
    fn stepping_matches_the_whole_sequence_and_the_gru_free_net_forgets() {
        let device = Device::flex();
        device.seed(3);
        let input = MixerInput {
            num_types: 4,
            horizon: 10,
        };
        let x = Tensor::<3>::random(
            [2, 5, input.width()],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        for recurrent in [true, false] {
            let net = MixerConfig {
                recurrent,
                gru_hidden: 8,
                head_hidden: vec![16],
            }
            .init(&input, &device)
            .unwrap();
            let whole = net.forward_seq(x.clone());
            assert_eq!(whole.dims(), [2, 5, 4]);
            let mut state = None;
            for t in 0..5 {
                let xt = x.clone().narrow(1, t, 1).reshape([2, input.width()]);
                let (q, next) = net.forward_step(xt, state);
                state = next;
                whole
                    .clone()
                    .narrow(1, t, 1)
                    .reshape([2, 4])
                    .into_data()
                    .assert_approx_eq::<f32>(&q.into_data(), Tolerance::default());
            }
            // Changing the first slot changes later Q-values only with a GRU.
            let mut x2 = x.clone();
            x2 = x2.slice_assign(
                [0..2, 0..1, 0..input.width()],
                Tensor::ones([2, 1, input.width()], &device),
            );
            let later = |t: Tensor<3>| {
                net.forward_seq(t)
                    .narrow(1, 4, 1)
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap()
            };
            let moved = later(x.clone())
                .iter()
                .zip(later(x2))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert_eq!(
                moved > 1e-6,
                recurrent,
                "recurrent = {recurrent}: moved {moved}"
            );
        }
    }
}
