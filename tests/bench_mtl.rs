//! `ember bench-mtl` end to end on tiny data: the shipped presets run with
//! overrides, and every section writes its table, log and plot.

use std::path::Path;
use std::process::Command;

/// Runs `ember bench-mtl EXPERIMENT --seeds 1` with `overrides` into `out`.
fn bench_mtl(experiment: &str, out: &Path, overrides: &[&str]) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ember"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "bench-mtl",
            experiment,
            "--seeds",
            "1",
            "--device",
            "cpu",
            "--out",
        ])
        .arg(out);
    for o in overrides {
        command.args(["--set", o]);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn mmoe_synthetic_sweeps_the_presets_over_p_and_plots_each_model() {
    let out = tempfile::tempdir().unwrap();
    bench_mtl(
        "mmoe-synthetic",
        out.path(),
        &["train.epochs=1", "data.rows=[300, 100, 100]"],
    );
    let runs = lines(&out.path().join("mmoe_synthetic.jsonl"));
    let names: Vec<&str> = runs.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 12, "{names:?}");
    assert!(names.contains(&"mmoe-synthetic-p0.9-cgc-s1"), "{names:?}");
    let md = std::fs::read_to_string(out.path().join("mmoe_synthetic.md")).unwrap();
    // Sizes and settings come from the presets, the override included.
    assert!(
        md.contains("bottom [144]") && md.contains("8 experts [16]"),
        "{md}"
    );
    assert!(md.contains("fixed budget of 1 epochs"), "{md}");
    assert_eq!(md.matches("\n| 0.5 |").count(), 1, "{md}");
    let svg = std::fs::read_to_string(out.path().join("mmoe_synthetic.svg")).unwrap();
    assert_eq!(svg.matches("<polyline").count(), 3);
    assert_eq!(svg.matches("<circle").count(), 12);
    let report = std::fs::read_to_string(out.path().join("REPORT.md")).unwrap();
    assert!(report.contains("## mmoe-synthetic"));
}

#[test]
fn esmm_scores_each_presets_cvr_against_the_truth() {
    let out = tempfile::tempdir().unwrap();
    bench_mtl(
        "esmm",
        out.path(),
        &["train.epochs=1", "data.rows=[2000, 500, 500]"],
    );
    let names: Vec<String> = lines(&out.path().join("esmm.jsonl"))
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["esmm-0-s1", "esmm-1-s1", "esmm-2-s1"]);
    let md = std::fs::read_to_string(out.path().join("esmm.md")).unwrap();
    assert!(md.contains("2,000 / 500 / 500 impressions"), "{md}");
    for model in [
        "| ESMM (CTR + CTCVR over all impressions) | 0.",
        "| CVR on clicked impressions only | 0.",
        "| CTR + CVR on clicks, shared embeddings | 0.",
    ] {
        assert!(md.contains(model), "{model} in {md}");
    }
}

#[test]
fn an_unknown_experiment_is_refused_with_the_choices() {
    let output = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(["bench-mtl", "mmoe"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ml100k-balance"), "{stderr}");
}
