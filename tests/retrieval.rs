//! Two-tower retrieval end to end: `ember train` on a retrieval preset,
//! the exported model on another backend, `ember retrieve`, and bad input.
//!
//! One tiny model (one epoch, 16-dimensional vectors) is trained through
//! the CLI once and shared by the tests of this file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ember_datasets::registry::{DataConfig, shared_data_dir};
use ember_datasets::sources::Ml100kRetrieval;
use ember_datasets::{RetrievalData, load_retrieval};
use ember_infer::server::BackgroundServer;
use ember_infer::server::client::HttpClient;
use ember_infer::server::metrics::sample;
use ember_infer::{Retriever, SearchMode};
use ember_models::device::DeviceChoice;
use ember_train::retrieval::RetrievalSummary;

fn ember() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ember"))
}

struct Trained {
    _runs: tempfile::TempDir,
    artifact: PathBuf,
    summary: RetrievalSummary,
    data: RetrievalData,
}

/// Trains the shared model, or `None` (test skipped) without the shared data.
fn trained() -> Option<&'static Trained> {
    static TRAINED: OnceLock<Option<Trained>> = OnceLock::new();
    TRAINED
        .get_or_init(|| {
            let root = shared_data_dir()?;
            let runs = tempfile::tempdir().unwrap();
            let summary_path = runs.path().join("summary.json");
            let out = ember()
                .args([
                    "train",
                    "--config",
                    "configs/ml100k-retrieval/two_tower.toml",
                    "--device",
                    "cpu",
                ])
                .args(["--set", "train.epochs=1", "--set", "train.batch_size=1024"])
                .args([
                    "--set",
                    "model.embedding_dim=8",
                    "--set",
                    "model.output_dim=16",
                ])
                .args([
                    "--set",
                    "model.user_hidden=[32]",
                    "--set",
                    "model.item_hidden=[32]",
                ])
                .arg("--set")
                .arg(format!("data.root=\"{}\"", root.display()))
                .arg("--set")
                .arg(format!("output_dir=\"{}\"", runs.path().display()))
                .arg("--summary")
                .arg(&summary_path)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let summary: RetrievalSummary =
                serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
            let data = load_retrieval(&DataConfig::Ml100kRetrieval(Ml100kRetrieval {
                root,
                history_len: 50,
            }))
            .unwrap();
            Some(Trained {
                artifact: summary.artifact.clone(),
                _runs: runs,
                summary,
                data,
            })
        })
        .as_ref()
}

/// Runs `ember retrieve` on the shared model with extra arguments.
fn retrieve(model: &Path, args: &[&str]) -> (bool, String, String) {
    let out = ember()
        .args(["retrieve", "--device", "cpu", "--model"])
        .arg(model)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn training_exports_a_complete_artifact_and_beats_nothing_by_accident() {
    let Some(t) = trained() else { return };
    for file in [
        "manifest.json",
        "preprocessor.json",
        "user_tower.bpk",
        "user_tower.safetensors",
        "item_tower.bpk",
        "retrieval.json",
        "item_vectors.bin",
        "index.hnsw",
        "config.toml",
    ] {
        assert!(t.artifact.join(file).exists(), "{file} missing");
    }
    let s = &t.summary;
    assert_eq!(s.test.users, 943);
    assert_eq!(s.popular_test.users, 943);
    // Recall@50 ≥ Recall@10, both probabilities; HR = recall with one target.
    let (r10, r50) = (s.test.at_k(10).unwrap(), s.test.at_k(50).unwrap());
    assert!(r10.recall <= r50.recall && r50.recall <= 1.0);
    assert_eq!(r10.recall, r10.hit_rate);
    // Random ranking of ~1,580 unseen items finds the target in the top 50
    // about 3 % of the time; even one epoch must do clearly better.
    assert!(r50.recall > 0.06, "Recall@50 {}", r50.recall);
    // On 1,682 items with ef_search 200 the index is all but exact.
    let ir = s.index_recall.unwrap();
    assert!(ir > 0.95, "index recall {ir}");
}

#[test]
fn exported_model_retrieves_the_same_top_n_on_flex_and_wgpu() {
    let Some(t) = trained() else { return };
    let flex = Retriever::load(&t.artifact, DeviceChoice::Flex, SearchMode::Exact).unwrap();
    // wgpu runs on any adapter, lavapipe (software Vulkan) in CI: keep it small.
    let wgpu = Retriever::load(&t.artifact, DeviceChoice::Wgpu, SearchMode::Exact).unwrap();
    let users: Vec<usize> = (0..t.data.test.len()).step_by(120).collect();
    let queries = t.data.test.queries.take(&users);
    let (a, b) = (flex.user_vectors(&queries), wgpu.user_vectors(&queries));
    let d = flex.items.dim();
    for (q, &u) in users.iter().enumerate() {
        let seen = &t.data.test.seen[u];
        let top = |r: &Retriever, v: &[f32]| {
            r.search(&v[q * d..(q + 1) * d], 10, seen, SearchMode::Exact)
                .unwrap()
        };
        let (x, y) = (top(&flex, &a), top(&wgpu, &b));
        for (p, (i, j)) in x.iter().zip(&y).enumerate() {
            // Equal items, or a swap of two items whose scores tie to float noise.
            assert!(
                i.item == j.item || (i.score - j.score).abs() < 1e-5,
                "user row {u}, rank {p}: flex {i:?} vs wgpu {j:?}"
            );
            assert!((i.score - j.score).abs() < 1e-4, "{i:?} vs {j:?}");
        }
    }
}

#[test]
fn ann_search_agrees_with_exact_search() {
    let Some(t) = trained() else { return };
    let r = Retriever::load(&t.artifact, DeviceChoice::Flex, SearchMode::Ann).unwrap();
    let users: Vec<usize> = (0..t.data.test.len()).step_by(40).collect();
    let vectors = r.user_vectors(&t.data.test.queries.take(&users));
    let d = r.items.dim();
    let (mut hits, mut total) = (0, 0);
    for (q, &u) in users.iter().enumerate() {
        let v = &vectors[q * d..(q + 1) * d];
        let seen = &t.data.test.seen[u];
        let exact = r.search(v, 10, seen, SearchMode::Exact).unwrap();
        let ann = r.search(v, 10, seen, SearchMode::Ann).unwrap();
        assert_eq!(ann.len(), 10);
        assert!(
            ann.iter()
                .all(|a| seen.binary_search(&r.item_row(&a.item).unwrap()).is_err())
        );
        hits += ann
            .iter()
            .filter(|a| exact.iter().any(|e| e.item == a.item))
            .count();
        total += exact.len();
    }
    let recall = hits as f64 / total as f64;
    assert!(recall >= 0.95, "ANN recall@10 vs exact {recall}");
}

#[test]
fn the_index_serves_every_test_user_and_metrics_show_no_exact_fallback() {
    let Some(t) = trained() else { return };
    let root = shared_data_dir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The serving preset's two-tower recall (quota 150 of 1,682 items, so
    // most users have seen more items than the 200-wide search keeps) alone.
    let pipeline = dir.path().join("two_tower.toml");
    std::fs::write(
        &pipeline,
        format!(
            "name = \"two_tower\"\nk = 10\n[catalog]\ndata = {{ source = \"ml100k-retrieval\", root = {root:?} }}\n\
             [[recall]]\nkind = \"two_tower\"\nartifact = {:?}\nquota = 150\n\
             [rerank]\nkind = \"none\"\n",
            t.artifact
        ),
    )
    .unwrap();
    let server = BackgroundServer::load_and_start(common::serve_options(pipeline)).unwrap();
    let mut client = HttpClient::new(server.addr);
    let mut metrics = || {
        let (status, body) = client.request("GET", "/metrics", b"").unwrap();
        assert_eq!(status, 200);
        String::from_utf8(body).unwrap()
    };
    let searches = |text: &str| sample(text, "ember_ann_searches_total").unwrap();
    let before = searches(&metrics());

    let mut client = HttpClient::new(server.addr);
    for &user in &t.data.test.users {
        let body = format!("{{\"user\": \"{}\"}}", t.data.user_id(user));
        let (status, answer) = client
            .request("POST", "/recommend", body.as_bytes())
            .unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    }
    let text = metrics();
    // Other tests of this binary search too: at least one per user here.
    let served = searches(&text) - before;
    assert!(served >= t.data.test.users.len() as u64, "{served}\n{text}");
    assert!(
        sample(&text, "ember_ann_visited_total").unwrap() > 0,
        "{text}"
    );
    // Every search in this process is a normal ml100k one, so none may
    // have needed the exact scan.
    assert_eq!(
        sample(&text, "ember_ann_exact_fallbacks_total"),
        Some(0),
        "{text}"
    );
    server.stop().unwrap();
}

#[test]
fn retrieve_answers_known_users_and_reports_bad_input_clearly() {
    let Some(t) = trained() else { return };
    let user = t.data.user_id(t.data.test.users[0]).to_owned();

    let (ok, out, err) = retrieve(&t.artifact, &["--user", &user, "--k", "5"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(lines.len(), 5, "{out}");
    // The user's train items are not recommended back.
    let seen = t.data.train_history(&user).unwrap();
    for line in &lines {
        let item = line.split('\t').nth(1).unwrap();
        let row = t.data.item_row(item).unwrap();
        assert!(!seen.contains(&row), "recommended seen item {item}");
    }
    // Exact search gives the same answer here.
    let (ok, exact_out, _) = retrieve(&t.artifact, &["--user", &user, "--k", "5", "--exact"]);
    assert!(ok);
    let items = |s: &str| {
        s.lines()
            .skip(1)
            .map(|l| l.split('\t').nth(1).unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(items(&out), items(&exact_out));

    // Documented fallback: a known user with an empty history is placed by
    // their side features alone.
    let (ok, out, err) = retrieve(&t.artifact, &["--user", &user, "--history", ""]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 11);

    let cases: [(&[&str], &str); 4] = [
        (&["--user", "99999"], "not in the training data"),
        (&["--user", "99999", "--history", ""], "empty history"),
        (&["--user", &user, "--history", "1,999999"], "999999"),
        (
            &["--user", &user, "--history", "1,x"],
            "item 'x' is not in the item corpus",
        ),
    ];
    for (args, want) in cases {
        let (ok, _, err) = retrieve(&t.artifact, args);
        assert!(!ok, "{args:?} should fail");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A new user with a history is served (unknown id → OOV features).
    let (ok, out, err) = retrieve(&t.artifact, &["--user", "99999", "--history", "1,50,181"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 11);

    // A query vector of the wrong dimension.
    let r = Retriever::load(&t.artifact, DeviceChoice::Flex, SearchMode::Ann).unwrap();
    let err = r
        .search(&[0.1; 5], 10, &[], SearchMode::Ann)
        .unwrap_err()
        .to_string();
    assert!(err.contains("dimension 5"), "{err}");
    let err = r
        .search(&[0.1; 5], 10, &[], SearchMode::Exact)
        .unwrap_err()
        .to_string();
    assert!(err.contains("dimension 5"), "{err}");
}

#[test]
fn damaged_index_and_vector_files_are_reported_not_panicked_on() {
    let Some(t) = trained() else { return };
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&t.artifact).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).unwrap();
    }
    let index = copy.path().join("index.hnsw");
    let mut bytes = std::fs::read(&index).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&index, &bytes).unwrap();

    let err = Retriever::load(copy.path(), DeviceChoice::Flex, SearchMode::Ann)
        .err()
        .unwrap();
    let text = format!("{err:#}");
    assert!(
        text.contains("index.hnsw") && text.contains("corrupt"),
        "{text}"
    );
    assert!(text.contains("--exact"), "{text}");
    // Exact search does not need the index.
    let user = t.data.user_id(t.data.test.users[1]).to_owned();
    let (ok, _, err) = retrieve(copy.path(), &["--user", &user]);
    assert!(
        !ok && err.contains("corrupt") && !err.contains("panicked"),
        "{err}"
    );
    let (ok, out, err) = retrieve(copy.path(), &["--user", &user, "--exact"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 11);

    // Truncated item vectors.
    let vectors = copy.path().join("item_vectors.bin");
    let bytes = std::fs::read(&vectors).unwrap();
    std::fs::write(&vectors, &bytes[..bytes.len() - 7]).unwrap();
    let err = Retriever::load(copy.path(), DeviceChoice::Flex, SearchMode::Exact)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("item_vectors.bin") && err.contains("truncated"),
        "{err}"
    );
}
