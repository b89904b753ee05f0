//! Decayed statistic features on ml100k-ctr: scoring a file computes for
//! each row exactly what its training row got.

use ember_datasets::sources::Ml100kCtr;
use ember_datasets::stats::StatsConfig;
use ember_datasets::{DataConfig, DataSource, shared_data_dir};

#[test]
fn scoring_rows_see_the_statistics_their_training_rows_saw() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let source = Ml100kCtr {
        root: root.clone(),
        stats: Some(StatsConfig::default()),
        ..Default::default()
    };
    let prepared = source.load().unwrap();
    assert_eq!(
        prepared.layout.numeric.len(),
        8,
        "{:?}",
        prepared.layout.numeric
    );
    // The protocol's test rows (time order, ties by user then item), as a file.
    let text = std::fs::read_to_string(root.join("ml-100k/u.data")).unwrap();
    let mut rows: Vec<[u64; 4]> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<u64> = l.split('\t').map(|x| x.trim().parse().unwrap()).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect();
    rows.sort_by_key(|r| (r[3], r[0], r[1]));
    let test = &rows[rows.len() * 9 / 10..];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.data");
    let lines: String = test
        .iter()
        .map(|r| format!("{}\t{}\t{}\t{}\n", r[0], r[1], r[2], r[3]))
        .collect();
    std::fs::write(&path, lines).unwrap();
    let raw =
        ember_datasets::registry::read_for_prediction(&DataConfig::from(source), &path, false);
    let scored = prepared
        .preprocessor
        .unwrap()
        .transform(&raw.unwrap())
        .unwrap();
    assert_eq!(scored.num_rows, prepared.test.num_rows);
    assert_eq!(scored.numeric, prepared.test.numeric);
    assert_eq!(scored.categorical, prepared.test.categorical);
    // Not vacuous: the statistics vary.
    let first: Vec<f32> = scored.numeric.iter().step_by(8).copied().collect();
    assert!(first.iter().any(|&v| v != first[0]));
}
