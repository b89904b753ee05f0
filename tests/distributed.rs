//! Distributed training across real MPI processes (2 ranks, oversubscribed
//! on CI's 2 cores). Needs the `distributed` feature and `mpirun`; CI
//! installs Open MPI, and there a missing `mpirun` fails the test.
#![cfg(feature = "distributed")]

mod common;

use std::path::Path;
use std::process::Command;

fn mpirun_present() -> bool {
    let present = Command::new("mpirun")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present && std::env::var_os("CI").is_some() {
        panic!("mpirun not found: CI must install MPI (.ci/run does)");
    }
    present
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn two_ranks_end_where_one_process_ends() {
    if !mpirun_present() {
        eprintln!("skipped: no mpirun");
        return;
    }
    let out = Command::new(repo().join("scripts/distributed_check.sh"))
        .env("EMBER_BIN", env!("CARGO_BIN_EXE_ember"))
        .env("STEPS", "6")
        .output()
        .expect("run scripts/distributed_check.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Six reports (3 optimizers × with and without L2), each of tables
    // that moved.
    let reports: Vec<serde_json::Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON report"))
        .collect();
    assert_eq!(reports.len(), 6, "{stdout}");
    for r in &reports {
        assert_eq!(r["ranks"], 2);
        assert!(r["table_max_move"].as_f64().unwrap() > 1e-3, "{r}");
        assert!(r["table_max_abs_diff"].as_f64().unwrap() <= 1e-5, "{r}");
        assert!(r["dense_max_abs_diff"].as_f64().unwrap() <= 1e-5, "{r}");
    }
}

/// `mpirun -np 2 ember train --distributed` on generated CTR data, with
/// `extra` arguments, in `dir`.
fn distributed_train(dir: &Path, name: &str, extra: &[&str]) -> Command {
    let config = repo().join("configs/synthetic-ctr/deepfm.toml");
    let mut cmd = Command::new(repo().join("scripts/mpirun.sh"));
    cmd.current_dir(dir)
        .args([
            "-np",
            "2",
            env!("CARGO_BIN_EXE_ember"),
            "train",
            "--distributed",
        ])
        .arg("--config")
        .arg(&config)
        .args([
            "--set",
            &format!("name={name:?}"),
            "--set",
            "output_dir=\"runs\"",
            "--set",
            "device=\"flex\"",
            "--set",
            "data.rows=[60000,2000,2000]",
            "--set",
            "train.epochs=6",
            "--set",
            "train.patience=100",
        ])
        .args(extra)
        .env("RAYON_NUM_THREADS", "1");
    cmd
}

/// The processes `mpirun` (pid `parent`) started.
fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name, which is in parentheses.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let ppid = after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn a_killed_rank_ends_the_job_and_the_run_resumes_to_the_same_result() {
    use std::time::{Duration, Instant};
    if !mpirun_present() {
        eprintln!("skipped: no mpirun");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // The uninterrupted run.
    let out = distributed_train(d, "whole", &["--summary", "whole.json"])
        .output()
        .unwrap();
    common::assert_success(&out);
    let summary = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(name)).unwrap()).unwrap()
    };
    let whole = summary("whole.json");
    assert!(d.join("runs/whole/artifact/model.bpk").exists());
    assert!(
        d.join("runs/whole/rank-1-of-2/checkpoint/state.json")
            .exists()
    );

    // The same run, one rank killed once both have checkpointed epoch 1.
    let mut job = distributed_train(d, "killed", &[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let checkpointed = |rank: usize| {
        std::fs::read_to_string(d.join(format!(
            "runs/killed/rank-{rank}-of-2/checkpoint/state.json"
        )))
        .is_ok_and(|s| s.contains("\"epochs_done\": 1"))
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while !(checkpointed(0) && checkpointed(1)) {
        assert!(Instant::now() < deadline, "no checkpoint of epoch 1");
        assert!(job.try_wait().unwrap().is_none(), "the job ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ranks = children_of(job.id());
    assert_eq!(ranks.len(), 2, "mpirun's children: {ranks:?}");
    let killed_at = Instant::now();
    Command::new("kill")
        .args(["-KILL", &ranks[1].to_string()])
        .status()
        .unwrap();
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(30),
            "the job still runs 30 s after a rank died"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let ended_after = killed_at.elapsed();
    assert!(!status.success(), "a job with a dead rank reported success");
    eprintln!("the job ended {ended_after:?} after rank 1 was killed");
    assert!(ended_after < Duration::from_secs(10), "{ended_after:?}");

    // Resumed from the last checkpoint, it ends where the uninterrupted run did.
    let out = distributed_train(d, "killed", &["--resume", "--summary", "resumed.json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("resumed from checkpoint"), "{stderr}");
    let resumed = summary("resumed.json");
    assert_eq!(resumed["epochs_run"], whole["epochs_run"]);
    for metric in ["auc", "logloss"] {
        let (a, b) = (&whole["test"][metric], &resumed["test"][metric]);
        let diff = (a.as_f64().unwrap() - b.as_f64().unwrap()).abs();
        assert!(diff < 1e-6, "test {metric}: uninterrupted {a}, resumed {b}");
    }
}

/// Each rank reads its share of the input files (here frappe's libFM
/// files, read by byte range), the shares together are the file, and the
/// preprocessor every rank fits from the merged statistics is the one a
/// single process fits on the whole file: the artifact's is byte-equal.
#[test]
fn each_rank_reads_its_share_of_the_files_and_fits_the_whole_files_preprocessor() {
    if !mpirun_present() {
        eprintln!("skipped: no mpirun");
        return;
    }
    let Some(root) = ember_datasets::shared_data_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs ../shared/data for this test"
        );
        return;
    };
    let frappe = root.join("frappe");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // An explicit validation file: carved from train, validation would be
    // a random tenth of each rank's share instead of the whole file's.
    let config = format!(
        r#"name = "shares"
output_dir = "runs"
device = "flex"
[data]
source = "libfm"
train = {train:?}
valid = {test:?}
test = {test:?}
[model]
kind = "fm"
embedding_dim = 8
[train]
epochs = 1
batch_size = 1024
lr = 1e-2
seed = 7
"#,
        train = frappe.join("frappe.validation.libfm"),
        test = frappe.join("frappe.test.libfm"),
    );
    std::fs::write(d.join("fm.toml"), &config).unwrap();
    let out = Command::new(repo().join("scripts/mpirun.sh"))
        .current_dir(d)
        .args(["-np", "2", env!("CARGO_BIN_EXE_ember"), "train"])
        .args(["--distributed", "--config", "fm.toml"])
        .env("RAYON_NUM_THREADS", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // "libfm (rank R of 2's share): train N rows, ..."
    let share_rows: Vec<usize> = (0..2)
        .map(|rank| {
            let at = stderr
                .find(&format!("(rank {rank} of 2's share): train "))
                .unwrap_or_else(|| panic!("rank {rank} names its share: {stderr}"));
            let rest = &stderr[at..];
            let rest = &rest[rest.find("train ").unwrap() + 6..];
            rest[..rest.find(' ').unwrap()].parse().unwrap()
        })
        .collect();
    let whole: ember_datasets::DataConfig = toml::from_str::<toml::Table>(&config).unwrap()["data"]
        .clone()
        .try_into()
        .unwrap();
    let whole = ember_datasets::registry::load(&whole).unwrap();
    assert_eq!(share_rows.iter().sum::<usize>(), whole.train.num_rows);
    assert!(
        share_rows
            .iter()
            .all(|&r| r.abs_diff(whole.train.num_rows / 2) < whole.train.num_rows / 20),
        "{share_rows:?}"
    );
    let exported: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("runs/shares/artifact/preprocessor.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        exported,
        serde_json::to_value(whole.preprocessor.as_ref().unwrap()).unwrap()
    );
}
