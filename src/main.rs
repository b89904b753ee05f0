//! The `ember` command line: train, evaluate, predict, list datasets, infer
//! schema files, demo, mixer, and serving (serve, bench-serving, load-test,
//! eval-serving).

mod allocator;
mod compare;
mod config_args;
mod demo;
mod distributed;
mod feed;
#[cfg(not(feature = "jemalloc"))]
mod malloc_tuning;
mod mixer;
mod online;
mod retrieval;
mod rows;
mod schema;
mod serving;
mod soak;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use ember_models::device::DeviceChoice;
use ember_train::bench::{self, BenchOptions};
use ember_train::config::EmbeddingUpdate;
use ember_train::{AnyRunConfig, FitOptions};

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
    /// A config with `family = "multitask"` trains a multi-task model,
    /// one with `[model] kind = "two_tower"` a retrieval model.
    Train {
        #[command(flatten)]
        run: config_args::ConfigArgs,
        /// Continue from the run's last checkpoint.
        #[arg(long)]
        resume: bool,
        /// Write the run summary as JSON here too.
        #[arg(long)]
        summary: Option<PathBuf>,
        /// Train data-parallel with the embedding tables sharded over the
        /// ranks of the MPI job this process belongs to
        /// (`mpirun -np N ember train --distributed ...`; ranking runs).
        #[arg(long)]
        distributed: bool,
    },
    /// Write a small interaction log in a layout of its own (events CSV with
    /// ISO times and string ids, users CSV, items Parquet with a content-vector
    /// column): the input of README's "Your own data" walkthrough.
    ExampleLog {
        #[arg(long, default_value = "runs/example-log")]
        out: PathBuf,
        #[arg(long, default_value_t = 800)]
        users: usize,
        #[arg(long, default_value_t = 600)]
        items: usize,
        /// Clicks per user.
        #[arg(long, default_value_t = 25)]
        clicks: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Train on a time-ordered stream of events (a file, or a directory that
    /// receives files): each batch once, scored before it is trained on
    /// (progressive validation per window), versions exported as it goes.
    Online(config_args::ConfigArgs),
    /// Distributed training over MPI: run under `mpirun -np N`.
    Distributed {
        #[command(subcommand)]
        command: distributed::DistributedCommand,
    },
    /// Serve a pipeline under mixed load (some malformed) for a fixed time,
    /// swapping versions every few seconds; report memory over time.
    Soak(soak::SoakArgs),
    /// The feature store behind serving: import a catalog's attributes.
    Features {
        #[command(subcommand)]
        command: serving::FeaturesCommand,
    },
    /// Write a stream of impressions whose true click probabilities drift
    /// over time, as numbered CSV files (the input of configs/online/).
    ExampleStream(online::ExampleStreamArgs),
    /// Evaluate an exported model (ranking or multi-task) on the test split
    /// of the data it was trained on.
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
        user: String,
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
    /// Write every user's top-N unseen items from a two-tower model (a CSV
    /// `user,item,rank`): the recall stage's candidates, which a ranker
    /// source takes as hard negatives (`hard_negatives = "FILE"`).
    Candidates {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value_t = 100)]
        top: usize,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "auto")]
        device: DeviceChoice,
    },
    /// Write the encoded rows a run config trains, validates and tests on
    /// (after sampling and vocabularies) as `train.csv`, `valid.csv`,
    /// `test.csv` and `layout.json` in DIR, so another framework can be
    /// scored and timed on exactly the same rows.
    Rows {
        #[command(flatten)]
        run: config_args::ConfigArgs,
        /// The directory to write (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Two ranking models on the same test rows: their AUCs, and DeLong's
    /// paired test of the difference (its standard error and 95% interval).
    Compare {
        /// The two artifact directories, A then B (`--model A --model B`).
        #[arg(
            long = "model",
            num_args = 1,
            required_unless_present = "scores",
            conflicts_with = "scores"
        )]
        models: Vec<PathBuf>,
        /// Or two models scored elsewhere: `label,score` CSV files for the
        /// same test rows in the same order (`--scores A.csv --scores B.csv`).
        #[arg(long = "scores", num_args = 1)]
        scores: Vec<PathBuf>,
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
    /// Schema files for CSV and Parquet data: `ember schema infer FILE`.
    Schema {
        #[command(subcommand)]
        command: schema::SchemaCommand,
    },
    /// The simulated feed: its catalog and pipeline, simulated users
    /// against a running server.
    Feed {
        #[command(subcommand)]
        command: feed::FeedCommand,
    },
    /// Online experiments: per-arm results from a server's feedback log.
    Experiment {
        #[command(subcommand)]
        command: feed::ExperimentCommand,
    },
    /// The RL mixer: which content type fills the next feed slot.
    Mixer {
        #[command(subcommand)]
        command: mixer::MixerCommand,
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
    /// Training and inference throughput on the criteo-synth workload
    /// (shared/bench/criteo_synth_spec.md): prints a table, writes JSON.
    Bench {
        /// Comma-separated devices: wgpu, flex, ndarray, cpu, auto.
        #[arg(long, value_delimiter = ',', default_value = "auto")]
        device: Vec<DeviceChoice>,
        /// Comma-separated: dense, row_sparse.
        #[arg(long, value_delimiter = ',', default_value = "dense,row_sparse")]
        embeddings: Vec<String>,
        #[arg(long, value_delimiter = ',', default_value = "1024,4096,16384")]
        batch: Vec<usize>,
        #[arg(long, default_value_t = 20)]
        warmup: usize,
        #[arg(long, default_value_t = 100)]
        steps: usize,
        /// Rows generated before timing (the spec's 1,048,576).
        #[arg(long, default_value_t = 1 << 20)]
        rows: usize,
        /// Vocabulary-scaling run: total table rows to try, e.g. 10000,100000,1000000,10000000.
        #[arg(long, value_delimiter = ',')]
        vocab: Vec<usize>,
        #[arg(long, default_value = "runs/bench/criteo_synth.json")]
        out: PathBuf,
    },
    /// Serve a recommendation pipeline over HTTP (POST /recommend, /score,
    /// /admin/load, /admin/rollback; GET /health, /metrics) until Ctrl-C.
    Serve(serving::ServeArgs),
    /// Time the serving hot paths: fine ranking of 1,000 frappe candidates
    /// (p50/p99), fast vs naive greedy DPP (50 of 5,000), feature hashing.
    BenchServing(serving::BenchServingArgs),
    /// Loopback load test: a clean phase and one with malformed requests
    /// against a pipeline started in-process (or a running server); stops by itself.
    LoadTest(serving::LoadTestArgs),
    /// Evaluate a pipeline on the ml100k test users with each re-ranker:
    /// Recall@K, NDCG@K and diversity metrics, written as a markdown table.
    EvalServing(serving::EvalServingArgs),
    /// Tune a ranking config: random search over config keys with successive
    /// halving (poor trials stopped after a few epochs), judged on
    /// validation; writes a leaderboard (markdown, JSON) and the best config,
    /// and tests the winner once.
    Tune {
        #[command(flatten)]
        run: config_args::ConfigArgs,
        /// The search space (TOML: `[params]` domains per key, `[halving]`);
        /// default: configs/tune/ranking_space.toml, built in.
        #[arg(long)]
        space: Option<PathBuf>,
        #[arg(long, default_value_t = 20)]
        trials: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Default: runs/tune/<the config's file stem>.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Continue a search killed part-way (same command, same --out).
        #[arg(long)]
        resume: bool,
    },
    /// Multi-task benchmarks with a report (markdown, JSON, SVG):
    /// mmoe-synthetic (shared-bottom vs MMoE vs CGC over task correlation),
    /// esmm (CVR error over all impressions vs a clicked-only CVR model),
    /// ml100k-balance (fixed weights vs GradNorm vs PCGrad), or all.
    BenchMtl {
        #[arg(value_parser = clap::builder::TypedValueParser::map(
            clap::builder::PossibleValuesParser::new(ember_train::bench::multitask::Experiment::NAMES),
            |name| name.parse::<ember_train::bench::multitask::Experiment>().expect("a listed name"),
        ))]
        experiment: ember_train::bench::multitask::Experiment,
        /// Seeds per configuration.
        #[arg(long, default_value_t = 5)]
        seeds: u64,
        /// Report directory (run directories go under it too).
        #[arg(long, default_value = "runs/bench-mtl")]
        out: PathBuf,
        #[arg(long, default_value = "cpu")]
        device: DeviceChoice,
        /// Where the real data lives (default ../shared/data).
        #[arg(long, default_value = "../shared/data")]
        data_root: PathBuf,
        /// The mmoe-synthetic presets (`shared_bottom.toml`, `mmoe.toml`,
        /// `cgc.toml`) the sweep runs with p and the seed overridden.
        #[arg(long, default_value = "configs/mmoe-synthetic")]
        mmoe_presets: PathBuf,
        /// The presets' root: esmm runs `click-conversion/`, ml100k-balance
        /// `ml100k-mtl/`, with the seed overridden.
        #[arg(long, default_value = "configs")]
        configs: PathBuf,
        /// Override a key of every run's preset, e.g. `--set train.epochs=50`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
}

fn main() {
    allocator::init();
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

/// One line for a finished ranking run.
fn print_ranking_summary(result: &ember_train::trainer::RunSummary) {
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
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train {
            run,
            resume,
            summary,
            distributed,
        } => {
            let options = FitOptions {
                resume,
                ..Default::default()
            };
            if distributed {
                return distributed::train(&run, &options, summary.as_deref());
            }
            let json = match AnyRunConfig::load(&run.config, &run.overrides)? {
                AnyRunConfig::Ranking(mut config) => {
                    run.apply(&mut config.common);
                    let data = ember_datasets::registry::load(&config.data)?;
                    let result = ember_train::fit(&config, &data, &options)?;
                    print_ranking_summary(&result);
                    serde_json::to_string_pretty(&result)?
                }
                AnyRunConfig::MultiTask(mut config) => {
                    run.apply(&mut config.common);
                    let data = ember_datasets::registry::load(&config.data)?;
                    let result = ember_train::multitask::fit(&config, &data, &options)?.summary;
                    println!(
                        "{} {} ({}): best epoch {} | valid {} | test {} | weights {:?} | {:.1}s ({:.0} samples/s) | artifact {}",
                        result.name,
                        result.model,
                        result.balance,
                        result.best_epoch,
                        result.valid,
                        result.test,
                        result.final_weights,
                        result.train_seconds,
                        result.train_samples_per_second,
                        result.artifact.display()
                    );
                    if let Some(front) = &result.fusion_front {
                        println!(
                            "fusion weights on the validation Pareto front (AUC per target: validation; test):"
                        );
                        for p in front {
                            println!("  {:?} -> {:?}; {:?}", p.weights, p.valid_aucs, p.test_aucs);
                        }
                    }
                    serde_json::to_string_pretty(&result)?
                }
                AnyRunConfig::Retrieval(mut config) => {
                    run.apply(&mut config.common);
                    retrieval::train(&config, &options)?
                }
            };
            if let Some(path) = summary {
                std::fs::write(&path, json)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(())
        }
        Command::Eval { model, device } => {
            use ember_models::artifact::{ArtifactDir, Family, MultiTaskArtifact};
            if ArtifactDir::open_any(&model)?.family() == Family::Multitask {
                let (device, _) = ember_models::device::select_device(device);
                let loaded = MultiTaskArtifact::load(&model, &device)?;
                let data_config: ember_datasets::registry::DataConfig =
                    loaded.artifact.data_entry()?;
                let data = ember_datasets::registry::load(&data_config)?;
                let net = loaded.model;
                let predictions = net.predict(&data.test, 8192, &device);
                let metrics = ember_models::metrics::MultiTaskMetrics::of(
                    &net.graph,
                    &predictions,
                    &data.test,
                );
                println!("test {metrics}");
                return Ok(());
            }
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
                // Written whole or not at all (a temporary file renamed).
                Some(path) => ember_models::artifact::write_atomic(&path, text.as_bytes())
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
        } => retrieval::retrieve(&model, &user, history.as_deref(), k, exact, device),
        Command::Candidates {
            model,
            top,
            out,
            device,
        } => retrieval::candidates(&model, top, &out, device),
        Command::Rows { run, out } => rows::write(&run, &out),
        Command::Compare {
            models,
            scores,
            device,
        } => match (models.as_slice(), scores.as_slice()) {
            ([a, b], []) => compare::compare(a, b, device),
            ([], [a, b]) => compare::compare_score_files(a, b),
            _ => anyhow::bail!(
                "ember compare takes two models (--model A --model B) or two score files (--scores A --scores B), got {} and {}",
                models.len(),
                scores.len()
            ),
        },
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
        Command::Bench {
            device,
            embeddings,
            batch,
            warmup,
            steps,
            rows,
            vocab,
            out,
        } => {
            let updates = embeddings
                .iter()
                .map(|e| {
                    toml::Value::String(e.clone())
                        .try_into::<EmbeddingUpdate>()
                        .with_context(|| format!("--embeddings: '{e}' is not dense or row_sparse"))
                })
                .collect::<Result<Vec<_>>>()?;
            let options = BenchOptions {
                devices: device,
                updates,
                batch_sizes: batch,
                warmup_steps: warmup,
                timed_steps: steps.max(1),
                rows,
                vocab_totals: vocab,
                seed: 42,
            };
            eprintln!("{}", bench::header());
            let results = bench::run(&options)?;
            println!("{}", bench::report(&results));
            bench::write_json(&results, &out)?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Command::ExampleLog {
            out,
            users,
            items,
            clicks,
            seed,
        } => {
            use ember_datasets::synthetic::feed_log::{FeedLogConfig, write_feed_log};
            let config = FeedLogConfig {
                users,
                items,
                clicks,
                seed,
                ..FeedLogConfig::default()
            };
            let s = write_feed_log(&out, &config)?;
            println!(
                "wrote {}/events.csv ({} events, {} clicks), users.csv ({users} users), items.parquet ({items} items, {} released after the test cut)",
                out.display(),
                s.events,
                s.clicks,
                s.cold_items
            );
            Ok(())
        }
        Command::Online(args) => online::online(args),
        Command::Features { command } => serving::features(command),
        Command::Soak(args) => soak::soak(args),
        Command::Distributed { command } => distributed::run(command),
        Command::ExampleStream(args) => online::example_stream(args),
        Command::Schema { command } => schema::run(command),
        Command::Mixer { command } => mixer::run(command),
        Command::Feed { command } => feed::feed(command),
        Command::Experiment { command } => feed::experiment(command),
        Command::Demo {
            device,
            output_dir,
            epochs,
        } => demo::run(device, output_dir, epochs),
        Command::Tune {
            run,
            space,
            trials,
            seed,
            out,
            resume,
        } => {
            use ember_train::tune::{SearchSpace, TuneOptions, space::DEFAULT_SPACE};
            let space = match &space {
                Some(path) => SearchSpace::load(path)?,
                None => SearchSpace::parse(DEFAULT_SPACE, "the default search space")?,
            };
            let stem = run
                .config
                .file_stem()
                .map_or_else(|| "run".into(), |s| s.to_string_lossy().into_owned());
            let options = TuneOptions {
                config: run.config.clone(),
                overrides: run.overrides.clone(),
                device: run.device,
                space,
                trials,
                seed,
                out: out.unwrap_or_else(|| PathBuf::from("runs/tune").join(stem)),
                resume,
            };
            let result = ember_train::tune::tune(&options)?;
            println!("{}", ember_train::tune::report::markdown(&result));
            println!(
                "leaderboard: {}",
                options.out.join("leaderboard.md").display()
            );
            Ok(())
        }
        Command::BenchMtl {
            experiment,
            seeds,
            out,
            device,
            data_root,
            mmoe_presets,
            configs,
            overrides,
        } => ember_train::bench::multitask::run(
            &ember_train::bench::multitask::MultiTaskBenchOptions {
                experiment,
                seeds,
                out,
                device,
                data_root,
                mmoe_presets,
                configs,
                overrides,
            },
        ),
        Command::Serve(args) => serving::serve(args),
        Command::BenchServing(args) => serving::bench_serving(args),
        Command::LoadTest(args) => serving::load_test(args),
        Command::EvalServing(args) => serving::eval_serving(args),
    }
}
