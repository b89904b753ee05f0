//! The simulator's parameters: one TOML file (`configs/mixer/simulator.toml`).
//!
//! Every rate is given the way a product analyst would quote it (a click
//! rate, a per-slot exit rate) and turned into logits once, here, so the
//! session code stays a list of additive effects.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// One content type of the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentType {
    pub name: String,
    /// Population click rate of an average item of this type to a fresh user.
    pub base_ctr: f64,
    /// Logit penalty per unit of fatigue with this type: snackable types
    /// (short video) wear out faster than long reads.
    pub fatigue_penalty: f64,
    /// Mean dwell after a click, in minutes.
    pub dwell_minutes: f64,
}

/// Hidden per-user taste: logit offsets per type, drawn once per session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Standard deviation of each type's offset. The ranking model does not
    /// see it, so a policy has to infer it from the session's feedback.
    pub preference_std: f64,
    /// How much taste lengthens dwell: `dwell ∝ exp(dwell_taste · offset)`.
    pub dwell_taste: f64,
}

/// The candidates the ranking stage offers for each slot, one per type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateConfig {
    /// Standard deviation of an item's logit quality around its type's base.
    pub quality_std: f64,
    /// Standard deviation of the ranking model's logit error on that quality.
    pub pctr_noise_std: f64,
}

/// Fatigue: a per-type exposure count that decays every slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FatigueConfig {
    /// Fraction of each type's fatigue left after one slot (recovery = 1 − decay).
    pub decay: f64,
}

/// "Not interested" feedback on an item that was not clicked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegativeConfig {
    /// Rate for a fresh type the user is neutral about.
    pub base_rate: f64,
    /// Logit added per unit of fatigue with the type shown.
    pub per_fatigue: f64,
    /// Logit added per unit of dislike (negative taste offset).
    pub per_dislike: f64,
}

/// Leaving the session after a slot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitConfig {
    /// Per-slot exit rate right after a click.
    pub base_rate: f64,
    /// Logit added per consecutive slot without a click.
    pub per_miss: f64,
    /// Logit added by a negative-feedback slot.
    pub after_negative: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Longest session, in slots.
    pub max_slots: usize,
    pub types: Vec<ContentType>,
    pub user: UserConfig,
    pub candidates: CandidateConfig,
    pub fatigue: FatigueConfig,
    pub negative: NegativeConfig,
    pub exit: ExitConfig,
}

pub(crate) fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn check(ok: bool, message: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(DataError::Invalid(format!(
            "invalid simulator config: {}",
            message()
        )))
    }
}

fn rate(name: &str, value: f64) -> Result<()> {
    check(value > 0.0 && value < 1.0, || {
        format!("{name} = {value} must be a rate strictly between 0 and 1")
    })
}

fn finite_non_negative(name: &str, value: f64) -> Result<()> {
    check(value.is_finite() && value >= 0.0, || {
        format!("{name} = {value} must be finite and ≥ 0")
    })
}

impl SimConfig {
    /// Reads and validates a simulator TOML file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        let config: SimConfig = toml::from_str(&text).map_err(|e| {
            DataError::Invalid(format!("{}: not a simulator config: {e}", path.display()))
        })?;
        config.validate().map_err(|e| match e {
            DataError::Invalid(m) => DataError::Invalid(format!("{}: {m}", path.display())),
            other => other,
        })?;
        Ok(config)
    }

    /// Checks every value, so a bad file fails here with its key named,
    /// not later as a NaN in training.
    pub fn validate(&self) -> Result<()> {
        check(self.max_slots >= 1, || "max_slots must be ≥ 1".into())?;
        check(self.types.len() >= 2, || {
            format!(
                "{} content types; a mixer needs at least 2",
                self.types.len()
            )
        })?;
        for (i, t) in self.types.iter().enumerate() {
            check(!t.name.is_empty(), || {
                format!("types[{i}] has an empty name")
            })?;
            check(!self.types[..i].iter().any(|u| u.name == t.name), || {
                format!("content type '{}' is listed twice", t.name)
            })?;
            rate(&format!("types.{}.base_ctr", t.name), t.base_ctr)?;
            finite_non_negative(
                &format!("types.{}.fatigue_penalty", t.name),
                t.fatigue_penalty,
            )?;
            finite_non_negative(&format!("types.{}.dwell_minutes", t.name), t.dwell_minutes)?;
        }
        finite_non_negative("user.preference_std", self.user.preference_std)?;
        check(self.user.dwell_taste.is_finite(), || {
            "user.dwell_taste must be finite".into()
        })?;
        finite_non_negative("candidates.quality_std", self.candidates.quality_std)?;
        finite_non_negative("candidates.pctr_noise_std", self.candidates.pctr_noise_std)?;
        check((0.0..1.0).contains(&self.fatigue.decay), || {
            format!(
                "fatigue.decay = {} must be in [0, 1) (the share of fatigue left after a slot)",
                self.fatigue.decay
            )
        })?;
        rate("negative.base_rate", self.negative.base_rate)?;
        finite_non_negative("negative.per_fatigue", self.negative.per_fatigue)?;
        finite_non_negative("negative.per_dislike", self.negative.per_dislike)?;
        rate("exit.base_rate", self.exit.base_rate)?;
        finite_non_negative("exit.per_miss", self.exit.per_miss)?;
        finite_non_negative("exit.after_negative", self.exit.after_negative)?;
        Ok(())
    }

    pub fn num_types(&self) -> usize {
        self.types.len()
    }

    pub fn type_names(&self) -> Vec<String> {
        self.types.iter().map(|t| t.name.clone()).collect()
    }

    /// The type with the highest base click rate (first one on ties).
    pub fn high_ctr_type(&self) -> usize {
        let mut best = 0;
        for (i, t) in self.types.iter().enumerate() {
            if t.base_ctr > self.types[best].base_ctr {
                best = i;
            }
        }
        best
    }

    /// The shipped default (`configs/mixer/simulator.toml` holds the same values).
    pub fn default_feed() -> Self {
        toml::from_str(DEFAULT_TOML).expect("the built-in simulator config parses")
    }
}

/// The default feed, kept in sync with `configs/mixer/simulator.toml` by a test.
pub const DEFAULT_TOML: &str = include_str!("../../../configs/mixer/simulator.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_is_valid_and_bad_values_are_named() {
        let config = SimConfig::default_feed();
        config.validate().unwrap();
        assert!(config.num_types() >= 4);
        let mut bad = config.clone();
        bad.types[1].base_ctr = 1.5;
        let msg = bad.validate().unwrap_err().to_string();
        assert!(msg.contains("base_ctr"), "{msg}");
        let mut bad = config.clone();
        bad.fatigue.decay = 1.0;
        assert!(bad.validate().unwrap_err().to_string().contains("decay"));
        let mut bad = config;
        bad.types[2].name = bad.types[0].name.clone();
        assert!(bad.validate().unwrap_err().to_string().contains("twice"));
    }
}
