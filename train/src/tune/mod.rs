//! `ember tune`: random search over config keys with successive halving
//! (Jamieson & Talwalkar 2016; the synchronous form of ASHA).
//!
//! `trials` settings are drawn from the search space (seeded); trial 0 is
//! the config as given, so a tuned config is never one the user's own was
//! better than on validation at the same budget. Every trial trains to the
//! first rung's epochs; the best `1/eta` by validation AUC resume from
//! their checkpoints to the next rung's epochs, and so on to the last.
//! Poor settings are stopped after a few epochs, and most of the budget
//! goes to the good ones. Only validation decides; the winner is tested
//! once, on test, at the end.
//!
//! Resumable: the state (`tune.json`) is rewritten atomically after every
//! trial's rung, and a trial's rung resumes from its run's checkpoint; run
//! the same command with `--resume`.

pub mod report;
pub mod space;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ember_datasets::registry::{DataConfig, PreparedData};
use ember_models::device::DeviceChoice;
use ember_models::metrics::EvalMetrics;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::run_loop::FitOptions;
pub use space::{Domain, Halving, SearchSpace};

/// What to tune and where.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// The base run config and its `--set` overrides.
    pub config: PathBuf,
    pub overrides: Vec<String>,
    pub device: Option<DeviceChoice>,
    pub space: SearchSpace,
    pub trials: usize,
    pub seed: u64,
    /// Trials' run directories, the state, the leaderboard, the best config.
    pub out: PathBuf,
    pub resume: bool,
}

/// One trial's result at one rung.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rung {
    /// The epochs it was trained to (fewer if early stopping ended it).
    pub budget: usize,
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub valid: EvalMetrics,
    /// Not looked at while tuning; reported for the winner only.
    pub test: EvalMetrics,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub id: usize,
    /// The settings drawn (`key=value`); empty for trial 0, the base.
    pub settings: Vec<String>,
    pub rungs: Vec<Rung>,
}

impl Trial {
    /// The validation AUC of its last rung (what ranks it).
    pub fn score(&self) -> f64 {
        self.rungs
            .last()
            .and_then(|r| r.valid.auc)
            .unwrap_or(f64::NEG_INFINITY)
    }

    /// Early stopping ended it before its last rung's budget.
    fn stopped(&self) -> bool {
        self.rungs.last().is_some_and(|r| r.epochs_run < r.budget)
    }
}

/// Everything `--resume` needs; `tune.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneState {
    pub config: PathBuf,
    pub overrides: Vec<String>,
    pub space: SearchSpace,
    pub seed: u64,
    pub trials: Vec<Trial>,
    /// The trials each rung trains, once decided.
    pub rungs: Vec<Vec<usize>>,
}

/// What a finished search reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TuneResult {
    pub state: TuneState,
    /// The winner: the best validation AUC among the trials of the last rung.
    pub best: usize,
    /// The winner's run config, with its settings applied.
    pub best_config: PathBuf,
    pub epochs_trained: usize,
    pub seconds: f64,
}

const STATE: &str = "tune.json";

impl TuneState {
    fn new(options: &TuneOptions) -> Self {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(options.seed);
        let trials = (0..options.trials.max(1))
            .map(|id| Trial {
                id,
                settings: if id == 0 {
                    Vec::new()
                } else {
                    options.space.sample(&mut rng)
                },
                rungs: Vec::new(),
            })
            .collect();
        Self {
            config: options.config.clone(),
            overrides: options.overrides.clone(),
            space: options.space.clone(),
            seed: options.seed,
            trials,
            rungs: Vec::new(),
        }
    }

    fn save(&self, out: &Path) -> Result<()> {
        let path = out.join(STATE);
        let tmp = out.join(format!(".{STATE}.tmp"));
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))
    }

    /// The state in `out` when resuming (it must be this search's), else a
    /// fresh one; a fresh search refuses a directory that holds one.
    fn open(options: &TuneOptions) -> Result<Self> {
        let path = options.out.join(STATE);
        let fresh = Self::new(options);
        if !path.exists() {
            return Ok(fresh);
        }
        if !options.resume {
            bail!(
                "{} holds a search already: add --resume to continue it, or choose another --out",
                options.out.display()
            );
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let state: TuneState = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a tuning state", path.display()))?;
        if (
            &state.config,
            &state.overrides,
            &state.space,
            state.seed,
            state.trials.len(),
        ) != (
            &fresh.config,
            &fresh.overrides,
            &fresh.space,
            fresh.seed,
            fresh.trials.len(),
        ) {
            bail!(
                "{}: another search (config, overrides, space, seed or trials differ); choose another --out",
                path.display()
            );
        }
        Ok(state)
    }
}

/// The run config of `trial` trained to `budget` epochs.
fn trial_config(options: &TuneOptions, trial: &Trial, budget: usize) -> Result<RunConfig> {
    let mut overrides = options.overrides.clone();
    overrides.extend(trial.settings.iter().cloned());
    let dir = options.out.join("trials");
    overrides.push(format!("name=\"t{:03}\"", trial.id));
    overrides.push(format!(
        "output_dir={}",
        toml::Value::String(dir.display().to_string())
    ));
    overrides.push(format!("train.epochs={budget}"));
    let mut config = RunConfig::load(&options.config, &overrides)
        .with_context(|| format!("trial {} ({})", trial.id, trial.settings.join(", ")))?;
    if let Some(device) = options.device {
        config.common.device = device;
    }
    Ok(config)
}

/// Prepared data, loaded once per distinct data config (a space may vary
/// `data.*` keys too).
#[derive(Default)]
struct DataCache {
    loaded: Vec<(DataConfig, PreparedData)>,
}

impl DataCache {
    fn get(&mut self, config: &DataConfig) -> Result<&PreparedData> {
        if let Some(i) = self.loaded.iter().position(|(c, _)| c == config) {
            return Ok(&self.loaded[i].1);
        }
        let data = ember_datasets::registry::load(config)?;
        self.loaded.push((config.clone(), data));
        Ok(&self.loaded.last().expect("just pushed").1)
    }
}

/// Runs (or resumes) the search and writes its reports.
pub fn tune(options: &TuneOptions) -> Result<TuneResult> {
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("creating {}", options.out.display()))?;
    let start = std::time::Instant::now();
    let mut state = TuneState::open(options)?;
    let budgets = options.space.halving.budgets();
    let mut data = DataCache::default();
    let mut alive: Vec<usize> = (0..state.trials.len()).collect();
    for (k, &budget) in budgets.iter().enumerate() {
        if state.rungs.len() <= k {
            state.rungs.push(alive.clone());
            state.save(&options.out)?;
        }
        alive = state.rungs[k].clone();
        for &id in &alive {
            let trial = &state.trials[id];
            if trial.rungs.len() > k {
                continue; // done before a restart
            }
            if trial.stopped() {
                // Early stopping ended it at a lower rung: its score stands.
                let last = trial
                    .rungs
                    .last()
                    .expect("stopped trials have rungs")
                    .clone();
                state.trials[id].rungs.push(last);
                continue;
            }
            let config = trial_config(options, trial, budget)?;
            tracing::info!(
                trial = id,
                rung = k,
                epochs = budget,
                settings = %trial.settings.join(" "),
                "tune: training"
            );
            let prepared = data.get(&config.data)?;
            let summary = crate::fit(
                &config,
                prepared,
                &FitOptions {
                    resume: true,
                    ..Default::default()
                },
            )
            .with_context(|| format!("trial {id} at rung {k}"))?;
            state.trials[id].rungs.push(Rung {
                budget,
                epochs_run: summary.epochs_run,
                best_epoch: summary.best_epoch,
                valid: summary.valid,
                test: summary.test,
                seconds: summary.train_seconds,
            });
            state.save(&options.out)?;
            tracing::info!(
                trial = id,
                rung = k,
                valid_auc = state.trials[id].score(),
                "tune: trial done"
            );
        }
        if k + 1 < budgets.len() {
            let mut ranked = alive.clone();
            ranked.sort_by(|&a, &b| state.trials[b].score().total_cmp(&state.trials[a].score()));
            ranked.truncate(options.space.halving.survivors(alive.len()));
            alive = ranked;
        }
    }
    let best = *alive
        .iter()
        .max_by(|&&a, &&b| state.trials[a].score().total_cmp(&state.trials[b].score()))
        .expect("at least one trial");
    let best_config = write_best_config(options, &state.trials[best], &budgets)?;
    let epochs_trained = state
        .trials
        .iter()
        .filter_map(|t| t.rungs.last())
        .map(|r| r.epochs_run)
        .sum();
    let result = TuneResult {
        state,
        best,
        best_config,
        epochs_trained,
        seconds: start.elapsed().as_secs_f64(),
    };
    report::write(&result, &options.out)?;
    Ok(result)
}

/// `best.toml`: the base config (includes resolved) with the winner's
/// settings and the epochs it was validated at; loads like any run config.
fn write_best_config(options: &TuneOptions, best: &Trial, budgets: &[usize]) -> Result<PathBuf> {
    let mut overrides = options.overrides.clone();
    overrides.extend(best.settings.iter().cloned());
    let mut value = ember_datasets::toml_config::load_toml(&options.config, &overrides)?;
    let budget = budgets.last().copied().unwrap_or(1);
    if let Some(table) = value.as_table_mut() {
        let name = table
            .get("name")
            .and_then(toml::Value::as_str)
            .unwrap_or("run")
            .to_owned();
        table.insert("name".into(), toml::Value::String(format!("{name}-tuned")));
        if let Some(train) = table.get_mut("train").and_then(toml::Value::as_table_mut) {
            train.insert("epochs".into(), toml::Value::Integer(budget as i64));
        }
    }
    let path = options.out.join("best.toml");
    let text = format!(
        "# The best of `ember tune` (trial {}: {}), by validation AUC.\n{}",
        best.id,
        if best.settings.is_empty() {
            "the config as given".to_owned()
        } else {
            best.settings.join(", ")
        },
        toml::to_string_pretty(&value)?
    );
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
