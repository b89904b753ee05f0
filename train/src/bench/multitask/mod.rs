//! `ember bench-mtl`: the multi-task benchmarks and their report.
//!
//! - `mmoe_synthetic` (PROTOCOLS.md): shared-bottom, MMoE and CGC on the
//!   two-task regression data at task correlations p = 1.0, 0.9, 0.5, 0.0;
//!   test MSE over seeds (table and SVG plot);
//! - `esmm`: on click-conversion data, the error of the predicted CVR
//!   against the true CVR over all test impressions, ESMM against CVR
//!   models fitted on clicked impressions only;
//! - `loss_balance` (`ml100k-balance`): ml100k-ctr with two targets
//!   (rating ≥ 4, rating = 5), fixed weights vs GradNorm vs PCGrad, both
//!   tasks' test AUC; the fixed run also grid-searches fusion weights.
//!
//! Every run is a shipped preset under `configs/` with `key=value`
//! overrides for what the experiment varies (seed, correlation, run name),
//! so `ember train --config PRESET --set …` reproduces any cell of a table
//! and the hyper-parameters live in one place. Each section is written as
//! `<experiment>.md` (+ JSON lines of every run) under the output
//! directory, and `REPORT.md` joins the sections present.

mod data_cache;
mod describe;
mod esmm;
mod loss_balance;
mod mmoe_synthetic;
mod runner;
mod stats;

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context, Result};
use ember_models::device::DeviceChoice;

use runner::Runner;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Experiment {
    MmoeSynthetic,
    Esmm,
    Ml100kBalance,
    All,
}

impl Experiment {
    /// The names `ember bench-mtl` takes, in [`Experiment`]'s order.
    pub const NAMES: [&str; 4] = ["mmoe-synthetic", "esmm", "ml100k-balance", "all"];
    const ALL: [Experiment; 4] = [
        Experiment::MmoeSynthetic,
        Experiment::Esmm,
        Experiment::Ml100kBalance,
        Experiment::All,
    ];
}

impl FromStr for Experiment {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::NAMES
            .iter()
            .position(|name| *name == s)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| format!("'{s}' is not one of {}", Self::NAMES.join(", ")))
    }
}

#[derive(Debug, Clone)]
pub struct MultiTaskBenchOptions {
    pub experiment: Experiment,
    /// Seeds 1..=seeds per configuration.
    pub seeds: u64,
    /// Report directory; run directories go under `out/runs`.
    pub out: PathBuf,
    pub device: DeviceChoice,
    /// Where ml100k lives (the presets' `data.root` is replaced by it).
    pub data_root: PathBuf,
    /// The mmoe-synthetic presets (`shared_bottom.toml`, `mmoe.toml`,
    /// `cgc.toml`), e.g. `configs/mmoe-synthetic-proj16`.
    pub mmoe_presets: PathBuf,
    /// The presets' root, holding `click-conversion/` and `ml100k-mtl/`.
    pub configs: PathBuf,
    /// `key=value` overrides applied to every run before the experiment's own.
    pub overrides: Vec<String>,
}

/// The sections' file stems, in the report's order.
const SECTIONS: [&str; 3] = [
    mmoe_synthetic::SECTION,
    esmm::SECTION,
    loss_balance::SECTION,
];

pub fn run(options: &MultiTaskBenchOptions) -> Result<()> {
    if options.seeds == 0 {
        anyhow::bail!("--seeds must be at least 1");
    }
    let out = &options.out;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let runner = Runner::new(out.clone(), options.device, options.overrides.clone());
    let seeds = options.seeds;
    let chosen = |e: Experiment| options.experiment == e || options.experiment == Experiment::All;
    if chosen(Experiment::MmoeSynthetic) {
        mmoe_synthetic::run(&runner, seeds, &options.mmoe_presets)?;
    }
    if chosen(Experiment::Esmm) {
        esmm::run(&runner, seeds, &options.configs.join("click-conversion"))?;
    }
    if chosen(Experiment::Ml100kBalance) {
        loss_balance::run(
            &runner,
            seeds,
            &options.configs.join("ml100k-mtl"),
            &options.data_root,
        )?;
    }
    let mut report = String::from("# Multi-task benchmarks\n\nWritten by `ember bench-mtl`.\n\n");
    for section in SECTIONS {
        if let Ok(text) = std::fs::read_to_string(out.join(format!("{section}.md"))) {
            report.push_str(&text);
            report.push('\n');
        }
    }
    std::fs::write(out.join("REPORT.md"), report)?;
    println!("report: {}", out.join("REPORT.md").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn experiments_parse_from_their_command_line_names() {
        for (name, experiment) in Experiment::NAMES.iter().zip(Experiment::ALL) {
            assert_eq!(name.parse::<Experiment>(), Ok(experiment));
        }
        assert!("mmoe".parse::<Experiment>().is_err());
    }
}
