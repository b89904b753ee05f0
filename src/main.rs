//! The `ember` command line: train, evaluate, predict, list datasets, demo.

mod demo;
mod retrieval;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use ember_models::device::DeviceChoice;
use ember_train::{FitOptions, RunConfig};

#[derive(Parser)]
#[command(
    name = "ember",
    version,
    about = "Recommender models on Burn: train, evaluate, export, serve"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model from a TOML run config; writes checkpoints, metrics and an artifact.
    /// A config with `[model] kind = "two_tower"` trains a retrieval model.
    Train {
        #[arg(long, short)]
        config: PathBuf,
        /// Override a config key, e.g. `--set train.lr=0.01 --set model.kind=fm`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// auto | cpu | flex | ndarray | wgpu (overrides the config's `device`).
        #[arg(long)]
        device: Option<DeviceChoice>,
        /// Continue from the run's last checkpoint.
        #[arg(long)]
        resume: bool,
        /// Write the run summary as JSON here too.
        #[arg(long)]
        summary: Option<PathBuf>,
    },
    /// Evaluate an exported model on the test split of the data it was trained on.
    Eval {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
    },
    /// Score every row of a file with an exported model: one probability per line.
    Predict {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        input: PathBuf,
        /// Output file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
        /// Skip malformed rows (counted and reported) instead of failing.
        #[arg(long)]
        skip_bad_rows: bool,
    },
    /// Top-N items for a user from an exported two-tower model (ANN index,
    /// or --exact); the user's history items are left out of the answer.
    Retrieve {
        #[arg(long)]
        model: PathBuf,
        /// Raw user id. Their profile and train history come from the data the
        /// model was trained on.
        #[arg(long)]
        user: u32,
        /// Comma-separated raw item ids, oldest first, replacing the user's
        /// train history (a new user needs one; "" = no history).
        #[arg(long)]
        history: Option<String>,
        #[arg(long, short, default_value_t = 10)]
        k: usize,
        /// Scan every item vector instead of searching the ANN index.
        #[arg(long)]
        exact: bool,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
    },
    /// List the built-in datasets, or describe one.
    Datasets {
        name: Option<String>,
        /// Where the real data lives (default ../shared/data).
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// The main job on built-in synthetic data (no files needed): train
    /// DeepFM, evaluate against the known true probabilities, export.
    Demo {
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
        #[arg(long, default_value = "runs")]
        output_dir: PathBuf,
        /// Upper bound; early stopping on validation AUC usually ends sooner.
        #[arg(long, default_value_t = 30)]
        epochs: usize,
    },
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                "info,wgpu_core=warn,wgpu_hal=warn,naga=warn,cubecl=warn".into()
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(err) = run(Cli::parse()) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train {
            config,
            overrides,
            device,
            resume,
            summary,
        } => {
            let value = ember_train::config::load_toml(&config, &overrides)?;
            if ember_train::retrieval::RetrievalRunConfig::describes(&value) {
                return retrieval::train(value, &config, device, resume, summary);
            }
            let mut config = RunConfig::from_value(value, &config)?;
            if let Some(device) = device {
                config.device = device;
            }
            let data = ember_datasets::registry::load(&config.data)?;
            let result = ember_train::fit(
                &config,
                &data,
                &FitOptions {
                    resume,
                    ..Default::default()
                },
            )?;
            println!(
                "{} {}: best epoch {} | valid {} | test {} | {:.1}s ({:.0} samples/s) | artifact {}",
                result.name,
                result.model,
                result.best_epoch,
                result.valid,
                result.test,
                result.train_seconds,
                result.train_samples_per_second,
                result.artifact.display()
            );
            if let Some(path) = summary {
                std::fs::write(&path, serde_json::to_string_pretty(&result)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(())
        }
        Command::Eval { model, device } => {
            let predictor = ember_infer::Predictor::load(&model, device)?;
            let data = ember_datasets::registry::load(&predictor.data_config)?;
            let metrics = predictor.evaluate(&data.test);
            println!("test {metrics}");
            Ok(())
        }
        Command::Predict {
            model,
            input,
            output,
            device,
            skip_bad_rows,
        } => {
            let predictor = ember_infer::Predictor::load(&model, device)?;
            let scores = predictor.score_file(&input, skip_bad_rows)?;
            let mut text = String::with_capacity(scores.len() * 10);
            for s in &scores {
                text.push_str(&format!("{s:.6}\n"));
            }
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            tracing::info!(rows = scores.len(), "scored");
            Ok(())
        }
        Command::Retrieve {
            model,
            user,
            history,
            k,
            exact,
            device,
        } => retrieval::retrieve(&model, user, history.as_deref(), k, exact, device),
        Command::Datasets { name, root } => {
            let builtins = ember_datasets::registry::list_builtin();
            match name {
                None => {
                    for (name, description) in builtins {
                        println!("{name:<16} {description}");
                    }
                }
                Some(name) => {
                    let text = ember_datasets::registry::describe(&name, root.as_deref())?;
                    println!("{text}");
                }
            }
            Ok(())
        }
        Command::Demo {
            device,
            output_dir,
            epochs,
        } => demo::run(device, output_dir, epochs),
    }
}
