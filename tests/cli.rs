//! The `ember` binary on real data and bad input.

use std::io::Write;
use std::process::Command;

use ember_datasets::registry::shared_data_dir;

fn ember() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ember"))
}

#[test]
fn datasets_lists_the_builtins() {
    let out = ember().arg("datasets").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in [
        "frappe-ctr",
        "ml100k-ctr",
        "synthetic-ctr",
        "csv",
        "parquet",
        "criteo-tsv",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
}

#[test]
fn train_then_predict_on_frappe_with_bad_rows_and_unseen_ids() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let runs = tempfile::tempdir().unwrap();
    let status = ember()
        .args([
            "train",
            "--config",
            "configs/frappe-ctr/lr.toml",
            "--device",
            "cpu",
        ])
        .args(["--set", "train.epochs=1"])
        .arg("--set")
        .arg(format!("data.root=\"{}\"", root.display()))
        .arg("--set")
        .arg(format!("output_dir=\"{}\"", runs.path().display()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success());
    let model = runs.path().join("frappe-ctr-lr/artifact");
    for file in [
        "manifest.json",
        "preprocessor.json",
        "model.bpk",
        "model.safetensors",
        "config.toml",
    ] {
        assert!(
            model.join(file).exists(),
            "{file} missing from the artifact"
        );
    }

    // Unseen feature ids (999999) go to OOV; the third line is malformed.
    let mut input = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        input,
        "1 204:1 4798:1 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 5183:1"
    )
    .unwrap();
    writeln!(
        input,
        "-1 999999:1 4798:1 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 5183:1"
    )
    .unwrap();
    writeln!(
        input,
        "1 204:1 oops 5041:1 5046:1 5053:1 5055:1 5058:1 5060:1 5073:1 5183:1"
    )
    .unwrap();
    let out = ember()
        .args(["predict", "--device", "cpu", "--model"])
        .arg(&model)
        .arg("--input")
        .arg(input.path())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a malformed row must fail without --skip-bad-rows"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let path = input.path().display().to_string();
    assert!(
        err.contains(&path) && err.contains("line 3") && err.contains("field 'f1'"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let out = ember()
        .args(["predict", "--device", "cpu", "--skip-bad-rows", "--model"])
        .arg(&model)
        .arg("--input")
        .arg(input.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scores: Vec<f32> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(scores.len(), 2);
    assert!(scores.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
fn predict_reports_a_missing_artifact_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = ember()
        .args(["predict", "--device", "cpu", "--model"])
        .arg(dir.path())
        .args(["--input", "nothing.libfm"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an ember artifact"), "{err}");
}
