//! Shared helpers for the end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ember_datasets::registry::{DataConfig, PreparedData, load};
use ember_datasets::sources::SyntheticCtr;
use ember_models::device::DeviceChoice;
use ember_models::{ModelKind, RankingConfig};
use ember_train::config::{RankingSections, TrainConfig};
use ember_train::run_config::RunCommon;
use ember_train::{FitOptions, RunConfig, RunSummary, fit};

/// Burn seeds a device's random generator per process, so tests that compare
/// two seeded runs must not train while another test does: they take this lock.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn small_synthetic() -> DataConfig {
    DataConfig::SyntheticCtr(SyntheticCtr {
        rows: [4000, 1000, 1000],
        seed: 3,
    })
}

pub fn run_config(
    name: &str,
    kind: ModelKind,
    data: DataConfig,
    epochs: usize,
    out: &Path,
) -> RunConfig {
    RunConfig {
        common: RunCommon {
            name: name.into(),
            device: DeviceChoice::Flex,
            output_dir: out.to_owned(),
        },
        family: RankingSections {
            data,
            model: RankingConfig {
                kind,
                embedding_dim: 8,
                hidden: vec![32, 32],
                ..Default::default()
            },
            train: TrainConfig {
                epochs,
                batch_size: 256,
                lr: 3e-3,
                patience: 100,
                ..Default::default()
            },
        },
    }
}

pub fn train(config: &RunConfig) -> (PreparedData, RunSummary) {
    let data = load(&config.data).expect("data loads");
    let summary = fit(config, &data, &FitOptions::default()).expect("training runs");
    (data, summary)
}

/// Serving `pipeline` on a free loopback port, default batching, no watch.
pub fn serve_options(pipeline: PathBuf) -> ember_infer::server::ServeOptions {
    ember_infer::server::ServeOptions {
        pipeline,
        overrides: Vec::new(),
        addr: "127.0.0.1:0".parse().unwrap(),
        batching: ember_infer::server::BatchingConfig::default(),
        watch: None,
        admin_token: None,
        feed: Default::default(),
    }
}

/// Panics with the command's output unless it succeeded.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
