//! Killed on purpose: `ember train` is SIGKILLed at spread-out moments
//! (reading, training, checkpointing, exporting) and restarted with
//! `--resume` each time. After every kill the run directory holds either
//! no artifact or one that loads and scores completely (a half-written
//! export has no manifest and is refused, never read), and the resumed run
//! finishes with an artifact that does, equal to the uninterrupted run's.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use ember_infer::Predictor;
use ember_models::device::DeviceChoice;

const SCHEMA: &str = "labels = [\"y\"]\n[[fields]]\nname = \"x\"\nkind = \"numeric\"\nnormalisation = \"standard\"\n[[fields]]\nname = \"c\"\nkind = \"categorical\"\n";

fn ember(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ember"));
    c.current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// The artifact, if the run directory has one that claims to be complete,
/// must load and score every row of `rows`.
fn check_artifact(dir: &Path, rows: usize) -> bool {
    let artifact = dir.join("runs/kill/artifact");
    if !artifact.join("manifest.json").exists() {
        // Absent or half-written: refused, never read as a model.
        if artifact.exists() {
            assert!(Predictor::load(&artifact, DeviceChoice::Flex).is_err());
        }
        return false;
    }
    let predictor = Predictor::load(&artifact, DeviceChoice::Flex)
        .unwrap_or_else(|e| panic!("a complete-looking artifact does not load: {e:#}"));
    let scores = predictor
        .score_file(&dir.join("train.csv"), false)
        .unwrap_or_else(|e| panic!("the artifact does not score: {e:#}"));
    assert_eq!(scores.len(), rows);
    true
}

#[test]
fn sigkill_at_any_moment_leaves_a_loadable_artifact_or_none_and_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rows = 100_000;
    let data: String = (0..rows)
        .map(|i| {
            format!(
                "{},{},{}\n",
                (i * 7 % 11) % 2,
                (i % 13) as f32 * 0.3,
                i % 97
            )
        })
        .collect();
    std::fs::write(d.join("schema.toml"), SCHEMA).unwrap();
    std::fs::write(d.join("train.csv"), format!("y,x,c\n{data}")).unwrap();
    // Absolute data paths: the artifact is read from this test's directory.
    let (train, schema) = (d.join("train.csv"), d.join("schema.toml"));
    std::fs::write(
        d.join("kill.toml"),
        format!(
            "name = \"kill\"\noutput_dir = \"runs\"\ndevice = \"flex\"\n[data]\nsource = \"csv\"\ntrain = {train:?}\ntest = {train:?}\nschema = {schema:?}\n[model]\nkind = \"deepfm\"\nembedding_dim = 8\nhidden = [16]\ndropout = 0.2\n[train]\nepochs = 6\npatience = 100\nbatch_size = 256\n"
        ),
    )
    .unwrap();
    // How long an uninterrupted run takes, to spread the kills over it.
    let start = Instant::now();
    let status = ember(d)
        .args(["train", "--config", "kill.toml"])
        .status()
        .unwrap();
    assert!(status.success());
    let full = start.elapsed();
    assert!(check_artifact(d, rows));
    let uninterrupted = scores(d);
    std::fs::remove_dir_all(d.join("runs")).unwrap();

    let mut kills = 0;
    for k in 1..=8u32 {
        let mut child = ember(d)
            .args(["train", "--config", "kill.toml", "--resume"])
            .spawn()
            .unwrap();
        // Spread over the run: k/9 of an uninterrupted run's time.
        std::thread::sleep(full.mul_f64(f64::from(k) / 9.0));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        check_artifact(d, rows);
    }
    eprintln!("uninterrupted run {full:?}; {kills} of 8 runs killed");
    assert!(kills >= 2, "only {kills} runs were still going when killed");
    // Resumed to the end, the run finishes and its artifact is complete.
    let status = ember(d)
        .args(["train", "--config", "kill.toml", "--resume"])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(check_artifact(d, rows));
    // On flex, resuming is exact: the same model as the uninterrupted run
    // (data order and dropout masks are seeded per epoch).
    assert!(
        scores(d) == uninterrupted,
        "the resumed run differs from the uninterrupted one"
    );
}

fn scores(dir: &Path) -> Vec<f32> {
    Predictor::load(&dir.join("runs/kill/artifact"), DeviceChoice::Flex)
        .unwrap()
        .score_file(&dir.join("train.csv"), false)
        .unwrap()
}
