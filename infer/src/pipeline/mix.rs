//! The `[mixer]` stage: the last stage of a feed pipeline, deciding the
//! content type of every slot.
//!
//! The ranked candidates are split into one pool per content type (the
//! item attribute `type_field` names). For each slot the stage shows the
//! policy the session so far (the types served and the user's feedback,
//! from the server's session state) and the pCTR of each pool's best item;
//! the policy picks a type and that pool's best item fills the slot. The
//! policy is an exported mixer (`ember mixer train`, DQN with a GRU
//! session state) or, without one, a fixed mix: the same evenly
//! interleaved type schedule for everyone
//! (`ember_datasets::simulator::FixedMix`).
//!
//! ```toml
//! [mixer]
//! type_field = "type"                       # the item attribute
//! types = ["video", "article", "news", "short_video"]
//! artifact = "runs/mixer-dqn-gru/artifact"  # optional
//! fixed_mix = [0.3, 0.1, 0.2, 0.4]          # shares, in `types` order
//! policy = "learned"                        # | "fixed" (default: learned when an artifact is given)
//! ```
//!
//! A slot of a multi-slot request is decided before the user has seen the
//! previous one, so the later slots see it as shown without feedback.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use ember_datasets::simulator::{Feedback, FixedMix, ServedSlot, SessionState};
use ember_models::device::DeviceChoice;
use serde::{Deserialize, Serialize};

use crate::features::Catalog;
use crate::mixer::MixerPolicy;

/// Which policy picks the types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MixPolicyKind {
    /// The exported mixer `artifact`.
    Learned,
    /// The fixed mix `fixed_mix`.
    Fixed,
}

/// `[mixer]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixerConfig {
    /// The item attribute (a field of the catalog's item table) holding
    /// each item's content type.
    pub type_field: String,
    /// The content types, in the mixer's order (an artifact's own order
    /// must match).
    pub types: Vec<String>,
    #[serde(default)]
    pub artifact: Option<PathBuf>,
    /// Each type's share of slots under the fixed mix.
    pub fixed_mix: Vec<f64>,
    /// Default: `learned` when an artifact is given, else `fixed`.
    #[serde(default)]
    pub policy: Option<MixPolicyKind>,
}

/// The longest session the fixed mix's schedule covers (later slots repeat
/// its last type; feeds reset sessions long before).
const SCHEDULE_SLOTS: usize = 1000;

impl MixerConfig {
    pub fn policy_kind(&self) -> MixPolicyKind {
        self.policy.unwrap_or(if self.artifact.is_some() {
            MixPolicyKind::Learned
        } else {
            MixPolicyKind::Fixed
        })
    }

    pub fn validate(&self) -> Result<()> {
        if self.types.len() < 2 {
            bail!("mixer.types: a mix needs at least two content types");
        }
        if self.fixed_mix.len() != self.types.len() {
            bail!(
                "mixer.fixed_mix has {} shares for {} types",
                self.fixed_mix.len(),
                self.types.len()
            );
        }
        if self.fixed_mix.iter().any(|s| !s.is_finite() || *s < 0.0)
            || self.fixed_mix.iter().sum::<f64>() <= 0.0
        {
            bail!("mixer.fixed_mix: shares must be ≥ 0 and not all 0");
        }
        if self.policy_kind() == MixPolicyKind::Learned && self.artifact.is_none() {
            bail!("mixer.policy = \"learned\" needs mixer.artifact");
        }
        Ok(())
    }
}

/// One filled slot.
#[derive(Debug, Clone, PartialEq)]
pub struct MixedSlot {
    /// Index into the ranked list's rows.
    pub index: usize,
    pub content_type: usize,
    /// Every type's best pCTR when the slot was decided (0 for an empty pool).
    pub pctr: Vec<f32>,
}

/// A loaded `[mixer]` stage.
pub struct MixerStage {
    pub config: MixerConfig,
    /// The learned policy; behind a mutex because acting steps its
    /// recurrent state (one scoring thread uses it at a time).
    learned: Option<Mutex<MixerPolicy>>,
    fixed: FixedMix,
    /// Content type per catalog item row (`None`: not a type of the mix).
    item_type: Vec<Option<u16>>,
}

impl MixerStage {
    pub fn load(config: &MixerConfig, catalog: &Catalog, device: DeviceChoice) -> Result<Self> {
        config.validate()?;
        let items = &catalog.log().items;
        let field = items.field_index(&config.type_field).with_context(|| {
            format!(
                "mixer.type_field = '{}': the item table has no such field (it has: {})",
                config.type_field,
                items
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let item_type = (0..items.len() as u32)
            .map(|row| {
                let cell = items.cell(field, row);
                config
                    .types
                    .iter()
                    .position(|t| t.as_bytes() == cell)
                    .map(|t| t as u16)
            })
            .collect::<Vec<_>>();
        if item_type.iter().all(Option::is_none) {
            bail!(
                "mixer: no item's '{}' is one of {:?}",
                config.type_field,
                config.types
            );
        }
        let learned = match (config.policy_kind(), &config.artifact) {
            (MixPolicyKind::Learned, Some(dir)) => {
                let policy = MixerPolicy::load(dir, device)
                    .with_context(|| format!("mixer.artifact {}", dir.display()))?;
                if policy.spec.type_names != config.types {
                    bail!(
                        "mixer.types = {:?}, but the mixer {} was trained on {:?}",
                        config.types,
                        dir.display(),
                        policy.spec.type_names
                    );
                }
                Some(Mutex::new(policy))
            }
            _ => None,
        };
        Ok(Self {
            config: config.clone(),
            learned,
            fixed: FixedMix::new(&config.fixed_mix, SCHEDULE_SLOTS),
            item_type,
        })
    }

    /// The name answers report.
    pub fn policy_name(&self) -> String {
        match &self.learned {
            Some(_) => "learned mixer".to_owned(),
            None => format!("fixed mix {:?}", self.config.fixed_mix),
        }
    }

    /// The content type of an item row, if it is one of the mix's.
    pub fn item_type(&self, row: u32) -> Option<usize> {
        self.item_type
            .get(row as usize)
            .copied()
            .flatten()
            .map(usize::from)
    }

    pub fn type_name(&self, t: usize) -> &str {
        &self.config.types[t]
    }

    /// Fills up to `k` slots from `rows` (ranked, best first, with their
    /// pCTRs `scores`) after the session's `served` slots.
    pub fn fill(
        &self,
        rows: &[u32],
        scores: &[f32],
        served: &[ServedSlot],
        k: usize,
    ) -> Result<Vec<MixedSlot>> {
        let types = self.config.types.len();
        // Each pool: indices into `rows`, best first (rows are ranked).
        let mut pools: Vec<std::collections::VecDeque<usize>> = vec![Default::default(); types];
        for (i, &row) in rows.iter().enumerate() {
            if let Some(t) = self.item_type(row) {
                pools[t].push_back(i);
            }
        }
        let mut state = SessionState {
            served: served.to_vec(),
            candidates_pctr: Vec::new(),
        };
        let mut out = Vec::with_capacity(k);
        while out.len() < k && pools.iter().any(|p| !p.is_empty()) {
            let pctr: Vec<f32> = pools
                .iter()
                .map(|p| p.front().map_or(0.0, |&i| scores[i]))
                .collect();
            let open = |t: usize| !pools[t].is_empty();
            let best_open = |values: &[f32]| {
                (0..types)
                    .filter(|&t| open(t))
                    .max_by(|&a, &b| values[a].total_cmp(&values[b]).then(b.cmp(&a)))
                    .expect("a pool is open")
            };
            state.candidates_pctr = pctr.clone();
            let t = match &self.learned {
                Some(policy) => {
                    let q = policy
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .q_values(&state)?;
                    best_open(&q)
                }
                None => {
                    // The schedule's type, or the best pCTR when its pool is empty.
                    let t = self.fixed.type_at(state.served.len());
                    if open(t) { t } else { best_open(&pctr) }
                }
            };
            let index = pools[t].pop_front().expect("the chosen pool is open");
            state.served.push(ServedSlot {
                pctr: pctr.clone(),
                feedback: Feedback {
                    content_type: t,
                    click: false,
                    dwell: 0.0,
                    negative: false,
                },
            });
            out.push(MixedSlot {
                index,
                content_type: t,
                pctr,
            });
        }
        Ok(out)
    }
}
