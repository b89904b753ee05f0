//! A Q-network as a mixing policy: the type with the highest Q-value, with
//! one GRU state per session of the batch carried from slot to slot.

use burn::prelude::*;
use burn::tensor::TensorData;
use ember_datasets::simulator::{MixPolicy, SlotView, argmax};

use super::dqn_gru::MixerQNet;
use super::input::MixerInput;

pub struct QPolicy {
    pub name: String,
    pub net: MixerQNet,
    pub input: MixerInput,
    pub device: Device,
    state: Option<Tensor<2>>,
}

impl QPolicy {
    /// `net` should be in inference mode (`valid()`) on `device`.
    pub fn new(name: impl Into<String>, net: MixerQNet, input: MixerInput, device: Device) -> Self {
        Self {
            name: name.into(),
            net,
            input,
            device,
            state: None,
        }
    }

    /// Forgets every session's state (a new batch of sessions starts).
    pub fn reset(&mut self) {
        self.state = None;
    }

    /// The input tensor `[B, D]` for a batch of views.
    pub fn encode(&self, views: &[SlotView]) -> Tensor<2> {
        let mut x = Vec::with_capacity(views.len() * self.input.width());
        for view in views {
            self.input.encode_into(view, &mut x);
        }
        Tensor::from_data(
            TensorData::new(x, [views.len(), self.input.width()]),
            &self.device,
        )
    }

    /// Q-values `[B × K]` (row-major) for the next slot of every session,
    /// advancing each session's state by its view.
    pub fn q_values(&mut self, views: &[SlotView]) -> Vec<f32> {
        let x = self.encode(views);
        let (q, state) = self.net.forward_step(x, self.state.take());
        self.state = state;
        q.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("Q-values are floats")
    }
}

impl MixPolicy for QPolicy {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn begin(&mut self, _n: usize) {
        self.reset();
    }

    fn act(&mut self, views: &[SlotView]) -> Vec<usize> {
        let k = self.input.num_types;
        self.q_values(views)
            .chunks(k)
            .map(|q| argmax(q).unwrap_or(0))
            .collect()
    }
}
