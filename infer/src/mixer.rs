//! Loading an exported mixer and asking it which content type fills the
//! next slot: the mixing stage of the serving pipeline.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::prelude::*;
use ember_datasets::simulator::{SessionState, argmax};
use ember_models::artifact::{Manifest, MixerArtifact};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::mixer::{MixerSpec, QPolicy};

/// An exported mixing policy, ready to act.
pub struct MixerPolicy {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub spec: MixerSpec,
    policy: QPolicy,
}

impl MixerPolicy {
    /// Loads `dir` on the device `choice` names; weights trained on any
    /// backend load on any other.
    pub fn load(dir: &Path, choice: DeviceChoice) -> Result<Self> {
        let (device, _) = select_device(choice);
        let MixerArtifact {
            artifact,
            spec,
            net,
        } = MixerArtifact::load(dir, &device)?;
        let name = if spec.config.recurrent {
            "DQN-GRU"
        } else {
            "DQN (no GRU)"
        };
        let policy = QPolicy::new(name, net, spec.input, device);
        Ok(Self {
            dir: dir.to_owned(),
            manifest: artifact.manifest,
            spec,
            policy,
        })
    }

    pub fn device(&self) -> &Device {
        &self.policy.device
    }

    /// The batched policy for simulator rollouts (evaluation).
    pub fn into_policy(self) -> QPolicy {
        self.policy
    }

    fn check(&self, state: &SessionState) -> Result<()> {
        let k = self.spec.input.num_types;
        let bad_pctr = |p: &[f32]| p.len() != k || p.iter().any(|x| !x.is_finite());
        if bad_pctr(&state.candidates_pctr) {
            bail!(
                "session state has {} candidate pCTRs; this mixer needs one finite pCTR per type ({})",
                state.candidates_pctr.len(),
                self.spec.type_names.join(", ")
            );
        }
        for (i, slot) in state.served.iter().enumerate() {
            if bad_pctr(&slot.pctr) || slot.feedback.content_type >= k {
                bail!("served slot {i}: needs {k} finite pCTRs and a type index below {k}");
            }
        }
        Ok(())
    }

    /// Q-values of every type for the slot to fill now.
    pub fn q_values(&mut self, state: &SessionState) -> Result<Vec<f32>> {
        self.check(state)?;
        // Replays the session through the recurrent state, one slot at a
        // time exactly as in training; sessions are tens of slots long.
        let mut q = Vec::new();
        self.policy.reset();
        for view in state.views() {
            q = self.policy.q_values(std::slice::from_ref(&view));
        }
        Ok(q)
    }

    /// The content type (index into `spec.type_names`) for the slot to fill now.
    pub fn act(&mut self, state: &SessionState) -> Result<usize> {
        Ok(argmax(&self.q_values(state)?).unwrap_or(0))
    }

    pub fn type_name(&self, index: usize) -> &str {
        &self.spec.type_names[index]
    }
}
