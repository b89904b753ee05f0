//! `ember demo`: the main job end to end on generated data, no files needed.

use std::path::PathBuf;

use anyhow::Result;
use ember_datasets::registry::{DataConfig, load};
use ember_datasets::sources::SyntheticCtr;
use ember_datasets::synthetic::known_ctr;
use ember_models::device::DeviceChoice;
use ember_models::metrics::auc;
use ember_models::{ModelKind, RankingConfig};
use ember_train::config::{RankingSections, TrainConfig};
use ember_train::run_config::RunCommon;
use ember_train::{FitOptions, RunConfig};

pub fn run(device: DeviceChoice, output_dir: PathBuf, epochs: usize) -> Result<()> {
    let (rows, seed) = ([40_000, 10_000, 10_000], 7);
    let config = RunConfig {
        common: RunCommon {
            name: "demo".into(),
            device,
            output_dir,
        },
        family: RankingSections {
            data: DataConfig::SyntheticCtr(SyntheticCtr { rows, seed }),
            model: RankingConfig {
                kind: ModelKind::DeepFm,
                embedding_dim: 8,
                hidden: vec![64, 64],
                ..Default::default()
            },
            train: TrainConfig {
                epochs,
                batch_size: 512,
                lr: 3e-3,
                ..Default::default()
            },
        },
    };
    let data = load(&config.data)?;
    let summary = ember_train::fit(&config, &data, &FitOptions::default())?;
    // The same seed regenerates the same rows, with their true probabilities.
    let truth = known_ctr::generate(rows, seed);
    let ceiling = auc(&truth.test.true_prob, &truth.test.data.task_labels(0));
    println!(
        "demo: DeepFM test AUC {:.4} (true probabilities reach {:.4}), logloss {:.4}, {:.0} samples/s on {}; artifact {}",
        summary.test.auc.unwrap_or(f64::NAN),
        ceiling.unwrap_or(f64::NAN),
        summary.test.logloss,
        summary.train_samples_per_second,
        summary.device,
        summary.artifact.display()
    );
    Ok(())
}
