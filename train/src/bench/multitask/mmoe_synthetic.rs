//! mmoe-synthetic (PROTOCOLS.md): shared-bottom, MMoE and CGC over the task
//! correlation p; test MSE over seeds, a table and an SVG plot.

use std::path::{Path, PathBuf};

use anyhow::Result;
use ember_datasets::synthetic::mmoe_synthetic;

use super::data_cache::DataCache;
use super::describe;
use super::runner::{Runner, data_field, name_override};
use super::stats::{decimals_for, mean_std, pm};
use crate::plot::{Chart, Line, Spread, XTicks};

/// The section's file stem (`.md`, `.jsonl`, `.svg`).
pub(super) const SECTION: &str = "mmoe_synthetic";
/// The correlations swept, PROTOCOLS.md's.
const CORRELATIONS: [f64; 4] = [1.0, 0.9, 0.5, 0.0];
/// The presets' stems in `presets`, the table's column order.
const MODELS: [&str; 3] = ["shared_bottom", "mmoe", "cgc"];

/// One run's result: test MSE of y1 and y2.
#[derive(Clone, Copy)]
struct Mse {
    y1: f64,
    y2: f64,
}

impl Mse {
    fn mean(self) -> f64 {
        (self.y1 + self.y2) / 2.0
    }
}

/// The sweep runs the presets in `presets` (`configs/mmoe-synthetic` by
/// default, one per model), overriding only p and the seed: one source for
/// the sizes and training settings, so `ember train` on a preset reproduces
/// a cell of the table.
pub(super) fn run(runner: &Runner, seeds: u64, presets: &Path) -> Result<()> {
    let log = runner.fresh_log(SECTION);
    let paths: Vec<PathBuf> = MODELS
        .iter()
        .map(|stem| presets.join(format!("{stem}.toml")))
        .collect();
    let configs = paths
        .iter()
        .map(|path| runner.preset(path, &[]))
        .collect::<Result<Vec<_>>>()?;
    // results[p][model] = per-seed test MSE
    let mut results = vec![vec![Vec::new(); paths.len()]; CORRELATIONS.len()];
    // label_corr[p] = per-seed Pearson correlation of y1 and y2 (train rows)
    let mut label_corr = vec![Vec::new(); CORRELATIONS.len()];
    let mut data = DataCache::default();
    let start = std::time::Instant::now();
    for (pi, &p) in CORRELATIONS.iter().enumerate() {
        for seed in 1..=seeds {
            for (ki, path) in paths.iter().enumerate() {
                let kind = configs[ki].model.kind.name();
                let config = runner.preset(
                    path,
                    &[
                        format!("data.correlation={p:?}"),
                        format!("data.seed={seed}"),
                        format!("train.seed={seed}"),
                        name_override(&format!("mmoe-synthetic-p{p}-{kind}-s{seed}")),
                    ],
                )?;
                let prepared = data.get(&config.data)?;
                if prepared.layout.tasks.len() != 2 {
                    anyhow::bail!(
                        "{}: the mmoe-synthetic presets need two tasks, this data has {}",
                        path.display(),
                        prepared.layout.tasks.len()
                    );
                }
                if ki == 0 {
                    label_corr[pi].push(mmoe_synthetic::label_correlation(&prepared.train));
                }
                let run = runner.train(&config, prepared, &log)?;
                let mse = |t: usize| run.summary.test.tasks[t].mse.unwrap_or(f64::NAN);
                results[pi][ki].push(Mse {
                    y1: mse(0),
                    y2: mse(1),
                });
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let (sb, mmoe, cgc) = (&configs[0], &configs[1], &configs[2]);
    let rows: [usize; 3] = data_field(sb, "rows")?;
    let mut md = format!(
        "## mmoe-synthetic\n\nPROTOCOLS.md mmoe-synthetic: d = 100, {} train / {} test rows per p \
         (plus {} validation rows for early stopping), seeds 1..={seeds} (each seed draws u1, u2 and the rows). \
         The presets `{}/{{shared_bottom,mmoe,cgc}}.toml` with p and the seed overridden: \
         Sine frequencies α_k = {}·k. \
         {}. \
         Shared-bottom: bottom {:?}, MMoE: {} experts {:?}, CGC: {} task + {} shared experts {:?}; towers {:?}; \
         the shared feature layer maps the 100-dim input linearly to {} dimensions. Test MSE, mean ± sample std over seeds; \
         `gap` = shared-bottom − MMoE (mean of both tasks); `label corr` = Pearson correlation of y1 and y2 \
         on the training rows, mean over seeds. Wall time {:.0} s for {} runs on {}.\n\n",
        describe::count(rows[0]),
        describe::count(rows[2]),
        describe::count(rows[1]),
        presets.display(),
        data_field::<f64>(sb, "alpha_scale")?,
        describe::training(sb),
        sb.model.bottom,
        mmoe.model.experts,
        mmoe.model.expert_hidden,
        cgc.model.task_experts,
        cgc.model.shared_experts,
        cgc.model.expert_hidden,
        sb.model.tower,
        sb.model.embedding_dim,
        wall,
        CORRELATIONS.len() * paths.len() * seeds as usize,
        runner.device
    );
    if let Some(note) = describe::differing_training(&configs) {
        md.push_str(&note);
    }
    md.push_str(&table(&results, &label_corr));
    let chart = Chart {
        title: "mmoe-synthetic: test MSE (mean of both tasks) vs task correlation".into(),
        x_label: "task correlation p".into(),
        y_label: "test MSE".into(),
        x_ticks: XTicks::AtData,
        lines: configs
            .iter()
            .enumerate()
            .map(|(ki, c)| Line {
                label: c.model.kind.name().into(),
                points: CORRELATIONS
                    .iter()
                    .zip(&results)
                    .map(|(&p, runs)| {
                        let (m, s) = mean_std(&means(&runs[ki]));
                        (p, m, s)
                    })
                    .collect(),
                spread: Spread::ErrorBars,
            })
            .collect(),
        markers: Vec::new(),
    };
    std::fs::write(runner.out.join(format!("{SECTION}.svg")), chart.to_svg())?;
    md.push_str(&format!(
        "\n![test MSE against p]({SECTION}.svg)\n\nEvery run: `{SECTION}.jsonl`.\n"
    ));
    std::fs::write(runner.out.join(format!("{SECTION}.md")), md)?;
    Ok(())
}

/// Each run's mean MSE of the two tasks.
fn means(runs: &[Mse]) -> Vec<f64> {
    runs.iter().map(|r| r.mean()).collect()
}

/// The markdown table: per p, the label correlation, each model's MSE per
/// task, and the gaps to shared-bottom (results[p][0]).
fn table(results: &[Vec<Vec<Mse>>], label_corr: &[Vec<f64>]) -> String {
    let task = |runs: &[Mse], f: fn(&Mse) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
    // Enough decimals for the smallest mean MSE (slow sines fit to ~0.001).
    let smallest = results
        .iter()
        .flatten()
        .flat_map(|runs| {
            [
                mean_std(&task(runs, |r| r.y1)).0,
                mean_std(&task(runs, |r| r.y2)).0,
            ]
        })
        .fold(f64::INFINITY, f64::min);
    let digits = decimals_for(smallest);
    let mut md = String::from(
        "| p | label corr | shared-bottom y1 | y2 | MMoE y1 | y2 | CGC y1 | y2 | gap SB − MMoE | gap SB − CGC |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for ((&p, runs), corr) in CORRELATIONS.iter().zip(results).zip(label_corr) {
        let mut row = format!("| {p} | {:.2} |", mean_std(corr).0);
        for model in runs {
            row.push_str(&format!(
                " {} | {} |",
                pm(&task(model, |r| r.y1), digits),
                pm(&task(model, |r| r.y2), digits)
            ));
        }
        let gap = |ki: usize| -> Vec<f64> {
            means(&runs[0])
                .iter()
                .zip(means(&runs[ki]))
                .map(|(a, b)| a - b)
                .collect()
        };
        row.push_str(&format!(
            " {} | {} |\n",
            pm(&gap(1), digits),
            pm(&gap(2), digits)
        ));
        md.push_str(&row);
    }
    md
}
