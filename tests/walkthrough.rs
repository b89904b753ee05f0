//! README's "Your own data" walkthrough, run as written: every `ember`
//! line of the block between `<!-- walkthrough -->` and
//! `<!-- /walkthrough -->`, in a scratch directory holding the repository's
//! example-log configs (so `runs/` stays clean), then the claims the README
//! makes of its result.

use std::path::Path;
use std::process::Command;

/// The walkthrough's commands, each split into arguments after `ember`.
fn walkthrough_commands(readme: &str) -> Vec<Vec<String>> {
    let start = readme
        .find("<!-- walkthrough -->")
        .expect("README has a walkthrough block");
    let end = readme[start..]
        .find("<!-- /walkthrough -->")
        .expect("the walkthrough block ends")
        + start;
    readme[start..end]
        .lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix("ember "))
        .map(|args| args.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// Copies the files (not folders) of `root/from` into `to/from`.
fn copy_files(root: &Path, from: &str, to: &Path) {
    std::fs::create_dir_all(to.join(from)).unwrap();
    for entry in std::fs::read_dir(root.join(from)).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, to.join(from).join(path.file_name().unwrap())).unwrap();
        }
    }
}

fn recall(metrics: &serde_json::Value, k: u64) -> f64 {
    metrics["at"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["k"] == k)
        .and_then(|m| m["recall"].as_f64())
        .unwrap_or_else(|| panic!("no Recall@{k} in {metrics}"))
}

#[test]
fn readme_walkthrough_runs_from_raw_files_to_a_served_pipeline() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let commands = walkthrough_commands(&readme);
    assert!(commands.len() >= 6, "{commands:?}");
    let dir = tempfile::tempdir().unwrap();
    for configs in ["configs/example-log", "configs/data", "configs/serving"] {
        copy_files(root, configs, dir.path());
    }
    for args in &commands {
        let out = Command::new(env!("CARGO_BIN_EXE_ember"))
            .args(args)
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ember {}\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The two-tower beats most-popular by at least 30 % Recall@50, and
    // recalls cold items (which most-popular never can).
    let manifest = dir
        .path()
        .join("runs/example-log-two_tower/artifact/manifest.json");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(manifest).unwrap()).unwrap();
    let m = &manifest["metrics"];
    let (model, popular) = (recall(&m["test"], 50), recall(&m["popular_test"], 50));
    assert!(
        model >= 1.3 * popular,
        "Recall@50 {model} vs most-popular {popular}"
    );
    let cold = &m["cold_test"];
    assert!(cold["queries"].as_u64().unwrap() > 0, "{cold}");
    assert!(recall(&cold["model"], 50) > 0.2, "{cold}");
    assert_eq!(recall(&cold["popular"], 50), 0.0, "{cold}");
    // The served pipeline's evaluation was written.
    let eval = dir.path().join("runs/example-log/eval/example-log.md");
    let table = std::fs::read_to_string(&eval).unwrap();
    assert!(table.contains("Recall@10"), "{table}");
}
