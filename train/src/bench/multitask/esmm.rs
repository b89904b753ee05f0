//! ESMM on click → conversion data: the CVR estimate scored against the
//! generator's true CVR over all test impressions, ESMM against CVR models
//! fitted on clicked impressions only.

use std::path::Path;

use anyhow::{Context, Result};
use ember_datasets::synthetic::click_conversion;

use super::data_cache::DataCache;
use super::describe;
use super::runner::{Runner, data_field, name_override};
use super::stats::pm;
use crate::multitask::MultiTaskRunConfig;
use ember_models::metrics::{auc, rmse};

/// The section's file stem (`.md`, `.jsonl`).
pub(super) const SECTION: &str = "esmm";

/// One model of the comparison: its preset and where its CVR estimate is.
struct Variant {
    name: &'static str,
    /// The preset's file in the click-conversion presets.
    preset: &'static str,
    /// The task whose output is the CVR estimate.
    cvr_task: &'static str,
    /// Whether the estimate is that task's conditional σ(z) (ESMM's pCVR
    /// under pCTCVR = pCTR · pCVR) or its own prediction.
    conditional: bool,
}

const VARIANTS: [Variant; 3] = [
    Variant {
        name: "ESMM (CTR + CTCVR over all impressions)",
        preset: "esmm.toml",
        cvr_task: "ctcvr",
        conditional: true,
    },
    Variant {
        name: "CVR on clicked impressions only",
        preset: "cvr_on_clicks.toml",
        cvr_task: "cvr",
        conditional: false,
    },
    Variant {
        name: "CTR + CVR on clicks, shared embeddings",
        preset: "ctr_cvr_on_clicks.toml",
        cvr_task: "cvr",
        conditional: false,
    },
];

/// The columns of a variant's row, per seed.
const COLUMNS: usize = 6;

pub(super) fn run(runner: &Runner, seeds: u64, presets: &Path) -> Result<()> {
    let log = runner.fresh_log(SECTION);
    // per variant: per seed (rmse all, mae all, auc all, rmse clicked, mean bias, seconds)
    let mut results: Vec<Vec<[f64; COLUMNS]>> = vec![Vec::new(); VARIANTS.len()];
    let mut data = DataCache::default();
    let mut first: Option<MultiTaskRunConfig> = None;
    let start = std::time::Instant::now();
    for seed in 1..=seeds {
        let mut truth = None;
        let mut seed_data = None;
        for (vi, v) in VARIANTS.iter().enumerate() {
            let config = runner.preset(
                &presets.join(v.preset),
                &[
                    format!("data.seed={seed}"),
                    format!("train.seed={seed}"),
                    name_override(&format!("esmm-{vi}-s{seed}")),
                ],
            )?;
            // The truth is the same for every variant only if their data is.
            if *seed_data.get_or_insert_with(|| config.data.clone()) != config.data {
                anyhow::bail!("{}: the ESMM presets must share their [data]", v.preset);
            }
            // The generator again, for the truth the registry's data leaves out.
            if truth.is_none() {
                truth = Some(click_conversion::generate(
                    data_field(&config, "rows")?,
                    data_field(&config, "seed")?,
                ));
            }
            let test = &truth.as_ref().expect("generated above").test;
            let run = runner.train(&config, data.get(&config.data)?, &log)?;
            let task = config
                .tasks
                .iter()
                .position(|t| t.name == v.cvr_task)
                .with_context(|| format!("{}: no task `{}`", v.preset, v.cvr_task))?;
            let p = if v.conditional {
                &run.test_predictions.conditionals[task]
            } else {
                &run.test_predictions.predictions[task]
            };
            let clicked: Vec<bool> = test.data.task_labels(0).iter().map(|&c| c > 0.5).collect();
            results[vi].push(cvr_errors(p, test, &clicked, run.summary.train_seconds));
            first.get_or_insert(config);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let first = first.expect("at least one seed");
    let rows: [usize; 3] = data_field(&first, "rows")?;
    let mut md = format!(
        "## ESMM on click → conversion data\n\n`click-conversion` generator: {} / {} / {} impressions (train / valid / test), \
         seeds 1..={seeds}; conversions are observed only after a click, and the true CVR P(conversion | click) is known \
         for every impression. The presets `{}/{{esmm,cvr_on_clicks,ctr_cvr_on_clicks}}.toml` with the seed overridden; \
         each model: embeddings {}, towers {:?}, {}. The CVR estimate is scored against the true CVR over **all** test impressions \
         (the space CVR is used in at serving time), and by AUC against the conversion each impression would have had \
         if clicked. Mean ± sample std over seeds; wall time {:.0} s.\n\n",
        describe::count(rows[0]),
        describe::count(rows[1]),
        describe::count(rows[2]),
        presets.display(),
        first.model.embedding_dim,
        first.model.tower,
        describe::training(&first),
        wall
    );
    md.push_str(
        "| model | CVR RMSE (all impressions) | CVR MAE (all) | AUC vs counterfactual conversion | CVR RMSE (clicked only) | mean bias (all) | train s |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for (v, r) in VARIANTS.iter().zip(&results) {
        let col = |k: usize| r.iter().map(|x| x[k]).collect::<Vec<_>>();
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
    md.push_str(&format!("\nEvery run: `{SECTION}.jsonl`.\n"));
    std::fs::write(runner.out.join(format!("{SECTION}.md")), md)?;
    Ok(())
}

/// A CVR estimate `p` against the test split's truth: RMSE, MAE, AUC against
/// the counterfactual conversion and mean bias over all impressions, RMSE
/// over the clicked ones; then the run's training seconds.
fn cvr_errors(
    p: &[f32],
    test: &click_conversion::ClickConversionSplit,
    clicked: &[bool],
    seconds: f64,
) -> [f64; COLUMNS] {
    let n = p.len() as f64;
    let mean_of = |f: fn(f32, f32) -> f64| {
        p.iter()
            .zip(&test.true_cvr)
            .map(|(&a, &b)| f(a, b))
            .sum::<f64>()
            / n
    };
    let (pc, tc): (Vec<f32>, Vec<f32>) = p
        .iter()
        .zip(&test.true_cvr)
        .zip(clicked)
        .filter(|(_, c)| **c)
        .map(|((a, b), _)| (*a, *b))
        .unzip();
    [
        rmse(p, &test.true_cvr),
        mean_of(|a, b| (a - b).abs() as f64),
        auc(p, &test.counterfactual_conversion).unwrap_or(f64::NAN),
        rmse(&pc, &tc),
        mean_of(|a, b| (a - b) as f64),
        seconds,
    ]
}
