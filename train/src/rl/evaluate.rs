//! Comparing mixing policies on held-out simulated sessions.
//!
//! Every policy runs on the same sessions of the evaluation stream (the
//! same users and candidates, common random numbers); tuned baselines are
//! tuned on a separate stream, never on the sessions they are scored on.
//! Scores are mean clicks per session with a normal 95% interval
//! `mean ± 1.96 · sd / √n`.

use anyhow::{Context, Result};
use ember_datasets::simulator::{
    FixedMix, GreedyPctr, MixPolicy, RandomPolicy, SessionRange, SessionResult, ShareCappedGreedy,
    SimConfig, evaluate_policy, mean_clicks, share_of,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::plot::{Chart, Line, Marker, Spread, XTicks};
use ember_models::artifact::write_atomic;

/// Session seed streams; training streams must differ from these.
pub const VALIDATION_STREAM: u64 = 1_000_001;
pub const TUNING_STREAM: u64 = 1_000_002;
pub const EVAL_STREAM: u64 = 1_000_003;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// Held-out sessions each policy is scored on.
    pub sessions: usize,
    /// Sessions the fixed-mix grid search and the share sweep are tuned on.
    pub tuning_sessions: usize,
    /// Fixed-mix grid step = 1 / grid_steps.
    pub grid_steps: usize,
    /// Points of the clicks-vs-share curve (shares 0, 1/(n−1), …, 1).
    pub share_points: usize,
    /// Sessions run in lockstep per batch.
    pub batch: usize,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            sessions: 10_000,
            tuning_sessions: 2_000,
            grid_steps: 10,
            share_points: 21,
            batch: 1_000,
        }
    }
}

impl EvalOptions {
    pub fn validate(&self) -> Result<(), String> {
        if self.sessions < 2 || self.tuning_sessions < 2 {
            return Err("evaluation needs at least 2 sessions and 2 tuning sessions".into());
        }
        if self.grid_steps == 0 || self.share_points < 2 || self.batch == 0 {
            return Err("grid_steps ≥ 1, share_points ≥ 2 and batch ≥ 1 are required".into());
        }
        Ok(())
    }
}

/// One policy's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyScore {
    pub policy: String,
    pub mean_clicks: f64,
    /// Half-width of the 95% interval.
    pub ci95: f64,
    pub std: f64,
    pub sessions: usize,
    /// Share of served slots that went to the high-CTR type.
    pub high_ctr_share: f64,
    pub mean_slots: f64,
}

impl PolicyScore {
    pub fn of(policy: impl Into<String>, results: &[SessionResult], high: usize) -> Self {
        let n = results.len().max(1) as f64;
        let mean = mean_clicks(results);
        let var = results
            .iter()
            .map(|r| (r.clicks as f64 - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0).max(1.0);
        Self {
            policy: policy.into(),
            mean_clicks: mean,
            ci95: 1.96 * (var / n).sqrt(),
            std: var.sqrt(),
            sessions: results.len(),
            high_ctr_share: share_of(results, high),
            mean_slots: results.iter().map(|r| r.slots as f64).sum::<f64>() / n,
        }
    }

    pub fn low(&self) -> f64 {
        self.mean_clicks - self.ci95
    }

    pub fn high(&self) -> f64 {
        self.mean_clicks + self.ci95
    }
}

/// A point of the clicks-vs-share sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharePoint {
    pub share: f64,
    pub score: PolicyScore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixerReport {
    pub type_names: Vec<String>,
    pub high_ctr_type: String,
    pub options: EvalOptions,
    /// Baselines first, then the learned policies, in the order given.
    pub policies: Vec<PolicyScore>,
    pub best_mix: Vec<f64>,
    /// Greedy pCTR with the high-CTR type's share fixed, on the held-out sessions.
    pub share_curve: Vec<SharePoint>,
}

impl MixerReport {
    pub fn score(&self, policy: &str) -> Option<&PolicyScore> {
        self.policies.iter().find(|p| p.policy == policy)
    }
}

pub const RANDOM: &str = "random";
pub const GREEDY: &str = "greedy pCTR";
pub const BEST_MIX: &str = "best fixed mix";
pub const BEST_SHARE: &str = "greedy pCTR, best high-CTR share";

fn bar(len: usize) -> ProgressBar {
    ProgressBar::new(len as u64).with_style(
        ProgressStyle::with_template("eval [{bar:30}] {pos}/{len} {msg} eta {eta}")
            .expect("valid template"),
    )
}

/// Scores the baselines and `learned` policies on `options.sessions`
/// held-out sessions.
pub fn evaluate_mixers(
    sim: &SimConfig,
    learned: Vec<Box<dyn MixPolicy>>,
    options: &EvalOptions,
) -> Result<MixerReport> {
    options.validate().map_err(anyhow::Error::msg)?;
    sim.validate()?;
    let high = sim.high_ctr_type();
    let k = sim.num_types();
    let eval = SessionRange::new(EVAL_STREAM, 0, options.sessions);
    let tune = SessionRange::new(TUNING_STREAM, 0, options.tuning_sessions);
    let grid = FixedMix::grid(k, options.grid_steps);
    let shares: Vec<f64> = (0..options.share_points)
        .map(|i| i as f64 / (options.share_points - 1) as f64)
        .collect();
    let progress = bar(grid.len() + 2 * shares.len() + 4 + learned.len());
    let run = |policy: &mut dyn MixPolicy, range| {
        progress.set_message(policy.name());
        let results = evaluate_policy(sim, range, options.batch, policy);
        progress.inc(1);
        results
    };

    let mut policies = vec![
        PolicyScore::of(
            RANDOM,
            &run(&mut RandomPolicy::new(EVAL_STREAM), eval),
            high,
        ),
        PolicyScore::of(GREEDY, &run(&mut GreedyPctr, eval), high),
    ];
    // Tuned on the tuning stream only.
    let mut best_mix = (f64::MIN, grid[0].clone());
    for shares in &grid {
        let m = mean_clicks(&run(&mut FixedMix::new(shares, sim.max_slots), tune));
        if m > best_mix.0 {
            best_mix = (m, shares.clone());
        }
    }
    let mut best_share = (f64::MIN, 0.0);
    for &share in &shares {
        let m = mean_clicks(&run(&mut ShareCappedGreedy { high, share }, tune));
        if m > best_share.0 {
            best_share = (m, share);
        }
    }
    let mix_results = run(&mut FixedMix::new(&best_mix.1, sim.max_slots), eval);
    policies.push(PolicyScore::of(BEST_MIX, &mix_results, high));
    let share_results = run(
        &mut ShareCappedGreedy {
            high,
            share: best_share.1,
        },
        eval,
    );
    policies.push(PolicyScore::of(BEST_SHARE, &share_results, high));
    let share_curve = shares
        .iter()
        .map(|&share| SharePoint {
            share,
            score: PolicyScore::of(
                format!("share {share:.2}"),
                &run(&mut ShareCappedGreedy { high, share }, eval),
                high,
            ),
        })
        .collect();
    for mut policy in learned {
        let name = policy.name();
        policies.push(PolicyScore::of(name, &run(policy.as_mut(), eval), high));
    }
    progress.finish_and_clear();
    Ok(MixerReport {
        type_names: sim.type_names(),
        high_ctr_type: sim.types[high].name.clone(),
        options: options.clone(),
        policies,
        best_mix: best_mix.1,
        share_curve,
    })
}

fn relative(a: &PolicyScore, b: Option<&PolicyScore>) -> String {
    match b {
        Some(b) if b.mean_clicks > 0.0 && a.policy != b.policy => {
            let apart = a.low() > b.high() || a.high() < b.low();
            let sign = if apart {
                " (CIs apart)"
            } else {
                " (CIs overlap)"
            };
            format!(
                "{:+.1}%{sign}",
                100.0 * (a.mean_clicks / b.mean_clicks - 1.0)
            )
        }
        _ => "".into(),
    }
}

/// The report as a Markdown table.
pub fn markdown(report: &MixerReport) -> String {
    let greedy = report.score(GREEDY);
    let mix = report.score(BEST_MIX);
    let mut s = format!(
        "Mean clicks per session over {} held-out simulated sessions (95% CI). \
         High-CTR type: {}. Best fixed mix ({}): [{}].\n\n\
         | policy | clicks / session | 95% CI | vs greedy pCTR | vs best fixed mix | {} share | slots / session |\n\
         |---|---|---|---|---|---|---|\n",
        report.options.sessions,
        report.high_ctr_type,
        report.type_names.join(", "),
        report
            .best_mix
            .iter()
            .map(|s| format!("{s:.1}"))
            .collect::<Vec<_>>()
            .join(", "),
        report.high_ctr_type,
    );
    for p in &report.policies {
        s.push_str(&format!(
            "| {} | {:.3} | [{:.3}, {:.3}] | {} | {} | {:.2} | {:.1} |\n",
            p.policy,
            p.mean_clicks,
            p.low(),
            p.high(),
            relative(p, greedy),
            relative(p, mix),
            p.high_ctr_share,
            p.mean_slots
        ));
    }
    s.push_str(&format!(
        "\n![clicks vs share](clicks_vs_share.svg)\n\n\
         Greedy pCTR with the {} share of slots fixed (evenly spread), same sessions:\n\n\
         | {} share | clicks / session | 95% CI |\n|---|---|---|\n",
        report.high_ctr_type, report.high_ctr_type
    ));
    for p in &report.share_curve {
        s.push_str(&format!(
            "| {:.2} | {:.3} | [{:.3}, {:.3}] |\n",
            p.share,
            p.score.mean_clicks,
            p.score.low(),
            p.score.high()
        ));
    }
    s
}

/// Writes `report.json`, `report.md` and `clicks_vs_share.svg` into `dir`.
pub fn write_report(report: &MixerReport, dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_atomic(
        &dir.join("report.json"),
        serde_json::to_string_pretty(report)?.as_bytes(),
    )?;
    write_atomic(&dir.join("report.md"), markdown(report).as_bytes())?;
    let curve = Line {
        label: "greedy pCTR at a fixed high-CTR share".into(),
        points: report
            .share_curve
            .iter()
            .map(|p| (p.share, p.score.mean_clicks, p.score.ci95))
            .collect(),
        spread: Spread::Band,
    };
    let markers: Vec<Marker> = report
        .policies
        .iter()
        .map(|p| Marker {
            label: format!("{} ({:.2})", p.policy, p.mean_clicks),
            x: p.high_ctr_share,
            y: p.mean_clicks,
            err: p.ci95,
        })
        .collect();
    let svg = Chart {
        title: format!(
            "Clicks per session vs share of {} ({} sessions, 95% CI)",
            report.high_ctr_type, report.options.sessions
        ),
        x_label: format!("share of slots given to {}", report.high_ctr_type),
        y_label: "mean clicks per session".into(),
        x_ticks: XTicks::Round,
        lines: vec![curve],
        markers,
    }
    .to_svg();
    write_atomic(&dir.join("clicks_vs_share.svg"), svg.as_bytes())
}
