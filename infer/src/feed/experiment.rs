//! `[[experiment]]` arms: versions of a pipeline that split the traffic,
//! each user to one arm by a stable hash of their id.
//!
//! ```toml
//! [[experiment]]
//! name = "mixer"             # the pipeline as written
//! share = 0.5
//!
//! [[experiment]]
//! name = "fixed-mix"
//! share = 0.5
//! set = ['mixer.policy = "fixed"']   # overrides of the pipeline's keys
//!
//! [[experiment]]
//! name = "v2"
//! share = 0.2
//! pipeline = "configs/serving/v2.toml"   # or another pipeline file
//! ```
//!
//! A user's arm depends only on their id and the pipeline's `name` (the
//! salt): `bucket = xxh3(name ␟ user) mod 10 000`, arms taking consecutive
//! bucket ranges in proportion to their shares. The same user therefore
//! lands in the same arm on every request, after a restart, and on any
//! replica, with no assignment table to keep; a new experiment (another
//! `name`) reshuffles everyone, so arms of consecutive experiments are not
//! correlated.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

/// One `[[experiment]]` arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmConfig {
    pub name: String,
    /// Share of the users (normalised over the arms).
    pub share: f64,
    /// Another pipeline file for this arm (relative to the working
    /// directory); default: this pipeline.
    #[serde(default)]
    pub pipeline: Option<std::path::PathBuf>,
    /// `key = value` overrides of the arm's pipeline (none and no
    /// `pipeline`: this pipeline as written).
    #[serde(default)]
    pub set: Vec<String>,
}

/// Hash buckets users are spread over.
const BUCKETS: u64 = 10_000;

pub fn validate_arms(arms: &[ArmConfig]) -> Result<()> {
    for (i, arm) in arms.iter().enumerate() {
        // Arm names label metrics and log rows: keep them plain.
        let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if arm.name.is_empty() || !arm.name.chars().all(plain) {
            bail!(
                "experiment[{i}].name = '{}': letters, digits, '-', '_' and '.' only",
                arm.name
            );
        }
        if arms[..i].iter().any(|a| a.name == arm.name) {
            bail!("experiment[{i}].name = '{}' is used twice", arm.name);
        }
        if !arm.share.is_finite() || arm.share <= 0.0 {
            bail!(
                "experiment[{i}].share = {}: must be a positive number",
                arm.share
            );
        }
    }
    if arms.len() == 1 {
        bail!("experiment: one arm is no experiment; give two or more, or none");
    }
    Ok(())
}

/// Which arm a user is in.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    salt: String,
    /// Exclusive upper bucket of each arm, ascending; the last is `BUCKETS`.
    upper: Vec<u64>,
}

impl Assignment {
    pub fn new(salt: &str, shares: &[f64]) -> Self {
        let total: f64 = shares.iter().sum();
        let mut cumulative = 0.0;
        let mut upper: Vec<u64> = shares
            .iter()
            .map(|s| {
                cumulative += s / total;
                (cumulative * BUCKETS as f64).round() as u64
            })
            .collect();
        if let Some(last) = upper.last_mut() {
            *last = BUCKETS;
        }
        Self {
            salt: salt.to_owned(),
            upper,
        }
    }

    /// The hash bucket of a user, in `0..10 000`.
    pub fn bucket(&self, user: &str) -> u64 {
        let mut key = Vec::with_capacity(self.salt.len() + 1 + user.len());
        key.extend_from_slice(self.salt.as_bytes());
        key.push(0x1f); // unit separator: ("ab", "c") and ("a", "bc") differ
        key.extend_from_slice(user.as_bytes());
        ember_datasets::hashing::token_hash(0, &key) % BUCKETS
    }

    /// The index of the user's arm.
    pub fn arm_of(&self, user: &str) -> usize {
        let b = self.bucket(user);
        self.upper
            .iter()
            .position(|&u| b < u)
            .unwrap_or(self.upper.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_split_users_stably() {
        let a = Assignment::new("feed", &[0.5, 0.25, 0.25]);
        let users: Vec<String> = (0..20_000).map(|u| format!("user-{u}")).collect();
        let arms: Vec<usize> = users.iter().map(|u| a.arm_of(u)).collect();
        let count = |k| arms.iter().filter(|&&x| x == k).count() as f64 / users.len() as f64;
        for (k, want) in [(0, 0.5), (1, 0.25), (2, 0.25)] {
            assert!((count(k) - want).abs() < 0.02, "arm {k}: {}", count(k));
        }
        // The same salt gives the same arms (a restarted server); another
        // salt reshuffles.
        let again = Assignment::new("feed", &[2.0, 1.0, 1.0]);
        assert!(users.iter().zip(&arms).all(|(u, &k)| again.arm_of(u) == k));
        let other = Assignment::new("feed-v2", &[0.5, 0.25, 0.25]);
        let same = users
            .iter()
            .zip(&arms)
            .filter(|(u, k)| other.arm_of(u) == **k)
            .count() as f64
            / users.len() as f64;
        assert!(same < 0.5, "another salt keeps {same} of the arms");
    }

    #[test]
    fn bad_arms_are_named() {
        let arm = |name: &str, share| ArmConfig {
            name: name.into(),
            share,
            pipeline: None,
            set: vec![],
        };
        let err = |arms: &[ArmConfig]| validate_arms(arms).unwrap_err().to_string();
        assert!(err(&[arm("a", 1.0), arm("a", 1.0)]).contains("experiment[1].name"));
        assert!(err(&[arm("a", 1.0), arm("b", -1.0)]).contains("experiment[1].share"));
        assert!(err(&[arm("a", 1.0)]).contains("one arm"));
        assert!(err(&[arm("a\"b", 1.0), arm("c", 1.0)]).contains("experiment[0].name"));
        assert!(validate_arms(&[arm("a", 1.0), arm("b", 3.0)]).is_ok());
    }
}
