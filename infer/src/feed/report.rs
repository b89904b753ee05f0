//! `ember experiment report`: per-arm results of a served experiment, read
//! back from its log directory (`events.csv` and `served.jsonl`).
//!
//! The unit of analysis is the session (users are assigned to arms and a
//! session belongs to one user), so every interval accounts for the
//! correlation of the slots within a session:
//!
//! - clicks per session: the mean, `± 1.96 s/√n`;
//! - CTR = Σ clicks / Σ impressions, a ratio of session sums, with the
//!   delta-method variance `Σ_i (c_i − r·m_i)² / ((n−1) · n · m̄²)`
//!   (`c_i`, `m_i`: session `i`'s clicks and impressions);
//! - arm differences (treatment − control): `d ± 1.96 √(se_t² + se_c²)`,
//!   and the relative lift `d / mean_c` with its delta-method interval;
//! - a sequential test valid under peeking: the mixture sequential
//!   probability ratio test (mSPRT) of Johari, Koomen, Pekelis and Walsh,
//!   "Always Valid Inference: Continuous Monitoring of A/B Tests"
//!   (Operations Research, 2022), on the difference of clicks per session
//!   with a normal mixture `θ ~ N(0, τ²)`:
//!   `Λ_n = √(V_n / (V_n + τ²)) · exp(τ² d_n² / (2 V_n (V_n + τ²)))`,
//!   `V_n = s_t²/n_t + s_c²/n_c`, evaluated after every session (in the
//!   order sessions started) once each arm has [`MIN_SESSIONS`]; the
//!   always-valid p-value is `min(1, min_n 1/Λ_n)`, so looking at it as
//!   often as one likes keeps the false-positive rate at most `α`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, bail};
use serde::Serialize;

use super::log::{FeedLog, read_events, read_served};
use crate::diversity::DiversityMetrics;
use crate::features::Catalog;

/// Sessions per arm before the sequential test's first look: its plug-in
/// variance is unreliable on fewer.
pub const MIN_SESSIONS: usize = 100;
const Z95: f64 = 1.959_963_984_540_054;

/// One session as the log tells it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionLog {
    pub id: String,
    pub user: String,
    pub arm: String,
    /// Epoch milliseconds of its first request.
    pub start: u64,
    pub requests: u64,
    pub impressions: u64,
    pub clicks: u64,
    pub not_interested: u64,
    pub dwell_seconds: f64,
    /// Items served, in order, with their content type and whether clicked.
    pub items: Vec<(String, Option<String>, bool)>,
}

/// Every session of a log directory, in the order they started.
pub fn read_sessions(dir: &Path) -> Result<Vec<SessionLog>> {
    let served = read_served(&FeedLog::served_path(dir))?;
    if served.is_empty() {
        bail!(
            "{}: no served requests (is it an `ember serve --feedback-log` directory?)",
            FeedLog::served_path(dir).display()
        );
    }
    let mut sessions: Vec<SessionLog> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = Default::default();
    // Where each request's items start in its session's item list.
    let mut offsets: std::collections::HashMap<String, (usize, usize)> = Default::default();
    for r in served {
        let i = *index.entry(r.session.clone()).or_insert_with(|| {
            sessions.push(SessionLog {
                id: r.session.clone(),
                user: r.user.clone(),
                arm: r.arm.clone(),
                start: r.time,
                ..SessionLog::default()
            });
            sessions.len() - 1
        });
        let s = &mut sessions[i];
        s.requests += 1;
        offsets.insert(r.request.clone(), (i, s.items.len()));
        s.items.extend(
            r.items
                .into_iter()
                .map(|item| (item.item, item.content_type, false)),
        );
    }
    for e in read_events(&FeedLog::events_path(dir))? {
        let Some(&(i, offset)) = offsets.get(&e.request) else {
            continue;
        };
        let s = &mut sessions[i];
        match e.event.as_str() {
            "impression" => s.impressions += 1,
            "click" => {
                s.clicks += 1;
                s.dwell_seconds += e.dwell.unwrap_or(0.0);
                if let Some(item) = s.items.get_mut(offset + e.position) {
                    item.2 = true;
                }
            }
            "not_interested" => s.not_interested += 1,
            _ => {}
        }
    }
    sessions.sort_by_key(|s| s.start);
    Ok(sessions)
}

/// A mean with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Estimate {
    fn around(value: f64, se: f64) -> Self {
        Self {
            value,
            low: value - Z95 * se,
            high: value + Z95 * se,
        }
    }

    /// Whether the interval excludes `x`.
    pub fn excludes(&self, x: f64) -> bool {
        self.low > x || self.high < x
    }
}

impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = f.precision().unwrap_or(3);
        write!(
            f,
            "{:.p$} [{:.p$}, {:.p$}]",
            self.value, self.low, self.high
        )
    }
}

/// Mean and sample variance.
fn moments(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.is_empty() {
        return (0.0, 0.0);
    }
    let mean = x.iter().sum::<f64>() / n;
    let var = if x.len() < 2 {
        0.0
    } else {
        x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)
    };
    (mean, var)
}

/// A ratio of session sums `Σc / Σm` with its delta-method standard error.
fn ratio(c: &[f64], m: &[f64]) -> (f64, f64) {
    let n = c.len() as f64;
    let (sc, sm) = (c.iter().sum::<f64>(), m.iter().sum::<f64>());
    if sm == 0.0 {
        return (0.0, 0.0);
    }
    let r = sc / sm;
    if c.len() < 2 {
        return (r, 0.0);
    }
    let mbar = sm / n;
    let resid = c
        .iter()
        .zip(m)
        .map(|(ci, mi)| (ci - r * mi).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    (r, (resid / (n * mbar * mbar)).sqrt())
}

/// One arm's results.
#[derive(Debug, Clone, Serialize)]
pub struct ArmResult {
    pub arm: String,
    pub sessions: usize,
    pub impressions: u64,
    pub clicks: u64,
    pub ctr: Estimate,
    pub clicks_per_session: Estimate,
    pub slots_per_session: f64,
    pub dwell_per_session: f64,
    pub not_interested_rate: f64,
    /// Share of slots per content type (mixer pipelines).
    pub type_shares: BTreeMap<String, f64>,
    /// Mean entropy (bits) of the content types within a session.
    pub type_entropy: f64,
    /// The diversity metrics of the sessions' lists (with a catalog).
    pub diversity: Option<DiversityMetrics>,
    #[serde(skip)]
    se_cps: f64,
    #[serde(skip)]
    se_ctr: f64,
}

/// The mSPRT's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct SequentialTest {
    pub name: &'static str,
    pub tau: f64,
    pub alpha: f64,
    /// `min(1, min_n 1/Λ_n)` over the looks so far.
    pub always_valid_p: f64,
    /// Sessions (both arms) at the first look where `p ≤ α`.
    pub significant_after: Option<usize>,
    pub looks: usize,
}

/// Treatment against control.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub treatment: String,
    pub control: String,
    /// Difference of clicks per session.
    pub clicks_per_session_diff: Estimate,
    /// The same as a share of the control's.
    pub lift: Estimate,
    pub ctr_diff: Estimate,
    pub sequential: SequentialTest,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExperimentReport {
    pub arms: Vec<ArmResult>,
    pub comparisons: Vec<Comparison>,
}

/// How to compare the arms.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The control arm (default: the first arm name in sort order).
    pub control: Option<String>,
    /// The mSPRT mixture's standard deviation, in clicks per session: the
    /// size of effect the test is tuned to find.
    pub tau: f64,
    pub alpha: f64,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            control: None,
            tau: 0.5,
            alpha: 0.05,
        }
    }
}

fn arm_result(arm: &str, sessions: &[&SessionLog]) -> ArmResult {
    let clicks: Vec<f64> = sessions.iter().map(|s| s.clicks as f64).collect();
    let impressions: Vec<f64> = sessions.iter().map(|s| s.impressions as f64).collect();
    let n = sessions.len().max(1) as f64;
    let (cps, var) = moments(&clicks);
    let se_cps = (var / n).sqrt();
    let (ctr, se_ctr) = ratio(&clicks, &impressions);
    let mut types: BTreeMap<String, f64> = BTreeMap::new();
    let mut slots = 0.0;
    let mut entropy = 0.0;
    for s in sessions {
        let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
        for (_, t, _) in &s.items {
            if let Some(t) = t {
                *counts.entry(t.as_str()).or_default() += 1.0;
                *types.entry(t.clone()).or_default() += 1.0;
                slots += 1.0;
            }
        }
        let total: f64 = counts.values().sum();
        entropy -= counts
            .values()
            .map(|c| (c / total) * (c / total).log2())
            .sum::<f64>();
    }
    for v in types.values_mut() {
        *v /= slots;
    }
    let sum = |f: fn(&SessionLog) -> f64| sessions.iter().map(|s| f(s)).sum::<f64>();
    ArmResult {
        arm: arm.to_owned(),
        sessions: sessions.len(),
        impressions: sum(|s| s.impressions as f64) as u64,
        clicks: sum(|s| s.clicks as f64) as u64,
        ctr: Estimate::around(ctr, se_ctr),
        clicks_per_session: Estimate::around(cps, se_cps),
        slots_per_session: sum(|s| s.items.len() as f64) / n,
        dwell_per_session: sum(|s| s.dwell_seconds) / n,
        not_interested_rate: sum(|s| s.not_interested as f64)
            / sum(|s| s.impressions as f64).max(1.0),
        type_shares: types,
        type_entropy: (entropy / n).max(0.0),
        diversity: None,
        se_cps,
        se_ctr,
    }
}

/// Running sums of one arm for the sequential test.
#[derive(Default, Clone, Copy)]
struct Running {
    n: f64,
    sum: f64,
    sum_sq: f64,
}

impl Running {
    fn push(&mut self, x: f64) {
        self.n += 1.0;
        self.sum += x;
        self.sum_sq += x * x;
    }
    fn mean(&self) -> f64 {
        self.sum / self.n
    }
    fn var(&self) -> f64 {
        ((self.sum_sq - self.sum * self.sum / self.n) / (self.n - 1.0)).max(0.0)
    }
}

/// The mSPRT over sessions in start order (see the module docs).
fn msprt(
    sessions: &[SessionLog],
    treatment: &str,
    control: &str,
    options: &ReportOptions,
) -> SequentialTest {
    let (mut t, mut c) = (Running::default(), Running::default());
    let tau2 = options.tau * options.tau;
    let mut p: f64 = 1.0;
    let mut looks = 0;
    let mut significant_after = None;
    let mut seen = 0usize;
    for s in sessions {
        if s.arm == treatment {
            t.push(s.clicks as f64);
        } else if s.arm == control {
            c.push(s.clicks as f64);
        } else {
            continue;
        }
        seen += 1;
        if (t.n as usize) < MIN_SESSIONS || (c.n as usize) < MIN_SESSIONS {
            continue;
        }
        let v = t.var() / t.n + c.var() / c.n;
        if v <= 0.0 {
            continue;
        }
        let d = t.mean() - c.mean();
        let log_lambda = 0.5 * (v / (v + tau2)).ln() + tau2 * d * d / (2.0 * v * (v + tau2));
        looks += 1;
        p = p.min((-log_lambda).exp()).min(1.0);
        if significant_after.is_none() && p <= options.alpha {
            significant_after = Some(seen);
        }
    }
    SequentialTest {
        name: "mSPRT, normal mixture (Johari et al. 2022)",
        tau: options.tau,
        alpha: options.alpha,
        always_valid_p: p,
        significant_after,
        looks,
    }
}

/// The report of a log directory's sessions; `diversity` gives each arm's
/// diversity metrics from its sessions (none without a catalog).
pub fn report(
    sessions: &[SessionLog],
    options: &ReportOptions,
    diversity: impl Fn(&[&SessionLog]) -> Option<DiversityMetrics>,
) -> Result<ExperimentReport> {
    let mut names: Vec<&str> = sessions.iter().map(|s| s.arm.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let arms: Vec<ArmResult> = names
        .iter()
        .map(|&name| {
            let of_arm: Vec<&SessionLog> = sessions.iter().filter(|s| s.arm == name).collect();
            let mut result = arm_result(name, &of_arm);
            result.diversity = diversity(&of_arm);
            result
        })
        .collect();
    let control = match &options.control {
        Some(c) if names.contains(&c.as_str()) => c.clone(),
        Some(c) => bail!("--control {c}: the log's arms are {names:?}"),
        None => names[0].to_owned(),
    };
    let base = arms
        .iter()
        .find(|a| a.arm == control)
        .expect("the control is an arm");
    let comparisons = arms
        .iter()
        .filter(|a| a.arm != control)
        .map(|a| {
            let (mt, mc) = (a.clicks_per_session.value, base.clicks_per_session.value);
            let d = Estimate::around(mt - mc, (a.se_cps.powi(2) + base.se_cps.powi(2)).sqrt());
            let ratio = mt / mc;
            let se_ratio = ratio * ((a.se_cps / mt).powi(2) + (base.se_cps / mc).powi(2)).sqrt();
            Comparison {
                treatment: a.arm.clone(),
                control: control.clone(),
                clicks_per_session_diff: d,
                lift: Estimate::around(ratio - 1.0, se_ratio),
                ctr_diff: Estimate::around(
                    a.ctr.value - base.ctr.value,
                    (a.se_ctr.powi(2) + base.se_ctr.powi(2)).sqrt(),
                ),
                sequential: msprt(sessions, &a.arm, &control, options),
            }
        })
        .collect();
    Ok(ExperimentReport { arms, comparisons })
}

/// Diversity of each session's items (one list per session) against
/// `catalog`: its categories, item vectors and popularity.
pub fn catalog_diversity(catalog: &Catalog, sessions: &[&SessionLog]) -> DiversityMetrics {
    let popularity = catalog.popularity();
    let lists: Vec<_> = sessions
        .iter()
        .map(|s| {
            let (rows, clicked): (Vec<u32>, Vec<bool>) = s
                .items
                .iter()
                .filter_map(|(item, _, clicked)| catalog.item_row(item).map(|r| (r, *clicked)))
                .unzip();
            catalog.list_view(
                catalog.user_row(&s.user),
                &rows,
                clicked,
                &catalog.item_vectors,
                catalog.vector_dim,
            )
        })
        .collect();
    crate::diversity::of_run(&lists, &popularity)
}

impl ExperimentReport {
    /// The report as markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| arm | sessions | impressions | clicks | CTR [95% CI] | clicks / session [95% CI] | slots / session | dwell s / session | not interested / impression | type entropy (bits) | type shares |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for a in &self.arms {
            let shares: Vec<String> = a
                .type_shares
                .iter()
                .map(|(t, s)| format!("{t} {s:.2}"))
                .collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.4} | {:.3} | {:.1} | {:.1} | {:.3} | {:.3} | {} |\n",
                a.arm,
                a.sessions,
                a.impressions,
                a.clicks,
                a.ctr,
                a.clicks_per_session,
                a.slots_per_session,
                a.dwell_per_session,
                a.not_interested_rate,
                a.type_entropy,
                shares.join(", ")
            ));
        }
        for c in &self.comparisons {
            let s = &c.sequential;
            out.push_str(&format!(
                "\n**{} vs {}**: clicks / session {:+.3}, lift {:+.1}% [{:+.1}%, {:+.1}%] ({}); CTR {:+.4} [{:+.4}, {:+.4}]. \
                 Sequential test ({}, τ = {}, α = {}): always-valid p = {} after {} looks{}.\n",
                c.treatment,
                c.control,
                c.clicks_per_session_diff,
                100.0 * c.lift.value,
                100.0 * c.lift.low,
                100.0 * c.lift.high,
                if c.clicks_per_session_diff.excludes(0.0) {
                    "CI excludes 0"
                } else {
                    "CI includes 0"
                },
                c.ctr_diff.value,
                c.ctr_diff.low,
                c.ctr_diff.high,
                s.name,
                s.tau,
                s.alpha,
                if s.always_valid_p < 1e-3 {
                    format!("{:.1e}", s.always_valid_p)
                } else {
                    format!("{:.3}", s.always_valid_p)
                },
                s.looks,
                s.significant_after
                    .map_or(String::from(", not significant"), |n| format!(
                        ", significant from {n} sessions on"
                    )),
            ));
        }
        if self.arms.iter().any(|a| a.diversity.is_some()) {
            let (names, rule) = DiversityMetrics::markdown_columns();
            out.push_str(&format!(
                "\nDiversity per arm (each session's items as one list; formulas in infer/src/diversity.rs):\n\n| arm | {names} |\n|---|{rule}\n"
            ));
            for a in &self.arms {
                if let Some(d) = &a.diversity {
                    out.push_str(&format!("| {} | {} |\n", a.arm, d.markdown_cells()));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(arm: &str, i: u64, clicks: u64, impressions: u64) -> SessionLog {
        SessionLog {
            id: format!("{arm}-{i}"),
            arm: arm.into(),
            start: i,
            clicks,
            impressions,
            ..SessionLog::default()
        }
    }

    #[test]
    fn intervals_and_sequential_test() {
        // Control: clicks alternate 1, 3 (mean 2); treatment 2, 4 (mean 3).
        let mut sessions = Vec::new();
        for i in 0..400 {
            sessions.push(session("a", 2 * i, 1 + 2 * (i % 2), 10));
            sessions.push(session("b", 2 * i + 1, 2 + 2 * (i % 2), 10));
        }
        let r = report(&sessions, &ReportOptions::default(), |_| None).unwrap();
        let (a, b) = (&r.arms[0], &r.arms[1]);
        assert_eq!((a.arm.as_str(), a.sessions), ("a", 400));
        assert!((a.clicks_per_session.value - 2.0).abs() < 1e-12);
        // s² = 400/399 over 400 sessions.
        let se = (400.0f64 / 399.0 / 400.0).sqrt();
        assert!((a.clicks_per_session.high - 2.0 - Z95 * se).abs() < 1e-9);
        assert!((a.ctr.value - 0.2).abs() < 1e-12 && (b.ctr.value - 0.3).abs() < 1e-12);
        let c = &r.comparisons[0];
        assert_eq!((c.treatment.as_str(), c.control.as_str()), ("b", "a"));
        assert!((c.clicks_per_session_diff.value - 1.0).abs() < 1e-12);
        assert!(c.clicks_per_session_diff.excludes(0.0));
        assert!((c.lift.value - 0.5).abs() < 1e-12);
        assert!(c.sequential.always_valid_p < 1e-6, "{:?}", c.sequential);
        assert!(c.sequential.significant_after.is_some());
        // No difference: the always-valid p-value stays large.
        let same: Vec<SessionLog> = (0..800)
            .map(|i| session(["a", "b"][i as usize % 2], i, 1 + 2 * ((i / 2) % 2), 10))
            .collect();
        let r = report(&same, &ReportOptions::default(), |_| None).unwrap();
        assert!(r.comparisons[0].sequential.always_valid_p > 0.5);
        assert!(!r.comparisons[0].clicks_per_session_diff.excludes(0.0));
        assert!(
            report(
                &same,
                &ReportOptions {
                    control: Some("z".into()),
                    ..Default::default()
                },
                |_| None
            )
            .is_err()
        );
    }
}
