//! `ember online` end to end on a small drifting stream: the online model
//! tracks the true probabilities while the first-window model falls
//! behind, tables stay bounded on ever-new ids, and every exported version
//! is a complete artifact that scores the stream's files.

use std::path::PathBuf;

use ember_datasets::synthetic::drifting_stream::{DriftingStreamConfig, write_drifting_stream};
use ember_infer::Predictor;
use ember_models::device::DeviceChoice;
use ember_train::online::{OnlineRunConfig, run_online};

mod common;

fn config(stream: &std::path::Path, out: &std::path::Path) -> OnlineRunConfig {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut config = OnlineRunConfig::load(
        &root.join("configs/online/drifting_stream_deepfm.toml"),
        &[
            format!("stream.path={:?}", stream.display().to_string()),
            format!(
                "stream.schema={:?}",
                root.join("configs/schemas/drifting_stream.toml")
                    .display()
                    .to_string()
            ),
            format!("output_dir={:?}", out.display().to_string()),
            "online.window_events=10000".into(),
            "online.export_every_events=20000".into(),
            "online.admission.ttl_events=10000".into(),
            "online.admission.capacity=1500".into(),
            "model.hidden=[32]".into(),
            // Exercises id dropout on the training rows (scoring sees every id).
            "train.id_dropout={user=0.1}".into(),
        ],
    )
    .unwrap();
    config.common.device = DeviceChoice::Flex;
    config
}

#[test]
fn online_model_tracks_the_drift_in_bounded_tables_and_exports_complete_versions() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    let stream = dir.path().join("stream");
    write_drifting_stream(
        &stream,
        &DriftingStreamConfig {
            events: 80_000,
            events_per_file: 10_000,
            // The preset's drift per event (a half-turn over 600 k events)
            // would take longer than a test to show; this turns 54°.
            drift: 0.3,
            ..Default::default()
        },
    )
    .unwrap();
    let config = config(&stream, dir.path());
    let summary = run_online(&config).unwrap();
    assert_eq!(summary.events, 80_000);
    assert_eq!(summary.files, 8);
    assert_eq!(summary.windows.len(), 8);

    let last = summary.windows.last().unwrap();
    let (online, oracle, frozen) = (
        last.auc.unwrap(),
        last.oracle_auc.unwrap(),
        last.frozen_auc.unwrap(),
    );
    // The affinities have turned 54° by now: the frozen model has lost
    // much of its ranking, the online one stays near the ceiling.
    assert!(oracle - online < 0.04, "online {online} vs true {oracle}");
    assert!(online - frozen > 0.05, "online {online} vs frozen {frozen}");
    assert!(summary.windows[0].frozen_auc.is_none());

    // Ever-new users: rows are freed and reused, never more than the tables hold.
    assert!(last.evicted > 1_000, "{last:?}");
    assert!(
        summary
            .windows
            .iter()
            .all(|w| w.live_rows <= 2 * 1_500 + 16 + 32 + 4)
    );

    // Versions: 4 by count (the last at the stream's end), each complete.
    assert_eq!(summary.versions.len(), 4);
    let versions = config.versions_dir();
    let mut on_disk: Vec<String> = std::fs::read_dir(&versions)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    // The preset keeps the newest 3; no partial directory is left behind.
    assert_eq!(on_disk, summary.versions[1..]);
    let newest = versions.join(summary.versions.last().unwrap());
    let predictor = Predictor::load(&newest, DeviceChoice::Flex).unwrap();
    let scores = predictor
        .score_file(&stream.join("part-00007.csv"), false)
        .unwrap();
    assert_eq!(scores.len(), 10_000);
    assert!(scores.iter().all(|p| (0.0..=1.0).contains(p)));

    // A second run's versions sort after the first's.
    let again = run_online(&config).unwrap();
    assert_eq!(again.versions[0], "v000005");
    assert!(
        dir.path()
            .join(&config.common.name)
            .join("auc_over_time.svg")
            .exists()
    );
}
