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

#[test]
fn schema_infer_writes_a_schema_file_for_the_criteo_sample() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let sample = root.join("samples/deepctr/criteo_sample.txt");
    let out = ember()
        .args(["schema", "infer"])
        .arg(&sample)
        .args(["--label", "label"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("labels = [\"label\"]") && text.contains("from all 200 rows"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("criteo.toml");
    let out = ember()
        .args(["schema", "infer"])
        .arg(&sample)
        .args(["--label", "label", "--rows", "50", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains("from its first 50 rows of ~"), "{written}");
    let spec = ember_datasets::readers::CsvSpec::from_file(&path).unwrap();
    let numeric = spec
        .schema
        .fields
        .iter()
        .filter(|f| f.kind == ember_datasets::FieldKind::Numeric)
        .count();
    assert_eq!((numeric, spec.schema.fields.len()), (13, 39), "{written}");
}

#[test]
fn schema_infer_names_the_file_and_line_of_bad_input() {
    let mut ragged = tempfile::NamedTempFile::new().unwrap();
    write!(ragged, "a,b,c\n1,2,3\n4,5\n").unwrap();
    let ragged = ragged.path().display().to_string();
    let mut good = tempfile::NamedTempFile::new().unwrap();
    write!(good, "a,b,c\n1,2,3\n4,5,6\n").unwrap();
    let good = good.path().display().to_string();
    for (args, expected) in [
        (vec!["/no/such/file.csv"], "/no/such/file.csv"),
        (vec![ragged.as_str()], "line 3"),
        (vec![good.as_str(), "--label", "click"], "field 'click'"),
    ] {
        let out = ember()
            .args(["schema", "infer"])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(expected) && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn rows_writes_the_encoded_splits_a_config_trains_on() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = ember()
        .args(["rows", "--config", "configs/frappe-ctr/lr.toml", "--out"])
        .arg(dir.path())
        .arg("--set")
        .arg(format!("data.root=\"{}\"", root.display()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    let layout: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("layout.json")).unwrap()).unwrap();
    let first_field = layout["categorical"][0][0].as_str().unwrap().to_owned();
    for split in ["train", "valid", "test"] {
        let text = std::fs::read_to_string(dir.path().join(format!("{split}.csv"))).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with(&format!("{first_field},")), "{header}");
        let rows = lines.count();
        assert!(rows > 0);
        assert!(
            said.contains(&format!("{split}.csv: {rows} rows")),
            "{split}: {rows} rows, but it said:\n{said}"
        );
    }
}

#[test]
fn compare_tests_two_score_files_and_refuses_rows_that_differ() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    // A ranks every positive above every negative (AUC 1); B misorders one
    // of the nine pairs (AUC 8/9).
    let a = write(
        "a.csv",
        "label,score\n1,0.9\n0,0.1\n1,0.8\n0,0.2\n1,0.7\n0,0.3\n",
    );
    let b = write(
        "b.csv",
        "label,score\n1,0.9\n0,0.75\n1,0.8\n0,0.2\n1,0.7\n0,0.3\n",
    );
    let out = ember()
        .arg("compare")
        .arg("--scores")
        .arg(&a)
        .arg("--scores")
        .arg(&b)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("3 positives, 3 negatives"), "{text}");
    assert!(
        text.contains("AUC 1.0000") && text.contains("AUC 0.8889"),
        "{text}"
    );
    assert!(text.contains("A - B: +0.1111"), "{text}");

    // Labels that disagree on line 3 are different rows, not a comparison.
    let shifted = write(
        "c.csv",
        "label,score\n1,0.9\n1,0.1\n0,0.8\n0,0.2\n1,0.7\n0,0.3\n",
    );
    let bad_score = write("d.csv", "label,score\n1,0.9\n0,nan\n");
    for (other, expected) in [
        (&shifted, "line 3"),
        (&bad_score, "d.csv line 3, field `score`"),
    ] {
        let out = ember()
            .arg("compare")
            .arg("--scores")
            .arg(&a)
            .arg("--scores")
            .arg(other)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains(expected), "{expected} missing from: {err}");
    }
}
