//! Loss balancing on ml100k-ctr with two targets (`like`: rating ≥ 4,
//! `love`: rating = 5): fixed weights vs GradNorm vs PCGrad, both tasks'
//! test AUC; the fixed-weight run of seed 1 also grid-searches fusion
//! weights.

use std::path::Path;

use anyhow::Result;

use super::data_cache::DataCache;
use super::describe;
use super::runner::{Runner, name_override, toml_string};
use super::stats::{mean_std, pm};
use crate::multitask::{BalanceConfig, FusionPoint, MultiTaskRunConfig, MultiTaskSummary};

/// The section's file stem (`.md`, `.jsonl`).
pub(super) const SECTION: &str = "ml100k_balance";
/// The presets compared, one per balancing method; the first keeps its
/// `[fusion]` search (for seed 1).
const PRESETS: [&str; 3] = [
    "shared_bottom_fixed.toml",
    "shared_bottom_gradnorm.toml",
    "shared_bottom_pcgrad.toml",
];

/// The columns of a method's row, per seed.
const COLUMNS: usize = 6;

pub(super) fn run(runner: &Runner, seeds: u64, presets: &Path, data_root: &Path) -> Result<()> {
    let log = runner.fresh_log(SECTION);
    // per method: per seed (auc like, auc love, best epoch, w_like, w_love, seconds)
    let mut results: Vec<Vec<[f64; COLUMNS]>> = vec![Vec::new(); PRESETS.len()];
    let paths: Vec<_> = PRESETS.iter().map(|preset| presets.join(preset)).collect();
    let configs = paths
        .iter()
        .map(|path| runner.preset(path, &[]))
        .collect::<Result<Vec<_>>>()?;
    let mut fusion = None;
    let mut data = DataCache::default();
    let start = std::time::Instant::now();
    for seed in 1..=seeds {
        for (mi, path) in paths.iter().enumerate() {
            let method = configs[mi].balance.name();
            let mut config = runner.preset(
                path,
                &[
                    format!("data.root={}", toml_string(&data_root.to_string_lossy())),
                    format!("train.seed={seed}"),
                    name_override(&format!("ml100k-balance-{method}-s{seed}")),
                ],
            )?;
            // The search costs a pass over the grid per run; one seed shows it.
            if seed != 1 {
                config.fusion = None;
            }
            let run = runner.train(&config, data.get(&config.data)?, &log)?;
            let s = &run.summary;
            if let Some(front) = fusion_front(s) {
                fusion = Some((config.clone(), front.to_vec()));
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
    let first = &configs[0];
    let gradnorm = configs
        .iter()
        .find_map(|c| match c.balance {
            BalanceConfig::GradNorm { alpha, lr } => {
                Some(format!("; GradNorm α = {alpha}, weight lr {lr}"))
            }
            _ => None,
        })
        .unwrap_or_default();
    let mut md = format!(
        "## Loss balancing on ml100k-ctr (two targets)\n\nPROTOCOLS.md ml100k-ctr split (time 80/10/10), targets \
         `like` (rating ≥ 4) and `love` (rating = 5). The presets `{}/shared_bottom_{{fixed,gradnorm,pcgrad}}.toml` \
         with the seed overridden: shared-bottom {:?}, towers {:?}, embeddings {}, {}{gradnorm}. \
         Test AUC of the best epoch; mean ± sample std over seeds 1..={seeds}; wall time {:.0} s.\n\n",
        presets.display(),
        first.model.bottom,
        first.model.tower,
        first.model.embedding_dim,
        describe::training(first),
        wall
    );
    if let Some(note) = describe::differing_training(&configs) {
        md.push_str(&note);
    }
    md.push_str(
        "| balancing | AUC like | AUC love | best epoch | final weights (like, love) | train s |\n|---|---|---|---|---|---|\n",
    );
    for (c, r) in configs.iter().zip(&results) {
        let col = |k: usize| r.iter().map(|x| x[k]).collect::<Vec<_>>();
        md.push_str(&format!(
            "| {} | {} | {} | {} | ({:.3}, {:.3}) | {} |\n",
            c.balance.name(),
            pm(&col(0), 4),
            pm(&col(1), 4),
            pm(&col(2), 1),
            mean_std(&col(3)).0,
            mean_std(&col(4)).0,
            pm(&col(5), 0)
        ));
    }
    if let Some((config, front)) = fusion {
        md.push_str(&fusion_table(&config, &front)?);
    }
    md.push_str(&format!("\nEvery run: `{SECTION}.jsonl`.\n"));
    std::fs::write(runner.out.join(format!("{SECTION}.md")), md)?;
    Ok(())
}

/// The fusion-weight search's result in a run summary: the one place this
/// benchmark reads it.
fn fusion_front(summary: &MultiTaskSummary) -> Option<&[FusionPoint]> {
    summary.fusion_front.as_deref()
}

/// The non-dominated fusion weight sets of `config`'s run.
fn fusion_table(config: &MultiTaskRunConfig, front: &[FusionPoint]) -> Result<String> {
    // The preset's `[fusion]` table as written, on one line.
    let search = toml::to_string(&config.fusion)?
        .lines()
        .collect::<Vec<_>>()
        .join(", ");
    let mut md = format!(
        "\nFusion weights (the `{}` run of seed 1 with its preset's `[fusion]` `{search}`, weights normalised): \
         the sets no other set beats on the validation AUC of both targets, chosen on validation, \
         with their validation and test AUCs (all sets in `runs/{}/fusion.json`).\n\n\
         | w_like | w_love | valid AUC like | valid AUC love | test AUC like | test AUC love |\n\
         |---|---|---|---|---|---|\n",
        config.balance.name(),
        config.common.name
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
    Ok(md)
}
