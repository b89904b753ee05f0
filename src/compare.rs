//! `ember compare --model A --model B`: two ranking models scored on the
//! same test rows, their AUCs and whether the difference is more than those
//! rows' sampling noise (DeLong's paired test,
//! `ember_models::metrics::paired_auc`). Models compared on a test split of
//! a few hundred positives can differ by less than its noise; this says so
//! before a table is read as a ranking.
//!
//! `ember compare --scores A.csv --scores B.csv` runs the same test on two
//! models scored outside ember (the PyTorch peer's `--test-scores`): CSV
//! files with `label` and `score` columns, one line per test row, in the
//! same row order.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ember_infer::Predictor;
use ember_models::device::DeviceChoice;
use ember_models::metrics::{PairedAuc, paired_auc};

pub fn compare(a: &Path, b: &Path, device: DeviceChoice) -> Result<()> {
    let (model_a, model_b) = (Predictor::load(a, device)?, Predictor::load(b, device)?);
    if model_a.data_config != model_b.data_config {
        bail!(
            "{} and {} were trained on different data (their [data] tables differ), so they have no common test rows to compare on",
            a.display(),
            b.display()
        );
    }
    let data = ember_datasets::registry::load(&model_a.data_config)?;
    let labels = data.test.task_labels(0);
    let p = paired_auc(
        &model_a.score(&data.test),
        &model_b.score(&data.test),
        &labels,
    )
    .map_err(anyhow::Error::msg)?;
    report(a, b, &p);
    Ok(())
}

/// The paired test on two score files (`label,score` lines for the same
/// test rows in the same order); a row whose labels disagree means the
/// files do not score the same rows, and is refused.
pub fn compare_score_files(a: &Path, b: &Path) -> Result<()> {
    let (labels, scores_a) = read_scores(a)?;
    let (labels_b, scores_b) = read_scores(b)?;
    if labels.len() != labels_b.len() {
        bail!(
            "{} has {} rows and {} has {}: they do not score the same test rows",
            a.display(),
            labels.len(),
            b.display(),
            labels_b.len()
        );
    }
    if let Some(row) = labels.iter().zip(&labels_b).position(|(x, y)| x != y) {
        bail!(
            "{} and {} disagree on the label of row {} (line {}): they do not score the same test rows in the same order",
            a.display(),
            b.display(),
            row + 1,
            row + 2
        );
    }
    let p = paired_auc(&scores_a, &scores_b, &labels).map_err(anyhow::Error::msg)?;
    report(a, b, &p);
    Ok(())
}

/// Labels and scores of a `label,score` CSV file (header first).
fn read_scores(path: &Path) -> Result<(Vec<f32>, Vec<f32>)> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = reader
        .headers()
        .with_context(|| format!("reading {}", path.display()))?
        .clone();
    let column = |name: &str| {
        headers.iter().position(|h| h == name).with_context(|| {
            format!(
                "{}: no `{name}` column (the header is `{}`; a score file has `label` and `score`)",
                path.display(),
                headers.iter().collect::<Vec<_>>().join(",")
            )
        })
    };
    let (label_at, score_at) = (column("label")?, column("score")?);
    let (mut labels, mut scores) = (Vec::new(), Vec::new());
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.with_context(|| format!("{} line {line}", path.display()))?;
        let field = |at: usize, name: &str| -> Result<f32> {
            let text = record.get(at).unwrap_or("");
            match text.trim().parse::<f32>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => bail!(
                    "{} line {line}, field `{name}`: `{text}` is not a finite number",
                    path.display()
                ),
            }
        };
        let label = field(label_at, "label")?;
        if label != 0.0 && label != 1.0 {
            bail!(
                "{} line {line}, field `label`: {label} is not 0 or 1",
                path.display()
            );
        }
        labels.push(label);
        scores.push(field(score_at, "score")?);
    }
    Ok((labels, scores))
}

fn report(a: &Path, b: &Path, p: &PairedAuc) {
    let (low, high) = p.interval_95();
    println!(
        "test rows: {} positives, {} negatives",
        p.positives, p.negatives
    );
    println!("A {}: AUC {:.4}", a.display(), p.auc_a);
    println!("B {}: AUC {:.4}", b.display(), p.auc_b);
    println!(
        "A - B: {:+.4} (DeLong SE {:.4}, z {:+.2}, 95% interval {:+.4} to {:+.4}): {}",
        p.difference,
        p.standard_error,
        p.z(),
        low,
        high,
        if low > 0.0 || high < 0.0 {
            "more than the test rows' sampling noise"
        } else {
            "within the test rows' sampling noise"
        }
    );
}
