//! `ember mixer …`: train, evaluate and query the RL mixer.

use std::path::PathBuf;

use crate::config_args::ConfigArgs;
use anyhow::{Context, Result};
use clap::Subcommand;
use ember_datasets::simulator::{MixPolicy, SessionState, SimConfig};
use ember_infer::MixerPolicy;
use ember_models::device::DeviceChoice;
use ember_train::rl::{EvalOptions, MixerRunConfig, evaluate_mixers, train_mixer, write_report};

#[derive(Subcommand)]
pub enum MixerCommand {
    /// Train a DQN mixer on the feed simulator; writes metrics and an artifact.
    Train {
        /// A mixer run config (`--set dqn.episodes=5000 --set model.recurrent=false`).
        #[command(flatten)]
        run: ConfigArgs,
    },
    /// Score exported mixers against random, greedy pCTR and the best fixed
    /// mix on held-out sessions; writes report.md/json and clicks_vs_share.svg.
    Eval {
        /// The simulator config to evaluate on.
        #[arg(long, default_value = "configs/mixer/simulator.toml")]
        simulator: PathBuf,
        /// Exported mixer artifacts (repeat the flag for several).
        #[arg(long)]
        model: Vec<PathBuf>,
        #[arg(long, default_value_t = 10_000)]
        sessions: usize,
        #[arg(long, default_value_t = 2_000)]
        tuning_sessions: usize,
        /// Where the report goes.
        #[arg(long, default_value = "runs/mixer-eval")]
        out: PathBuf,
        #[arg(long, default_value = "cpu")]
        device: DeviceChoice,
    },
    /// Print the type an exported mixer picks for a session state (JSON:
    /// `{"served": [{"pctr": [..], "feedback": {..}}], "candidates_pctr": [..]}`).
    Act {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        state: PathBuf,
        #[arg(long, default_value = "cpu")]
        device: DeviceChoice,
    },
}

pub fn run(command: MixerCommand) -> Result<()> {
    match command {
        MixerCommand::Train { run } => {
            let (mut config, sim) = MixerRunConfig::load(&run.config, &run.overrides)?;
            run.apply(&mut config.common);
            let trained = train_mixer(&config, &sim)?;
            let s = &trained.summary;
            println!(
                "{}: {} sessions, {} updates in {:.0}s; best validation {:.3} clicks/session (round {}); artifact {}",
                s.name,
                s.episodes,
                s.updates,
                s.train_seconds,
                s.best_valid_clicks,
                s.best_round,
                s.artifact.display()
            );
            Ok(())
        }
        MixerCommand::Eval {
            simulator,
            model,
            sessions,
            tuning_sessions,
            out,
            device,
        } => {
            let sim = SimConfig::load(&simulator)?;
            let mut learned: Vec<Box<dyn MixPolicy>> = Vec::new();
            for dir in &model {
                let policy = MixerPolicy::load(dir, device)?;
                anyhow::ensure!(
                    policy.spec.type_names == sim.type_names(),
                    "{}: trained for types [{}] but {} has [{}]",
                    dir.display(),
                    policy.spec.type_names.join(", "),
                    simulator.display(),
                    sim.type_names().join(", ")
                );
                learned.push(Box::new(policy.into_policy()));
            }
            let options = EvalOptions {
                sessions,
                tuning_sessions,
                ..Default::default()
            };
            let report = evaluate_mixers(&sim, learned, &options)?;
            write_report(&report, &out)?;
            print!("{}", ember_train::rl::evaluate::markdown(&report));
            println!("report and plot in {}", out.display());
            Ok(())
        }
        MixerCommand::Act {
            model,
            state,
            device,
        } => {
            let mut policy = MixerPolicy::load(&model, device)?;
            let text = std::fs::read_to_string(&state)
                .with_context(|| format!("{}: cannot read", state.display()))?;
            let session: SessionState = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a session state", state.display()))?;
            let q = policy.q_values(&session)?;
            let pick = ember_datasets::simulator::argmax(&q).unwrap_or(0);
            println!("{} (Q = {q:?})", policy.type_name(pick));
            Ok(())
        }
    }
}
