//! The CLI's serving commands: `ember serve`, `ember bench-serving`,
//! `ember load-test` and `ember eval-serving`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use ember_infer::Pipeline;
use ember_infer::bench::{self, BenchServingOptions};
use ember_infer::pipeline::evaluate::{
    StageResult, evaluate_rerankers, evaluate_stages, markdown_table, stage_table,
};
use ember_infer::rerank::{DppConfig, RerankerConfig, RulesConfig, SubmodularConfig};
use ember_infer::server::client::{HttpClient, LoadTestOptions, LoadTestReport, run_load_test};
use ember_infer::server::watch::WatchOptions;
use ember_infer::server::{AdminToken, BackgroundServer, BatchingConfig, ServeOptions};
use ember_models::device::DeviceChoice;

/// How the server batches (shared by `serve` and `load-test`).
#[derive(Args, Clone)]
pub struct BatchingArgs {
    /// Most requests scored in one batch.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// Longest wait for more requests after the first of a batch, µs.
    #[arg(long, default_value_t = 200)]
    pub max_wait_us: u64,
    /// Queue length; a request finding it full gets a 503.
    #[arg(long, default_value_t = 4096)]
    pub queue: usize,
}

impl BatchingArgs {
    fn config(&self) -> BatchingConfig {
        BatchingConfig {
            max_batch: self.max_batch.max(1),
            max_wait: Duration::from_micros(self.max_wait_us),
            queue: self.queue.max(1),
        }
    }
}

#[derive(Args)]
pub struct ServeArgs {
    /// The pipeline to start with; other versions are the `*.toml` files
    /// next to it (`POST /admin/load {"version": "<file stem>"}`).
    #[arg(long)]
    pub pipeline: PathBuf,
    /// Override a pipeline key in every version, e.g. `--set rerank.theta=0.5`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub batching: BatchingArgs,
    #[command(flatten)]
    pub watch: WatchArgs,
    /// A file holding the token `/admin/*` requires (`Authorization: Bearer
    /// TOKEN`); else `$EMBER_ADMIN_TOKEN`. Required to listen beyond loopback.
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
    #[command(flatten)]
    pub feed: FeedArgs,
}

/// Sessions and the feedback log.
#[derive(Args)]
pub struct FeedArgs {
    /// Accept `POST /feedback` and append it (with every answer served)
    /// to `DIR/events.csv` and `DIR/served.jsonl`, synced before the
    /// answer; a restarted server replays them (see `ember_infer::feed::log`).
    #[arg(long, value_name = "DIR")]
    pub feedback_log: Option<PathBuf>,
    /// Seconds without a request that end a user's session.
    #[arg(long, default_value_t = 1800)]
    pub session_timeout: u64,
}

impl FeedArgs {
    pub fn options(&self) -> ember_infer::feed::FeedOptions {
        ember_infer::feed::FeedOptions {
            log_dir: self.feedback_log.clone(),
            session_timeout_s: self.session_timeout,
            ..Default::default()
        }
    }
}

/// Live model refresh from a directory of versions.
#[derive(Args)]
pub struct WatchArgs {
    /// Take each new model version that lands in this directory (an
    /// `ember online` run's versions) as the ranker, by itself.
    #[arg(long, value_name = "DIR")]
    pub watch: Option<PathBuf>,
    /// The pipeline key a watched version's directory fills.
    #[arg(long, default_value = "fine.artifact", requires = "watch")]
    pub watch_key: String,
    /// Seconds between looks at the directory.
    #[arg(long, default_value_t = 1.0, requires = "watch")]
    pub watch_poll: f64,
}

impl WatchArgs {
    pub fn options(&self) -> Option<WatchOptions> {
        self.watch.as_ref().map(|dir| WatchOptions {
            dir: dir.clone(),
            key: self.watch_key.clone(),
            poll: std::time::Duration::from_secs_f64(self.watch_poll.max(0.01)),
        })
    }
}

pub fn serve(args: ServeArgs) -> Result<()> {
    ember_infer::server::serve_blocking(ServeOptions {
        pipeline: args.pipeline,
        overrides: args.overrides,
        addr: args.addr,
        batching: args.batching.config(),
        watch: args.watch.options(),
        admin_token: AdminToken::from_file_or_env(args.admin_token_file.as_deref())?,
        feed: args.feed.options(),
    })
}

#[derive(Args)]
pub struct BenchServingArgs {
    /// A frappe ranking artifact (default: the preset's DeepFM, untrained).
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value = "configs/frappe-ctr/deepfm.toml")]
    pub preset: PathBuf,
    #[arg(long, default_value = "../shared/data")]
    pub data_root: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    #[arg(long, default_value_t = 1000)]
    pub candidates: usize,
    #[arg(long, default_value_t = 20)]
    pub warmup: usize,
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    #[arg(long, default_value_t = 5000)]
    pub dpp_pool: usize,
    #[arg(long, default_value_t = 50)]
    pub dpp_k: usize,
    #[arg(long, default_value_t = 100)]
    pub dpp_runs: usize,
    #[arg(long, default_value_t = 1)]
    pub naive_runs: usize,
    /// Rows per hashing pass (the frappe test file's first rows).
    #[arg(long, default_value_t = 28_860)]
    pub hash_rows: usize,
    /// Keys in the benchmark's feature store (half users, half items).
    #[arg(long, default_value_t = 1_000_000)]
    pub store_keys: usize,
    /// Keys per batched feature-store lookup.
    #[arg(long, default_value_t = 1000)]
    pub store_batch: usize,
    /// Keys looked up per feature-store measurement.
    #[arg(long, default_value_t = 20_000_000)]
    pub store_lookups: usize,
    #[arg(long, default_value = "runs/bench/serving.json")]
    pub out: PathBuf,
}

pub fn bench_serving(args: BenchServingArgs) -> Result<()> {
    let report = bench::run(&BenchServingOptions {
        model: args.model,
        preset: args.preset,
        data_root: args.data_root,
        device: args.device,
        candidates: args.candidates,
        warmup: args.warmup,
        requests: args.requests.max(1),
        dpp_pool: args.dpp_pool,
        dpp_k: args.dpp_k,
        dpp_runs: args.dpp_runs,
        naive_runs: args.naive_runs,
        hash_rows: args.hash_rows.max(1),
        store_keys: args.store_keys.max(2),
        store_batch: args.store_batch.max(1),
        store_lookups: args.store_lookups.max(1),
    })?;
    println!("{report}");
    bench::write_json(&report, &args.out)?;
    println!("wrote {}", args.out.display());
    Ok(())
}

#[derive(Args)]
pub struct LoadTestArgs {
    /// Start this pipeline on a free loopback port, run a clean phase and a
    /// malformed phase against it, then stop.
    #[arg(long, conflicts_with = "addr")]
    pub pipeline: Option<PathBuf>,
    /// Or test a running server (one phase with `--malformed`).
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    #[arg(long, default_value_t = 10_000)]
    pub requests: usize,
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Share of malformed requests (of the second phase with `--pipeline`).
    #[arg(long, default_value_t = 0.1)]
    pub malformed: f64,
    /// With `--addr`: users 1..=N and items 1..=M make the good requests
    /// (ml100k's sizes). With `--pipeline` the catalog's ids do.
    #[arg(long, default_value_t = 943)]
    pub users: u32,
    #[arg(long, default_value_t = 1682)]
    pub items: u32,
    #[arg(long, default_value_t = 100)]
    pub score_items: usize,
    #[command(flatten)]
    pub batching: BatchingArgs,
    /// With `--pipeline`: the server watches a versions directory meanwhile.
    #[command(flatten)]
    pub watch: WatchArgs,
}

pub fn load_test(args: LoadTestArgs) -> Result<()> {
    let (users, items): (Vec<String>, Vec<String>) = match &args.pipeline {
        Some(path) => {
            let config = ember_infer::pipeline::PipelineConfig::load(path, &[])?;
            let catalog = ember_infer::features::Catalog::load(
                &config.catalog.data,
                config.catalog.history_len,
            )?;
            let log = catalog.log();
            (log.users.ids.ids().to_vec(), log.items.ids.ids().to_vec())
        }
        None => (
            (1..=args.users).map(|u| u.to_string()).collect(),
            (1..=args.items).map(|i| i.to_string()).collect(),
        ),
    };
    let options = |malformed| LoadTestOptions {
        requests: args.requests,
        concurrency: args.concurrency,
        malformed,
        users: users.clone(),
        items: items.clone(),
        score_items: args.score_items,
        score_every: 5,
    };
    let check = |phase: &str, report: &LoadTestReport| {
        println!("{phase}: {report}");
        if !report.clean() {
            bail!("{phase}: requests got the wrong answer");
        }
        Ok(())
    };
    if let Some(addr) = args.addr {
        return check("load test", &run_load_test(addr, &options(args.malformed))?);
    }
    let Some(pipeline) = args.pipeline.clone() else {
        bail!("give --pipeline (start a server) or --addr (test a running one)");
    };
    let server = BackgroundServer::load_and_start(ServeOptions {
        pipeline,
        overrides: Vec::new(),
        addr: "127.0.0.1:0".parse().expect("loopback"),
        batching: args.batching.config(),
        watch: args.watch.options(),
        admin_token: None,
        feed: Default::default(),
    })?;
    let addr = server.addr;
    let outcome = (|| -> Result<()> {
        check("clean", &run_load_test(addr, &options(0.0))?)?;
        let bad = options(args.malformed);
        check(
            &format!("{:.0}% malformed", bad.malformed * 100.0),
            &run_load_test(addr, &bad)?,
        )?;
        let mut client = HttpClient::new(addr);
        let (status, body) = client.request("GET", "/health", b"")?;
        println!(
            "after: GET /health -> {status} {}",
            String::from_utf8_lossy(&body)
        );
        if status != 200 {
            bail!("the server is not healthy after the load test");
        }
        let (_, metrics) = client.request("GET", "/metrics", b"")?;
        for line in String::from_utf8_lossy(&metrics).lines() {
            if line.starts_with("ember_batches_total")
                || line.starts_with("ember_batched_requests_total")
                || line.starts_with("ember_max_batch")
            {
                println!("  {line}");
            }
        }
        Ok(())
    })();
    server.stop()?;
    outcome
}

#[derive(Args)]
pub struct EvalServingArgs {
    #[arg(long)]
    pub pipeline: PathBuf,
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// DPP trade-offs θ to compare.
    #[arg(long, value_delimiter = ',', default_value = "0.5,0.7,0.9")]
    pub dpp_theta: Vec<f32>,
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Only the first N test users (default: all).
    #[arg(long)]
    pub users: Option<usize>,
    #[arg(long, default_value = "reports/serving")]
    pub out: PathBuf,
}

pub fn eval_serving(args: EvalServingArgs) -> Result<()> {
    let pipeline = Pipeline::load_file(&args.pipeline, &args.overrides)?;
    let mut rerankers = vec![("none".to_owned(), RerankerConfig::None)];
    for &theta in &args.dpp_theta {
        let c = DppConfig {
            theta,
            ..Default::default()
        };
        c.validate()?;
        rerankers.push((format!("dpp θ={theta}"), RerankerConfig::Dpp(c)));
    }
    rerankers.push((
        "submodular".to_owned(),
        RerankerConfig::Submodular(SubmodularConfig::default()),
    ));
    rerankers.push((
        "rules".to_owned(),
        RerankerConfig::Rules(RulesConfig::default()),
    ));
    let started = std::time::Instant::now();
    let stages = evaluate_stages(&pipeline, args.k, args.users)?;
    let stages_md = stage_table(&stages, args.k);
    println!("{stages_md}");
    let results = evaluate_rerankers(&pipeline, &rerankers, args.k, args.users)?;
    let table = format!(
        "{stages_md}\nAfter re-ranking (the fine ranker's list, or the last stage's):\n\n{}",
        markdown_table(&results, args.k)
    );
    println!("{}", markdown_table(&results, args.k));
    write_report(
        &args,
        &pipeline,
        &stages,
        &results,
        &table,
        started.elapsed(),
    )?;
    Ok(())
}

fn write_report(
    args: &EvalServingArgs,
    pipeline: &Pipeline,
    stages: &[StageResult],
    results: &[ember_infer::pipeline::evaluate::RerankerResult],
    table: &str,
    took: Duration,
) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let stem = ember_infer::server::version_name(&args.pipeline);
    let json_path = args.out.join(format!("{stem}.json"));
    let json = serde_json::json!({ "stages": stages, "rerankers": results });
    std::fs::write(&json_path, serde_json::to_string_pretty(&json)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    let md_path = args.out.join(format!("{stem}.md"));
    let config = toml::to_string_pretty(&pipeline.config).unwrap_or_default();
    let text = format!(
        "# Serving pipeline {stem} on {}\n\n\
         `ember eval-serving --pipeline {}` ({} test queries of the catalog's log, \
         each user's train items excluded; {:.0} s).\n\n{table}\n\
         Recall@K = HitRate@K (one held-out item per query). Diversity (formulas in \
         `infer/src/diversity.rs`): per-list metrics are means over users, the user's main \
         interests their {} most frequent history categories, the held-out item the one \
         clicked; catalog coverage and exposure Gini are over all lists.\n\n## Pipeline\n\n```toml\n{config}```\n",
        pipeline.config.catalog.data.source_name(),
        display(&args.pipeline),
        results.first().map_or(0, |_| {
            let queries = pipeline.catalog.test_queries().len();
            args.users.unwrap_or(queries).min(queries)
        }),
        took.as_secs_f64(),
        ember_infer::features::catalog::MAIN_INTERESTS,
    );
    std::fs::write(&md_path, text).with_context(|| format!("writing {}", md_path.display()))?;
    println!("wrote {} and {}", md_path.display(), json_path.display());
    Ok(())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[derive(Subcommand)]
pub enum FeaturesCommand {
    /// Write a pipeline's catalog (every user and item attribute) into the
    /// feature store its `[features] store` names; with `[features]
    /// attributes = true` the pipeline's rankers then read them from there.
    Import {
        #[arg(long)]
        pipeline: PathBuf,
        /// Override a pipeline key, e.g. `--set features.store="runs/store"`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
}

pub fn features(command: FeaturesCommand) -> Result<()> {
    match command {
        FeaturesCommand::Import {
            pipeline,
            overrides,
        } => {
            let config = ember_infer::pipeline::PipelineConfig::load(&pipeline, &overrides)?;
            let Some(features) = &config.features else {
                bail!(
                    "{}: no [features] store = \"DIR\" to import into",
                    pipeline.display()
                );
            };
            let catalog = ember_infer::features::Catalog::load(
                &config.catalog.data,
                config.catalog.history_len,
            )?;
            let store = ember_infer::feature_store::FeatureStore::open_any(&features.store)?;
            let (users, items) = store.import_catalog(&catalog)?;
            println!(
                "imported {users} users and {items} items of {} into {}",
                catalog.log().name,
                store.dir.display()
            );
            Ok(())
        }
    }
}
