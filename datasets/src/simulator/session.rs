//! One simulated user session, slot by slot.
//!
//! For the type `k` shown at a slot, with the user's hidden taste `b_k`, the
//! candidate's quality `q_k` and the user's fatigue `f_k` with that type:
//!
//! ```text
//! P(click)    = σ(logit(base_ctr_k) + b_k + q_k − fatigue_penalty_k · f_k)
//! P(negative) = σ(logit(neg_rate) + per_fatigue · f_k + per_dislike · max(−b_k, 0))   (no click)
//! dwell       = dwell_minutes_k · exp(dwell_taste · b_k) · Exp(1)                  (click)
//! f_j        ← decay · f_j + [j = k]                                               (after the slot)
//! P(exit)     = σ(logit(exit_rate) + per_miss · misses + after_negative · negative)
//! ```
//! where `misses` counts the consecutive slots without a click. The policy
//! sees `pCTR_k = σ(logit(base_ctr_k) + q_k + ε_k)` for each type: the
//! ranking stage knows the items but neither this user's taste nor their
//! fatigue, as a pointwise CTR model trained on impressions would not.
//!
//! Every slot draws the same random numbers whatever the policy does, so
//! two policies run on the same session seed see the same user and the same
//! candidates for as long as both sessions last (common random numbers).

use rand::{Rng, SeedableRng, rngs::SmallRng};
use rand_distr::{Distribution, StandardNormal};

use super::config::{SimConfig, logit};
use super::observation::{Feedback, SlotView};

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The seed of session `index` of a stream: distinct streams (training,
/// tuning, held-out evaluation) never share a session.
pub fn session_seed(stream: u64, index: u64) -> u64 {
    // SplitMix64 finaliser over both inputs: neighbouring indices get
    // unrelated seeds.
    let mut z = stream
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(index.wrapping_mul(0xD1B5_4A32_D192_ED03))
        .wrapping_add(0x94D0_49BB_1331_11EB);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What serving a slot led to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    pub feedback: Feedback,
    /// The user left after this slot.
    pub exited: bool,
    /// No more slots: the user left or the session reached `max_slots`.
    pub done: bool,
}

#[derive(Debug, Clone)]
pub struct Session<'a> {
    config: &'a SimConfig,
    rng: SmallRng,
    /// Hidden taste: logit offset per type.
    taste: Vec<f64>,
    fatigue: Vec<f64>,
    /// Candidate logit quality per type for the current slot.
    quality: Vec<f64>,
    pctr: Vec<f32>,
    position: usize,
    misses: u32,
    last: Option<Feedback>,
    done: bool,
    clicks: u32,
    shown: Vec<u32>,
}

impl<'a> Session<'a> {
    /// A fresh session of a new user (the config must be validated).
    pub fn new(config: &'a SimConfig, seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let k = config.num_types();
        let taste = (0..k)
            .map(|_| config.user.preference_std * rng.sample::<f64, _>(StandardNormal))
            .collect();
        let mut session = Session {
            config,
            rng,
            taste,
            fatigue: vec![0.0; k],
            quality: vec![0.0; k],
            pctr: vec![0.0; k],
            position: 0,
            misses: 0,
            last: None,
            done: false,
            clicks: 0,
            shown: vec![0; k],
        };
        session.draw_candidates();
        session
    }

    fn normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.rng)
    }

    fn draw_candidates(&mut self) {
        let c = &self.config.candidates;
        let (quality_std, noise_std) = (c.quality_std, c.pctr_noise_std);
        for k in 0..self.config.num_types() {
            let quality = quality_std * self.normal();
            let noise = noise_std * self.normal();
            self.quality[k] = quality;
            let base = logit(self.config.types[k].base_ctr);
            self.pctr[k] = sigmoid(base + quality + noise) as f32;
        }
    }

    /// What the policy sees before choosing the type of the current slot.
    pub fn view(&self) -> SlotView {
        SlotView {
            position: self.position,
            last: self.last,
            pctr: self.pctr.clone(),
        }
    }

    /// The true click probability of showing `k` now (for tests and the
    /// oracle reference, never for policies).
    pub fn click_probability(&self, k: usize) -> f64 {
        let t = &self.config.types[k];
        sigmoid(
            logit(t.base_ctr) + self.taste[k] + self.quality[k]
                - t.fatigue_penalty * self.fatigue[k],
        )
    }

    /// Serves type `action` in the current slot.
    ///
    /// # Panics
    /// If the session is over or `action` is not a type index: both are
    /// bugs in the caller's loop, not bad input.
    pub fn step(&mut self, action: usize) -> StepOutcome {
        assert!(!self.done, "step() on a finished session");
        let k = self.config.num_types();
        assert!(action < k, "action {action} but only {k} content types");
        // Always the same four uniforms per slot (common random numbers).
        let (u_click, u_negative, u_dwell, u_exit): (f64, f64, f64, f64) = (
            self.rng.random(),
            self.rng.random(),
            self.rng.random(),
            self.rng.random(),
        );
        let cfg = self.config;
        let t = &cfg.types[action];
        let taste = self.taste[action];
        let click = u_click < self.click_probability(action);
        let negative = !click
            && u_negative
                < sigmoid(
                    logit(cfg.negative.base_rate)
                        + cfg.negative.per_fatigue * self.fatigue[action]
                        + cfg.negative.per_dislike * (-taste).max(0.0),
                );
        let dwell = if click {
            // Inverse-CDF exponential; 1 − u keeps the log finite.
            t.dwell_minutes * (cfg.user.dwell_taste * taste).exp() * -(1.0 - u_dwell).ln()
        } else {
            0.0
        };
        for f in &mut self.fatigue {
            *f *= cfg.fatigue.decay;
        }
        self.fatigue[action] += 1.0;
        self.misses = if click { 0 } else { self.misses + 1 };
        let exit_logit = logit(cfg.exit.base_rate)
            + cfg.exit.per_miss * self.misses as f64
            + if negative {
                cfg.exit.after_negative
            } else {
                0.0
            };
        let exited = u_exit < sigmoid(exit_logit);
        let feedback = Feedback {
            content_type: action,
            click,
            dwell: dwell as f32,
            negative,
        };
        self.clicks += click as u32;
        self.shown[action] += 1;
        self.last = Some(feedback);
        self.position += 1;
        self.done = exited || self.position >= cfg.max_slots;
        if !self.done {
            self.draw_candidates();
        }
        StepOutcome {
            feedback,
            exited,
            done: self.done,
        }
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    pub fn clicks(&self) -> u32 {
        self.clicks
    }

    /// Slots served so far.
    pub fn len(&self) -> usize {
        self.position
    }

    pub fn is_empty(&self) -> bool {
        self.position == 0
    }

    /// Slots served per type.
    pub fn shown(&self) -> &[u32] {
        &self.shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_seeded_and_fatigue_lowers_the_click_rate() {
        let config = SimConfig::default_feed();
        let k = config.high_ctr_type();
        let mut a = Session::new(&config, 5);
        let mut b = Session::new(&config, 5);
        let mut c = Session::new(&config, 6);
        assert_eq!(a.view(), b.view());
        assert_ne!(a.view(), c.view());
        let mut tired = None;
        for _ in 0..config.max_slots {
            let (out_a, out_b) = (a.step(k), b.step(k));
            assert_eq!(out_a, out_b);
            if out_a.done {
                break;
            }
            tired = Some(a.clone());
        }
        let tired = tired.expect("the session outlives its first slot");
        assert!(tired.fatigue[k] >= 1.0);
        let mut rested = tired.clone();
        rested.fatigue[k] = 0.0;
        assert!(rested.click_probability(k) > tired.click_probability(k));
        c.step(0);
        assert_ne!(session_seed(1, 2), session_seed(2, 1));
    }
}
