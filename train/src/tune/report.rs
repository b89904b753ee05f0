//! The leaderboard of a search: `leaderboard.md` (people) and
//! `leaderboard.json` (tools), trials ranked by the rung they reached and
//! their validation AUC there; the winner's test metrics, measured once.

use std::path::Path;

use anyhow::{Context, Result};

use super::{Trial, TuneResult};

/// Trials by (rung reached, validation AUC), best first.
pub fn ranked(result: &TuneResult) -> Vec<&Trial> {
    let mut trials: Vec<&Trial> = result.state.trials.iter().collect();
    trials.sort_by(|a, b| {
        b.rungs
            .len()
            .cmp(&a.rungs.len())
            .then(b.score().total_cmp(&a.score()))
    });
    trials
}

fn auc(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |v| format!("{v:.4}"))
}

pub fn markdown(result: &TuneResult) -> String {
    let state = &result.state;
    let best = &state.trials[result.best];
    let budgets = state.space.halving.budgets();
    let mut out = format!(
        "# `ember tune`: {}\n\n{} trials (trial 0 is the config as given), seed {}, \
         successive halving over epochs {:?} keeping 1/{} at each rung; \
         {} epochs trained in all, {:.0} s.\n\n",
        state.config.display(),
        state.trials.len(),
        state.seed,
        budgets,
        state.space.halving.eta,
        result.epochs_trained,
        result.seconds
    );
    let last = best.rungs.last();
    out.push_str(&format!(
        "**Best: trial {}** ({}): validation AUC {}, logloss {:.4}; \
         **test AUC {}**, logloss {:.4} (tested once); config `{}`.\n\n",
        best.id,
        if best.settings.is_empty() {
            "the config as given".to_owned()
        } else {
            best.settings.join(", ")
        },
        auc(last.and_then(|r| r.valid.auc)),
        last.map_or(f64::NAN, |r| r.valid.logloss),
        auc(last.and_then(|r| r.test.auc)),
        last.map_or(f64::NAN, |r| r.test.logloss),
        result.best_config.display()
    ));
    if best.id != 0
        && let Some(base) = state.trials.first()
    {
        out.push_str(&format!(
            "The config as given reached validation AUC {} at rung {} ({} epochs).\n\n",
            auc(base.rungs.last().and_then(|r| r.valid.auc)),
            base.rungs.len().saturating_sub(1),
            base.rungs.last().map_or(0, |r| r.budget)
        ));
    }
    out.push_str("| rank | trial | rung reached | epochs | best epoch | valid AUC | valid logloss | seconds | settings |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for (rank, t) in ranked(result).into_iter().enumerate() {
        let r = t.rungs.last();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {} |\n",
            rank + 1,
            t.id,
            t.rungs.len().saturating_sub(1),
            r.map_or(0, |r| r.epochs_run),
            r.map_or(0, |r| r.best_epoch),
            auc(r.and_then(|r| r.valid.auc)),
            r.map_or("n/a".into(), |r| format!("{:.4}", r.valid.logloss)),
            t.rungs.iter().map(|r| r.seconds).sum::<f64>(),
            if t.settings.is_empty() {
                "(as given)".to_owned()
            } else {
                t.settings.join(", ").replace('|', "\\|")
            }
        ));
    }
    out
}

pub fn write(result: &TuneResult, out: &Path) -> Result<()> {
    let md = out.join("leaderboard.md");
    std::fs::write(&md, markdown(result)).with_context(|| format!("writing {}", md.display()))?;
    let json = out.join("leaderboard.json");
    let board: Vec<serde_json::Value> = ranked(result)
        .into_iter()
        .map(|t| {
            let r = t.rungs.last();
            serde_json::json!({
                "trial": t.id,
                "settings": t.settings,
                "rung": t.rungs.len().saturating_sub(1),
                "epochs": r.map(|r| r.epochs_run),
                "valid": r.map(|r| &r.valid),
            })
        })
        .collect();
    let best = &result.state.trials[result.best];
    let body = serde_json::json!({
        "config": result.state.config,
        "seed": result.state.seed,
        "best": {
            "trial": best.id,
            "settings": best.settings,
            "valid": best.rungs.last().map(|r| &r.valid),
            "test": best.rungs.last().map(|r| &r.test),
            "config": result.best_config,
        },
        "epochs_trained": result.epochs_trained,
        "seconds": result.seconds,
        "leaderboard": board,
    });
    std::fs::write(&json, serde_json::to_vec_pretty(&body)?)
        .with_context(|| format!("writing {}", json.display()))
}
