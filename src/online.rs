//! `ember online` and `ember example-stream`: training on a stream of events.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use ember_datasets::synthetic::drifting_stream::{DriftingStreamConfig, write_drifting_stream};
use ember_train::online::{OnlineRunConfig, run_online};

use crate::config_args::ConfigArgs;

/// Trains on the stream to its end (an online run config, configs/online/,
/// e.g. `--set online.window_events=5000`); prints the per-window table.
pub fn online(args: ConfigArgs) -> Result<()> {
    let mut config = OnlineRunConfig::load(&args.config, &args.overrides)?;
    args.apply(&mut config.common);
    let summary = run_online(&config)?;
    println!(
        "{}",
        ember_train::online::progressive::markdown_table(&summary.windows)
    );
    println!(
        "{} events from {} files at {:.0} events/s; versions {} in {}; report in {}",
        summary.events,
        summary.files,
        summary.events_per_second,
        summary.versions.join(", "),
        config.versions_dir().display(),
        config.run_dir().display()
    );
    Ok(())
}

#[derive(Args)]
pub struct ExampleStreamArgs {
    #[arg(long, default_value = "runs/example-stream")]
    out: PathBuf,
    #[arg(long, default_value_t = DriftingStreamConfig::default().events)]
    events: usize,
    #[arg(long, default_value_t = DriftingStreamConfig::default().events_per_file)]
    events_per_file: usize,
    /// Half-turns of the drift over the stream (0: no drift).
    #[arg(long, default_value_t = DriftingStreamConfig::default().drift)]
    drift: f64,
    /// Items released over the stream, and on offer at any time.
    #[arg(long, default_value_t = DriftingStreamConfig::default().items)]
    items: usize,
    #[arg(long, default_value_t = DriftingStreamConfig::default().live_items)]
    live_items: usize,
    /// Mean events per user before a user leaves for a new id.
    #[arg(long, default_value_t = DriftingStreamConfig::default().user_life)]
    user_life: usize,
    #[arg(long, default_value_t = DriftingStreamConfig::default().user_bias)]
    user_bias: f64,
    #[arg(long, default_value_t = DriftingStreamConfig::default().item_quality)]
    item_quality: f64,
    #[arg(long, default_value_t = DriftingStreamConfig::default().seed)]
    seed: u64,
}

/// Writes the drifting stream's files.
pub fn example_stream(args: ExampleStreamArgs) -> Result<()> {
    let config = DriftingStreamConfig {
        events: args.events,
        events_per_file: args.events_per_file,
        drift: args.drift,
        items: args.items,
        live_items: args.live_items,
        user_life: args.user_life,
        user_bias: args.user_bias,
        item_quality: args.item_quality,
        seed: args.seed,
        ..DriftingStreamConfig::default()
    };
    let s = write_drifting_stream(&args.out, &config)?;
    println!(
        "wrote {} files of impressions into {} ({} events, {} clicks, {} distinct users)",
        s.files,
        args.out.display(),
        s.events,
        s.clicks,
        s.users
    );
    Ok(())
}
