//! `ember compare --model A --model B`: two ranking models scored on the
//! same test rows, their AUCs and whether the difference is more than those
//! rows' sampling noise (DeLong's paired test,
//! `ember_models::metrics::paired_auc`). Models compared on a test split of
//! a few hundred positives can differ by less than its noise; this says so
//! before a table is read as a ranking.

use std::path::Path;

use anyhow::{Result, bail};
use ember_infer::Predictor;
use ember_models::device::DeviceChoice;
use ember_models::metrics::paired_auc;

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
    Ok(())
}
