//! `ember feed …` (the simulated feed: its catalog, simulated users
//! against a server) and `ember experiment report`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use ember_datasets::simulator::SimConfig;
use ember_infer::feed::report::{self, ReportOptions};
use ember_infer::feed::simulate::{feed_pipeline_toml, simulate_users, write_feed_catalog};

#[derive(Subcommand)]
pub enum FeedCommand {
    /// Write a feed catalog for the simulator's content types (items.csv,
    /// a seed events.csv) and a pipeline mixing them: with --mixer, two
    /// experiment arms, the learned mixer and the fixed mix.
    Catalog {
        #[arg(long, default_value = "runs/feed")]
        out: PathBuf,
        #[arg(long, default_value = "configs/mixer/simulator.toml")]
        simulator: PathBuf,
        #[arg(long, default_value_t = 500)]
        items_per_type: usize,
        #[arg(long, default_value_t = 20)]
        topics: usize,
        /// An exported mixer (`ember mixer train`).
        #[arg(long)]
        mixer: Option<PathBuf>,
        /// The fixed mix's shares, in the simulator's type order (default:
        /// the best fixed mix of reports/mixer/report.md).
        #[arg(long, value_delimiter = ',', default_value = "0.3,0.1,0.2,0.4")]
        fixed_mix: Vec<f64>,
    },
    /// Simulated users (one session each) browsing a running server's feed
    /// through /recommend and /feedback.
    Simulate {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[arg(long, default_value = "configs/mixer/simulator.toml")]
        simulator: PathBuf,
        #[arg(long, default_value_t = 2000)]
        sessions: usize,
        /// The session stream (default: the held-out sessions `ember mixer
        /// eval` scores, so online and offline meet the same users).
        #[arg(long, default_value_t = 1_000_003)]
        stream: u64,
        #[arg(long, default_value_t = 0)]
        start: u64,
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[arg(long, default_value_t = 500)]
        items_per_type: usize,
    },
}

#[derive(Subcommand)]
pub enum ExperimentCommand {
    /// Per-arm CTR, clicks per session, their differences with 95% CIs, a
    /// sequential test valid under peeking, and diversity, from an
    /// `ember serve --feedback-log DIR` directory.
    Report {
        #[arg(long)]
        log: PathBuf,
        /// The served pipeline: its catalog gives the diversity metrics.
        #[arg(long)]
        pipeline: Option<PathBuf>,
        /// The control arm (default: the first arm name in sort order).
        #[arg(long)]
        control: Option<String>,
        /// The mSPRT mixture's standard deviation, in clicks per session.
        #[arg(long, default_value_t = 0.5)]
        tau: f64,
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        /// Also write report.md and report.json here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn feed(command: FeedCommand) -> Result<()> {
    match command {
        FeedCommand::Catalog {
            out,
            simulator,
            items_per_type,
            topics,
            mixer,
            fixed_mix,
        } => {
            let sim = SimConfig::load(&simulator)?;
            if fixed_mix.len() != sim.num_types() {
                bail!(
                    "--fixed-mix has {} shares; the simulator has {} types",
                    fixed_mix.len(),
                    sim.num_types()
                );
            }
            write_feed_catalog(&out, &sim, items_per_type, topics)?;
            let path = out.join("pipeline.toml");
            std::fs::write(
                &path,
                feed_pipeline_toml(&out, &sim, mixer.as_deref(), &fixed_mix),
            )
            .with_context(|| format!("writing {}", path.display()))?;
            println!(
                "wrote {} (items, seed events) and {}",
                out.display(),
                path.display()
            );
            Ok(())
        }
        FeedCommand::Simulate {
            addr,
            simulator,
            sessions,
            stream,
            start,
            connections,
            items_per_type,
        } => {
            let sim = SimConfig::load(&simulator)?;
            let t = std::time::Instant::now();
            let done = simulate_users(
                addr,
                &sim,
                stream,
                start,
                sessions,
                connections,
                items_per_type,
            )?;
            let mut arms: std::collections::BTreeMap<&str, (usize, u64)> = Default::default();
            for s in &done {
                let e = arms.entry(s.arm.as_str()).or_default();
                e.0 += 1;
                e.1 += u64::from(s.result.clicks);
            }
            println!(
                "{} sessions in {:.1}s",
                done.len(),
                t.elapsed().as_secs_f64()
            );
            for (arm, (n, clicks)) in arms {
                println!(
                    "  arm '{arm}': {n} sessions, {:.3} clicks/session",
                    clicks as f64 / n as f64
                );
            }
            Ok(())
        }
    }
}

pub fn experiment(command: ExperimentCommand) -> Result<()> {
    match command {
        ExperimentCommand::Report {
            log,
            pipeline,
            control,
            tau,
            alpha,
            out,
        } => {
            if !(tau > 0.0 && tau.is_finite() && alpha > 0.0 && alpha < 1.0) {
                bail!("--tau must be > 0 and --alpha in (0, 1)");
            }
            let sessions = report::read_sessions(&log)?;
            let catalog = pipeline
                .map(|p| -> Result<_> {
                    let config = ember_infer::PipelineConfig::load(&p, &[])?;
                    ember_infer::features::Catalog::load(
                        &config.catalog.data,
                        config.catalog.history_len,
                    )
                    .with_context(|| format!("{}: the catalog", p.display()))
                })
                .transpose()?;
            let options = ReportOptions {
                control,
                tau,
                alpha,
            };
            let result = report::report(&sessions, &options, |arm| {
                catalog.as_ref().map(|c| report::catalog_diversity(c, arm))
            })?;
            let text = format!("# Experiment {}\n\n{}", log.display(), result.markdown());
            println!("{text}");
            if let Some(out) = out {
                std::fs::create_dir_all(&out)?;
                std::fs::write(out.join("report.md"), &text)?;
                std::fs::write(
                    out.join("report.json"),
                    serde_json::to_string_pretty(&result)?,
                )?;
                println!("wrote {}/report.md and report.json", out.display());
            }
            Ok(())
        }
    }
}
