//! `ember bench-mtl`: the multi-task benchmarks and their report.
//!
//! - `mmoe-synthetic` (PROTOCOLS.md): shared-bottom, MMoE and CGC on the
//!   two-task regression data at task correlations p = 1.0, 0.9, 0.5, 0.0;
//!   test MSE over seeds (table and SVG plot);
//! - `esmm`: on click-conversion data, the error of the predicted CVR
//!   against the true CVR over all test impressions, ESMM against a CVR model
//!   fitted on clicked impressions only;
//! - `ml100k-balance`: ml100k-ctr with two targets (rating ≥ 4, rating = 5),
//!   fixed weights vs GradNorm vs PCGrad, both tasks' test AUC; the fixed run
//!   also grid-searches fusion weights.
//!
//! Each section is written as `<experiment>.md` (+ JSON lines of every run)
//! under the output directory, and `REPORT.md` joins the sections present.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ember_datasets::readers::RatingLabel;
use ember_datasets::registry::{DataConfig, PreparedData, load};
use ember_datasets::synthetic::{click_conversion, mmoe_synthetic};
use ember_models::device::DeviceChoice;
use ember_models::metrics::{auc, rmse};
use ember_models::multitask::TaskSpec;
use ember_models::{MultiTaskConfig, MultiTaskKind};
use ember_train::AnyRunConfig;
use ember_train::FitOptions;
use ember_train::config::TrainConfig;
use ember_train::epoch::append_line;
use ember_train::multitask::config::MultiTaskSections;
use ember_train::multitask::{
    BalanceConfig, FusionConfig, MultiTaskFamily, MultiTaskRun, MultiTaskRunConfig, fit,
};
use ember_train::run_config::RunCommon;

use crate::svg_plot::{Series, line_chart};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Experiment {
    MmoeSynthetic,
    Esmm,
    Ml100kBalance,
    All,
}

const SECTIONS: [&str; 3] = ["mmoe_synthetic", "esmm", "ml100k_balance"];

pub fn run(
    experiment: Experiment,
    seeds: u64,
    out: &Path,
    device: DeviceChoice,
    data_root: &Path,
    mmoe_presets: &Path,
) -> Result<()> {
    if seeds == 0 {
        anyhow::bail!("--seeds must be at least 1");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let bench = Bench {
        out: out.to_owned(),
        device,
        presets: mmoe_presets.to_owned(),
    };
    let all = experiment == Experiment::All;
    if all || experiment == Experiment::MmoeSynthetic {
        bench.mmoe_synthetic(seeds)?;
    }
    if all || experiment == Experiment::Esmm {
        bench.esmm(seeds)?;
    }
    if all || experiment == Experiment::Ml100kBalance {
        bench.ml100k_balance(seeds, data_root)?;
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

struct Bench {
    out: PathBuf,
    device: DeviceChoice,
    /// The mmoe-synthetic presets' directory.
    presets: PathBuf,
}

fn mmoe_alpha_scale(data: &DataConfig) -> f64 {
    match data {
        DataConfig::MmoeSynthetic(m) => m.alpha_scale,
        _ => f64::NAN,
    }
}

/// Mean and sample standard deviation.
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// How long the runs train, in words for the report.
fn budget(t: &TrainConfig) -> String {
    if t.patience >= t.epochs {
        format!(
            "a fixed budget of {} epochs (no early stopping; the epoch with the best mean validation MSE is tested)",
            t.epochs
        )
    } else {
        format!(
            "≤ {} epochs, early stopping on mean validation MSE (patience {})",
            t.epochs, t.patience
        )
    }
}

/// Decimals that show three significant digits of `smallest` (at least 3).
fn decimals_for(smallest: f64) -> usize {
    if !(smallest.is_finite() && smallest > 0.0) {
        return 3;
    }
    (2 - smallest.log10().floor() as i64).clamp(3, 9) as usize
}

fn pm(v: &[f64], digits: usize) -> String {
    let (m, s) = mean_std(v);
    format!("{m:.digits$} ± {s:.digits$}")
}

impl Bench {
    fn config(
        &self,
        name: String,
        data: DataConfig,
        tasks: Vec<TaskSpec>,
        model: MultiTaskConfig,
        train: TrainConfig,
        balance: BalanceConfig,
    ) -> MultiTaskRunConfig {
        MultiTaskRunConfig {
            common: RunCommon {
                name,
                device: self.device,
                output_dir: self.out.join("runs"),
            },
            family: MultiTaskSections {
                family: MultiTaskFamily::Multitask,
                data,
                tasks,
                model,
                train,
                balance,
                fusion: None,
            },
        }
    }

    fn train(&self, config: &MultiTaskRunConfig, log: &Path) -> Result<MultiTaskRun> {
        self.train_on(config, &load(&config.data)?, log)
    }

    fn train_on(
        &self,
        config: &MultiTaskRunConfig,
        data: &PreparedData,
        log: &Path,
    ) -> Result<MultiTaskRun> {
        let run = fit(config, data, &FitOptions::default())?;
        append_line(log, &serde_json::to_string(&run.summary)?)?;
        eprintln!(
            "[bench-mtl] {}: test {} ({:.1}s)",
            config.common.name, run.summary.test, run.summary.train_seconds
        );
        Ok(run)
    }

    /// A multi-task preset with `overrides`, run on the bench's device and
    /// under its output directory.
    fn preset(&self, path: &Path, overrides: &[String]) -> Result<MultiTaskRunConfig> {
        match AnyRunConfig::load(path, overrides)? {
            AnyRunConfig::MultiTask(mut config) => {
                config.common.device = self.device;
                config.common.output_dir = self.out.join("runs");
                Ok(*config)
            }
            _ => anyhow::bail!("{}: not a multi-task run config", path.display()),
        }
    }

    /// The sweep runs the shipped presets (`configs/mmoe-synthetic/*.toml`,
    /// one per model, or those of `--mmoe-presets`), overriding only p and
    /// the seed: one source for the sizes and training settings, so `ember
    /// train` on a preset reproduces a cell of the table.
    fn mmoe_synthetic(&self, seeds: u64) -> Result<()> {
        let log = self.out.join("mmoe_synthetic.jsonl");
        let _ = std::fs::remove_file(&log);
        let correlations = [1.0, 0.9, 0.5, 0.0];
        let presets: Vec<PathBuf> = ["shared_bottom", "mmoe", "cgc"]
            .iter()
            .map(|stem| self.presets.join(format!("{stem}.toml")))
            .collect();
        let configs = presets
            .iter()
            .map(|path| self.preset(path, &[]))
            .collect::<Result<Vec<_>>>()?;
        // results[p][model] = per-seed (mse y1, mse y2, seconds)
        let mut results = vec![vec![Vec::new(); presets.len()]; correlations.len()];
        // label_corr[p] = per-seed Pearson correlation of y1 and y2 (train rows)
        let mut label_corr = vec![Vec::new(); correlations.len()];
        let start = std::time::Instant::now();
        for (pi, &p) in correlations.iter().enumerate() {
            for seed in 1..=seeds {
                for (ki, path) in presets.iter().enumerate() {
                    let kind = configs[ki].model.kind.name();
                    let config = self.preset(
                        path,
                        &[
                            format!("data.correlation={p:?}"),
                            format!("data.seed={seed}"),
                            format!("train.seed={seed}"),
                            format!("name=\"mmoe-synthetic-p{p}-{kind}-s{seed}\""),
                        ],
                    )?;
                    let data = load(&config.data)?;
                    if data.layout.tasks.len() != 2 {
                        anyhow::bail!(
                            "{}: the mmoe-synthetic presets need two tasks, this data has {}",
                            path.display(),
                            data.layout.tasks.len()
                        );
                    }
                    if ki == 0 {
                        label_corr[pi].push(mmoe_synthetic::label_correlation(&data.train));
                    }
                    let run = self.train_on(&config, &data, &log)?;
                    let mse = |t: usize| run.summary.test.tasks[t].mse.unwrap_or(f64::NAN);
                    results[pi][ki].push((mse(0), mse(1), run.summary.train_seconds));
                }
            }
        }
        let wall = start.elapsed().as_secs_f64();
        let (sb, mmoe, cgc) = (&configs[0], &configs[1], &configs[2]);
        let t = &sb.train;
        let mut md = format!(
            "## mmoe-synthetic\n\nPROTOCOLS.md mmoe-synthetic: d = 100, 10,000 train / 1,000 test rows per p \
             (plus 1,000 validation rows for early stopping), seeds 1..={seeds} (each seed draws u1, u2 and the rows). \
             The presets `{}/{{shared_bottom,mmoe,cgc}}.toml` with p and the seed overridden: \
             Sine frequencies α_k = {}·k. \
             Adam lr {}, batch {}, {}. \
             Shared-bottom: bottom {:?}, MMoE: {} experts {:?}, CGC: {} task + {} shared experts {:?}; towers {:?}; \
             the shared feature layer maps the 100-dim input linearly to {} dimensions. Test MSE, mean ± sample std over seeds; \
             `gap` = shared-bottom − MMoE (mean of both tasks); `label corr` = Pearson correlation of y1 and y2 \
             on the training rows, mean over seeds. Wall time {:.0} s for {} runs on {}.\n\n",
            self.presets.display(),
            mmoe_alpha_scale(&sb.data),
            t.lr,
            t.batch_size,
            budget(t),
            sb.model.bottom,
            mmoe.model.experts,
            mmoe.model.expert_hidden,
            cgc.model.task_experts,
            cgc.model.shared_experts,
            cgc.model.expert_hidden,
            sb.model.tower,
            sb.model.embedding_dim,
            wall,
            correlations.len() * presets.len() * seeds as usize,
            self.device
        );
        if configs.iter().any(|c| c.train != *t) {
            md.push_str(
                "(The presets' training settings differ; the ones above are shared-bottom's.)\n\n",
            );
        }
        // Enough decimals for the smallest mean MSE (slow sines fit to ~0.001).
        let smallest = results
            .iter()
            .flatten()
            .flat_map(|runs: &Vec<(f64, f64, f64)>| {
                let y1: Vec<f64> = runs.iter().map(|r| r.0).collect();
                let y2: Vec<f64> = runs.iter().map(|r| r.1).collect();
                [mean_std(&y1).0, mean_std(&y2).0]
            })
            .fold(f64::INFINITY, f64::min);
        let digits = decimals_for(smallest);
        md.push_str("| p | label corr | shared-bottom y1 | y2 | MMoE y1 | y2 | CGC y1 | y2 | gap SB − MMoE | gap SB − CGC |\n|---|---|---|---|---|---|---|---|---|---|\n");
        let mut series: Vec<Series> = configs
            .iter()
            .map(|c| Series {
                name: c.model.kind.name().into(),
                points: Vec::new(),
            })
            .collect();
        for (pi, &p) in correlations.iter().enumerate() {
            let mut row = format!("| {p} | {:.2} |", mean_std(&label_corr[pi]).0);
            let avg = |ki: usize| -> Vec<f64> {
                results[pi][ki]
                    .iter()
                    .map(|r: &(f64, f64, f64)| (r.0 + r.1) / 2.0)
                    .collect()
            };
            for ki in 0..presets.len() {
                let y1: Vec<f64> = results[pi][ki].iter().map(|r| r.0).collect();
                let y2: Vec<f64> = results[pi][ki].iter().map(|r| r.1).collect();
                row.push_str(&format!(" {} | {} |", pm(&y1, digits), pm(&y2, digits)));
                let (m, s) = mean_std(&avg(ki));
                series[ki].points.push((p, m, s));
            }
            let gap = |ki: usize| -> Vec<f64> {
                avg(0).iter().zip(avg(ki)).map(|(a, b)| a - b).collect()
            };
            row.push_str(&format!(
                " {} | {} |\n",
                pm(&gap(1), digits),
                pm(&gap(2), digits)
            ));
            md.push_str(&row);
        }
        let svg = line_chart(
            "mmoe-synthetic: test MSE (mean of both tasks) vs task correlation",
            "task correlation p",
            "test MSE",
            &series,
        );
        std::fs::write(self.out.join("mmoe_synthetic.svg"), svg)?;
        md.push_str(
            "\n![test MSE against p](mmoe_synthetic.svg)\n\nEvery run: `mmoe_synthetic.jsonl`.\n",
        );
        std::fs::write(self.out.join("mmoe_synthetic.md"), md)?;
        Ok(())
    }

    fn esmm(&self, seeds: u64) -> Result<()> {
        let log = self.out.join("esmm.jsonl");
        let _ = std::fs::remove_file(&log);
        let rows = click_conversion::DEFAULT_ROWS;
        let model = |kind| MultiTaskConfig {
            kind,
            embedding_dim: 8,
            init_std: 0.05,
            bottom: Vec::new(),
            tower: vec![64, 32],
            ..Default::default()
        };
        let train = |seed| TrainConfig {
            epochs: 20,
            batch_size: 1024,
            lr: 2e-3,
            patience: 2,
            seed,
            ..Default::default()
        };
        struct Variant {
            name: &'static str,
            kind: MultiTaskKind,
            tasks: Vec<TaskSpec>,
            /// Which task's output is the CVR estimate, and whether it is the
            /// conditional σ(z) (ESMM's pCVR) or the task's own prediction.
            cvr_task: usize,
            conditional: bool,
        }
        let variants = [
            Variant {
                name: "ESMM (CTR + CTCVR over all impressions)",
                kind: MultiTaskKind::Esmm,
                tasks: vec![
                    TaskSpec::binary("ctr").with_label("click"),
                    TaskSpec::binary("ctcvr")
                        .with_label("purchase")
                        .after("ctr"),
                ],
                cvr_task: 1,
                conditional: true,
            },
            Variant {
                name: "CVR on clicked impressions only",
                kind: MultiTaskKind::SharedBottom,
                tasks: vec![
                    TaskSpec::binary("cvr")
                        .with_label("purchase")
                        .observed_if("click"),
                ],
                cvr_task: 0,
                conditional: false,
            },
            Variant {
                name: "CTR + CVR on clicks, shared embeddings",
                kind: MultiTaskKind::SharedBottom,
                tasks: vec![
                    TaskSpec::binary("ctr").with_label("click"),
                    TaskSpec::binary("cvr")
                        .with_label("purchase")
                        .observed_if("click"),
                ],
                cvr_task: 1,
                conditional: false,
            },
        ];
        // per variant: per seed (rmse all, mae all, auc all, rmse clicked, mean bias, seconds)
        let mut results = vec![Vec::new(); variants.len()];
        let start = std::time::Instant::now();
        for seed in 1..=seeds {
            let truth = click_conversion::generate(rows, seed);
            let test = &truth.test;
            let clicked: Vec<bool> = test.data.task_labels(0).iter().map(|&c| c > 0.5).collect();
            for (vi, v) in variants.iter().enumerate() {
                let config = self.config(
                    format!("esmm-{}-s{seed}", vi),
                    ember_datasets::sources::ClickConversion { rows, seed }.into(),
                    v.tasks.clone(),
                    model(v.kind),
                    train(seed),
                    BalanceConfig::Fixed,
                );
                let run = self.train(&config, &log)?;
                let p = if v.conditional {
                    &run.test_predictions.conditionals[v.cvr_task]
                } else {
                    &run.test_predictions.predictions[v.cvr_task]
                };
                let n = p.len() as f64;
                let mae = p
                    .iter()
                    .zip(&test.true_cvr)
                    .map(|(a, b)| (a - b).abs() as f64)
                    .sum::<f64>()
                    / n;
                let bias = p
                    .iter()
                    .zip(&test.true_cvr)
                    .map(|(a, b)| (a - b) as f64)
                    .sum::<f64>()
                    / n;
                let (pc, tc): (Vec<f32>, Vec<f32>) = p
                    .iter()
                    .zip(&test.true_cvr)
                    .zip(&clicked)
                    .filter(|(_, c)| **c)
                    .map(|((a, b), _)| (*a, *b))
                    .unzip();
                results[vi].push([
                    rmse(p, &test.true_cvr),
                    mae,
                    auc(p, &test.counterfactual_conversion).unwrap_or(f64::NAN),
                    rmse(&pc, &tc),
                    bias,
                    run.summary.train_seconds,
                ]);
            }
        }
        let wall = start.elapsed().as_secs_f64();
        let mut md = format!(
            "## ESMM on click → conversion data\n\n`click-conversion` generator: {} / {} / {} impressions (train / valid / test), \
             seeds 1..={seeds}; conversions are observed only after a click, and the true CVR P(conversion | click) is known \
             for every impression. Each model: embeddings 8, towers [64, 32], Adam lr 2e-3, batch 1024, early stopping on \
             validation AUC (patience 2). The CVR estimate is scored against the true CVR over **all** test impressions \
             (the space CVR is used in at serving time), and by AUC against the conversion each impression would have had \
             if clicked. Mean ± sample std over seeds; wall time {:.0} s.\n\n\
             | model | CVR RMSE (all impressions) | CVR MAE (all) | AUC vs counterfactual conversion | CVR RMSE (clicked only) | mean bias (all) | train s |\n\
             |---|---|---|---|---|---|---|\n",
            rows[0], rows[1], rows[2], wall
        );
        for (v, r) in variants.iter().zip(&results) {
            let col = |k: usize| r.iter().map(|x: &[f64; 6]| x[k]).collect::<Vec<_>>();
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                v.name,
                pm(&col(0), 4),
                pm(&col(1), 4),
                pm(&col(2), 4),
                pm(&col(3), 4),
                pm(&col(4), 4),
                pm(&col(5), 0)
            ));
        }
        md.push_str("\nEvery run: `esmm.jsonl`.\n");
        std::fs::write(self.out.join("esmm.md"), md)?;
        Ok(())
    }

    fn ml100k_balance(&self, seeds: u64, data_root: &Path) -> Result<()> {
        let log = self.out.join("ml100k_balance.jsonl");
        let _ = std::fs::remove_file(&log);
        let data = DataConfig::Ml100kCtr(ember_datasets::sources::Ml100kCtr {
            root: data_root.to_owned(),
            labels: vec![RatingLabel::AtLeast4, RatingLabel::Equals5],
            id_min_count: 1,
        });
        let model = MultiTaskConfig {
            kind: MultiTaskKind::SharedBottom,
            embedding_dim: 10,
            bottom: vec![128, 64],
            tower: vec![32],
            ..Default::default()
        };
        let train = |seed| TrainConfig {
            epochs: 30,
            batch_size: 1024,
            lr: 1e-3,
            patience: 3,
            seed,
            ..Default::default()
        };
        let tasks = vec![TaskSpec::binary("like"), TaskSpec::binary("love")];
        let methods = [
            BalanceConfig::Fixed,
            BalanceConfig::GradNorm {
                alpha: 1.5,
                lr: 0.025,
            },
            BalanceConfig::PcGrad,
        ];
        // per method: per seed (auc like, auc love, best epoch, w_like, w_love, seconds)
        let mut results = vec![Vec::new(); methods.len()];
        let mut fusion_front = None;
        let start = std::time::Instant::now();
        for seed in 1..=seeds {
            for (mi, method) in methods.iter().enumerate() {
                let mut config = self.config(
                    format!("ml100k-balance-{}-s{seed}", method.name()),
                    data.clone(),
                    tasks.clone(),
                    model.clone(),
                    train(seed),
                    method.clone(),
                );
                if mi == 0 && seed == 1 {
                    config.fusion = Some(FusionConfig::default());
                }
                let run = self.train(&config, &log)?;
                let s = &run.summary;
                if let Some(front) = &s.fusion_front {
                    fusion_front = Some(front.clone());
                }
                results[mi].push([
                    s.test.tasks[0].auc.unwrap_or(f64::NAN),
                    s.test.tasks[1].auc.unwrap_or(f64::NAN),
                    s.best_epoch as f64,
                    s.final_weights[0],
                    s.final_weights[1],
                    s.train_seconds,
                ]);
            }
        }
        let wall = start.elapsed().as_secs_f64();
        let mut md = format!(
            "## Loss balancing on ml100k-ctr (two targets)\n\nPROTOCOLS.md ml100k-ctr split (time 80/10/10), targets \
             `like` (rating ≥ 4) and `love` (rating = 5). Shared-bottom [128, 64], towers [32], embeddings 10, Adam lr 1e-3, \
             batch 1024, early stopping on mean validation AUC (patience 3, ≤ 30 epochs); GradNorm α = 1.5, weight lr 0.025. \
             Test AUC of the best epoch; mean ± sample std over seeds 1..={seeds}; wall time {:.0} s.\n\n\
             | balancing | AUC like | AUC love | best epoch | final weights (like, love) | train s |\n|---|---|---|---|---|---|\n",
            wall
        );
        for (m, r) in methods.iter().zip(&results) {
            let col = |k: usize| r.iter().map(|x: &[f64; 6]| x[k]).collect::<Vec<_>>();
            md.push_str(&format!(
                "| {} | {} | {} | {} | ({:.3}, {:.3}) | {} |\n",
                m.name(),
                pm(&col(0), 4),
                pm(&col(1), 4),
                pm(&col(2), 1),
                mean_std(&col(3)).0,
                mean_std(&col(4)).0,
                pm(&col(5), 0)
            ));
        }
        if let Some(front) = fusion_front {
            md.push_str(
                "\nFusion weights (fixed-weight model, seed 1, score = w_like·p_like + w_love·p_love, weights normalised; \
                 grid 0, 0.25, …, 1 per task): the sets no other set beats on validation AUC of both targets, \
                 with their validation and test AUCs (all sets in `runs/ml100k-balance-fixed-s1/fusion.json`).\n\n\
                 | w_like | w_love | valid AUC like | valid AUC love | test AUC like | test AUC love |\n|---|---|---|---|---|---|\n",
            );
            for p in front {
                md.push_str(&format!(
                    "| {:.3} | {:.3} | {:.4} | {:.4} | {:.4} | {:.4} |\n",
                    p.weights[0],
                    p.weights[1],
                    p.valid_aucs[0].unwrap_or(f64::NAN),
                    p.valid_aucs[1].unwrap_or(f64::NAN),
                    p.test_aucs[0].unwrap_or(f64::NAN),
                    p.test_aucs[1].unwrap_or(f64::NAN)
                ));
            }
        }
        md.push_str("\nEvery run: `ml100k_balance.jsonl`.\n");
        std::fs::write(self.out.join("ml100k_balance.md"), md)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_show_three_significant_digits_of_small_errors() {
        assert_eq!(decimals_for(0.5), 3);
        assert_eq!(decimals_for(12.0), 3);
        assert_eq!(decimals_for(0.0015), 5);
        assert_eq!(format!("{:.*}", decimals_for(0.0015), 0.0015), "0.00150");
        assert_eq!(decimals_for(0.0), 3);
        assert_eq!(decimals_for(f64::NAN), 3);
    }
}
