//! `ember distributed ...`: commands that run on every rank of an MPI job
//! (`mpirun -np N ember distributed check`).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use ember_train::config::{EmbeddingUpdate, OptimizerKind};
use ember_train::distributed::{self, CheckOptions, Collective};
use ember_train::{AnyRunConfig, FitOptions};

use crate::config_args::ConfigArgs;

#[derive(Subcommand)]
pub enum DistributedCommand {
    /// N ranks training K steps on their parts of fixed global batches end
    /// where one process on the whole batches ends (dense parameters and
    /// table rows within --tolerance). Rank 0 prints the report as JSON;
    /// the exit status says whether it passed.
    Check(CheckArgs),
    /// Time the distributed step on criteo-synth: compute vs communication,
    /// bytes per rank, peak memory, and a projection to more ranks next to
    /// dense all-reduce of the tables. Rank 0 prints the report.
    Bench(BenchArgs),
}

#[derive(Args)]
pub struct BenchArgs {
    /// Rows each rank trains on a step.
    #[arg(long, default_value_t = 2048)]
    local_batch: usize,
    #[arg(long, default_value_t = 3)]
    warmup_steps: usize,
    #[arg(long, default_value_t = 20)]
    timed_steps: usize,
    /// Rows of all tables together; 0 = criteo-synth's own (5.57 M).
    #[arg(long, default_value_t = 0)]
    table_rows: usize,
    #[arg(long, default_value_t = 16)]
    embedding_dim: usize,
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: OptimizerArg,
    #[arg(long, value_delimiter = ',', default_value = "8,64")]
    project_to: Vec<usize>,
    /// Time the single-process step on the same batches first (needs a
    /// second copy of the tables; `--baseline false` for memory runs).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    baseline: bool,
    /// Also write the report as JSON here (rank 0).
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

#[derive(Args)]
pub struct CheckArgs {
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: OptimizerArg,
    #[arg(long, default_value_t = 10)]
    steps: usize,
    #[arg(long, default_value_t = 512)]
    global_batch: usize,
    /// Rows of all embedding tables together.
    #[arg(long, default_value_t = 20_000)]
    table_rows: usize,
    #[arg(long, default_value_t = 0.0)]
    embedding_l2: f64,
    /// The learning rate of both optimizers (criteo-synth's and the
    /// presets' is 1e-3).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 1e-5)]
    tolerance: f32,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum OptimizerArg {
    Adam,
    LazyAdam,
    Adagrad,
}

impl From<OptimizerArg> for OptimizerKind {
    fn from(o: OptimizerArg) -> Self {
        match o {
            OptimizerArg::Adam => OptimizerKind::Adam,
            OptimizerArg::LazyAdam => OptimizerKind::LazyAdam,
            OptimizerArg::Adagrad => OptimizerKind::Adagrad,
        }
    }
}

pub fn run(command: DistributedCommand) -> Result<()> {
    on_every_rank(|world| match &command {
        DistributedCommand::Check(args) => check(world, args),
        DistributedCommand::Bench(args) => bench(world, args),
    })
}

/// `ember train --distributed`: every rank trains; rank 0 prints and
/// writes the summary.
pub fn train(run: &ConfigArgs, options: &FitOptions, summary: Option<&Path>) -> Result<()> {
    let AnyRunConfig::Ranking(mut config) = AnyRunConfig::load(&run.config, &run.overrides)? else {
        bail!("--distributed trains ranking runs; this config is a multi-task or retrieval run");
    };
    run.apply(&mut config.common);
    if config.train.embedding_update != EmbeddingUpdate::RowSparse {
        tracing::info!(
            "distributed training shards the tables by rows: train.embedding_update = \"row_sparse\""
        );
        config.train.embedding_update = EmbeddingUpdate::RowSparse;
    }
    on_every_rank(|world| {
        let data = distributed::load_input_share(&config.data, world.as_ref())?;
        let rank = world.rank();
        let result = distributed::fit_distributed(&config, &data, options, world)?;
        if rank == 0 {
            crate::print_ranking_summary(&result);
            if let Some(path) = summary {
                std::fs::write(path, serde_json::to_string_pretty(&result)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        Ok(())
    })
}

fn bench(world: Arc<dyn Collective>, args: &BenchArgs) -> Result<()> {
    let options = distributed::bench::DistributedBenchOptions {
        local_batch: args.local_batch,
        warmup_steps: args.warmup_steps,
        timed_steps: args.timed_steps,
        table_rows: args.table_rows,
        embedding_dim: args.embedding_dim,
        optimizer: args.optimizer.into(),
        project_to: args.project_to.clone(),
        baseline: args.baseline,
        seed: 42,
    };
    let Some(report) = distributed::bench::run_bench(world, &options)? else {
        return Ok(());
    };
    println!(
        "{} rank(s), local batch {}, {} table rows x {}, {} dense parameters",
        report.ranks,
        report.local_batch,
        report.table_rows,
        report.embedding_dim,
        report.dense_params
    );
    println!(
        "{:>5} {:>9} {:>9} {:>9} {:>10} {:>12} {:>6} {:>10} {:>9}",
        "rank",
        "plain ms",
        "step ms",
        "comm ms",
        "compute ms",
        "bytes/step",
        "msgs",
        "rows/step",
        "peak MiB"
    );
    for r in &report.per_rank {
        println!(
            "{:>5} {:>9} {:>9.1} {:>9.1} {:>10.1} {:>12.0} {:>6.0} {:>10.0} {:>9}",
            r.rank,
            r.plain_step_ms.map_or("-".into(), |t| format!("{t:.1}")),
            r.step_ms,
            r.comm_ms,
            r.step_ms - r.comm_ms,
            r.bytes_sent_per_step,
            r.messages_per_step,
            r.unique_rows_per_step,
            r.peak_rss_bytes
                .map_or("-".into(), |b| (b >> 20).to_string())
        );
    }
    if let (Some(a), Some(b)) = (report.alpha_s, report.beta_s_per_byte) {
        println!(
            "transport: alpha {:.1} us/message, beta {:.3} ns/byte ({:.2} GB/s)",
            a * 1e6,
            b * 1e9,
            1e-9 / b.max(1e-15)
        );
        println!(
            "{:>5} {:>16} {:>16} {:>20} {:>20}",
            "ranks", "sharded step ms", "sharded MB/rank", "dense-AR step ms", "dense-AR MB/rank"
        );
        for p in &report.projections {
            println!(
                "{:>5} {:>16.1} {:>16.2} {:>20.1} {:>20.2}",
                p.ranks,
                p.sharded_step_ms,
                p.sharded_bytes_per_rank / 1e6,
                p.dense_allreduce_step_ms,
                p.dense_allreduce_bytes_per_rank / 1e6
            );
        }
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn check(world: Arc<dyn Collective>, args: &CheckArgs) -> Result<()> {
    let options = CheckOptions {
        optimizer: args.optimizer.into(),
        steps: args.steps,
        global_batch: args.global_batch,
        table_rows: args.table_rows,
        embedding_l2: args.embedding_l2,
        lr: args.lr,
        ..Default::default()
    };
    let Some(report) = distributed::run_check(world, &options)? else {
        return Ok(()); // not rank 0
    };
    println!("{}", serde_json::to_string(&report)?);
    if !report.passed(args.tolerance) {
        bail!(
            "{} ranks differ from one process by more than {}: dense {:.3e}, tables {:.3e}",
            report.ranks,
            args.tolerance,
            report.dense_max_abs_diff,
            report.table_max_abs_diff
        );
    }
    Ok(())
}

/// Runs `job` in the MPI world this process was started in. A rank whose
/// job fails aborts the whole world, so that no other rank waits forever
/// in a collective for it.
#[cfg(feature = "distributed")]
fn on_every_rank(job: impl FnOnce(Arc<dyn Collective>) -> Result<()>) -> Result<()> {
    let Some(world) = distributed::MpiWorld::init() else {
        bail!("MPI was initialised twice");
    };
    let world = Arc::new(world);
    match job(world.clone()) {
        Ok(()) => Ok(()),
        Err(err) if world.size() > 1 => {
            eprintln!(
                "error on rank {} of {}: {err:#}",
                world.rank(),
                world.size()
            );
            world.abort(1)
        }
        Err(err) => Err(err),
    }
}

/// Without MPI compiled in there is one process: the world of one rank.
#[cfg(not(feature = "distributed"))]
fn on_every_rank(job: impl FnOnce(Arc<dyn Collective>) -> Result<()>) -> Result<()> {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() || std::env::var_os("PMI_SIZE").is_some()
    {
        bail!(
            "started by mpirun, but this ember was built without MPI: build it with `--features distributed`"
        );
    }
    job(Arc::new(distributed::SingleProcess::default()))
}
