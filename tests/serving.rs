//! The serving pipeline and server end to end, on ml100k: a tiny DeepFM
//! (one epoch of ml100k-implicit, history field included) is trained once
//! per test binary and ranks the candidates of
//! most-popular and co-occurrence recall; pipelines are TOML files in a
//! temporary versions directory.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use ember_datasets::registry::{DataConfig, shared_data_dir};
use ember_datasets::sources::Ml100kImplicit;
use ember_infer::Pipeline;
use ember_infer::pipeline::evaluate::evaluate_rerankers;
use ember_infer::pipeline::{RecommendRequest, ScoreRequest};
use ember_infer::rerank::{RerankerConfig, RulesConfig};
use ember_infer::server::client::{HttpClient, LoadTestOptions, run_load_test};
use ember_infer::server::watch::WatchOptions;
use ember_infer::server::{BackgroundServer, ServeOptions};
use ember_models::ModelKind;

struct Fixture {
    _dir: tempfile::TempDir,
    versions: PathBuf,
    /// Two trained rankers (seeds 42 and 7): v1's, and another whose
    /// scores differ, for the watched-versions test.
    artifacts: [PathBuf; 2],
}

/// The trained model and two pipeline versions (DPP, rules), or `None`
/// (tests skipped) without the shared data.
fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let root = shared_data_dir()?;
            let dir = tempfile::tempdir().unwrap();
            let mut config = common::run_config(
                "tiny-deepfm",
                ModelKind::DeepFm,
                DataConfig::Ml100kImplicit(Ml100kImplicit {
                    root: root.clone(),
                    negatives: 1,
                    eval_negatives: 9,
                    history_len: 20,
                    popularity_power: 0.0,
                    seed: 3,
                    ..Default::default()
                }),
                1,
                dir.path(),
            );
            config.model.embedding_dim = 4;
            config.model.hidden = vec![16];
            config.train.batch_size = 2048;
            let (_, summary) = {
                let _lock = common::serial();
                common::train(&config)
            };
            let mut other = config.clone();
            other.common.name = "tiny-deepfm-b".into();
            other.train.seed = 7;
            let (_, other) = {
                let _lock = common::serial();
                common::train(&other)
            };
            let versions = dir.path().join("versions");
            std::fs::create_dir_all(&versions).unwrap();
            let pipeline = |rerank: &str| {
                format!(
                    "name = \"test\"\nk = 10\n[catalog]\ndata = {{ source = \"ml100k-retrieval\", root = {root:?} }}\n\
                     [[recall]]\nkind = \"co_occurrence\"\nquota = 100\n\
                     [[recall]]\nkind = \"most_popular\"\nquota = 100\n\
                     [fine]\nartifact = {:?}\nquota = 50\n\
                     [rerank]\n{rerank}\n",
                    summary.artifact
                )
            };
            std::fs::write(
                versions.join("v1.toml"),
                pipeline("kind = \"dpp\"\ntheta = 0.7"),
            )
            .unwrap();
            std::fs::write(
                versions.join("v2.toml"),
                pipeline("kind = \"rules\"\nwindow = 4\nmax_per_category = 2"),
            )
            .unwrap();
            std::fs::write(versions.join("broken.toml"), "name = 3\n[catalog]\n").unwrap();
            Some(Fixture {
                _dir: dir,
                versions,
                artifacts: [summary.artifact.clone(), other.artifact],
            })
        })
        .as_ref()
}

fn options(versions: &Path, version: &str) -> ServeOptions {
    common::serve_options(versions.join(format!("{version}.toml")))
}

fn load_options(requests: usize, malformed: f64) -> LoadTestOptions {
    LoadTestOptions {
        requests,
        concurrency: 16,
        malformed,
        users: (1..=943).map(|u: u32| u.to_string()).collect(),
        items: (1..=1682).map(|i: u32| i.to_string()).collect(),
        score_items: 50,
        score_every: 5,
    }
}

#[test]
fn pipeline_recommends_unseen_distinct_items_and_scores_in_batches() {
    let Some(f) = fixture() else { return };
    let pipeline = Pipeline::load_file(&f.versions.join("v1.toml"), &[]).unwrap();
    let out = pipeline
        .recommend_batch(
            &[
                RecommendRequest {
                    user: "1".into(),
                    k: None,
                    time: None,
                    candidates: None,
                },
                RecommendRequest {
                    user: "4000000".into(),
                    k: None,
                    time: None,
                    candidates: None,
                },
                RecommendRequest {
                    user: "2".into(),
                    k: Some(0),
                    time: None,
                    candidates: None,
                },
                RecommendRequest {
                    user: "3".into(),
                    k: Some(5),
                    time: None,
                    candidates: None,
                },
            ],
            &ember_infer::feed::Feed::in_memory(),
        )
        .unwrap();
    let first = out[0].as_ref().unwrap();
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.reranker, "dpp");
    let user = pipeline.catalog.user_row("1").unwrap();
    let history: Vec<&str> = pipeline
        .catalog
        .history(user)
        .iter()
        .map(|&r| pipeline.catalog.item_id(r))
        .collect();
    let mut items: Vec<&str> = first.items.iter().map(|s| s.item.as_str()).collect();
    assert!(
        items.iter().all(|i| !history.contains(i)),
        "history excluded"
    );
    items.sort_unstable();
    items.dedup();
    assert_eq!(items.len(), 10, "no duplicates");
    assert!(out[1].is_err(), "unknown user");
    assert!(out[2].is_err(), "k = 0");
    assert_eq!(out[3].as_ref().unwrap().items.len(), 5);

    // One batch of two /score requests equals each scored alone.
    let a = ScoreRequest {
        user: "5".into(),
        items: vec!["1".into(), "2".into(), "3".into()],
        time: None,
    };
    let b = ScoreRequest {
        user: "6".into(),
        items: vec!["50".into(), "181".into()],
        time: None,
    };
    let together = pipeline.score_batch(&[a.clone(), b.clone()]).unwrap();
    let alone_a = pipeline.score_batch(&[a]).unwrap();
    let alone_b = pipeline.score_batch(&[b]).unwrap();
    for (x, y) in together[0]
        .as_ref()
        .unwrap()
        .iter()
        .zip(alone_a[0].as_ref().unwrap())
    {
        assert!((x - y).abs() < 1e-5);
    }
    for (x, y) in together[1]
        .as_ref()
        .unwrap()
        .iter()
        .zip(alone_b[0].as_ref().unwrap())
    {
        assert!((x - y).abs() < 1e-5);
    }

    // The offline table runs, and the rule re-ranker holds its rule.
    let rules = RulesConfig {
        window: 4,
        max_per_category: 2,
    };
    let results = evaluate_rerankers(
        &pipeline,
        &[
            ("none".into(), RerankerConfig::None),
            ("rules".into(), RerankerConfig::Rules(rules)),
        ],
        10,
        Some(40),
    )
    .unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| (0.0..=1.0).contains(&r.recall)));
    let user = pipeline.catalog.user_row("7").unwrap();
    let ranked = pipeline.rank(&[user]).unwrap().remove(0);
    let set = pipeline.candidate_set(&ranked);
    let list = rules.rerank(&set, 10);
    assert_eq!(list.violations, 0);
    assert!(rules.holds(&set, &list.order));
}

#[test]
fn bad_requests_get_a_4xx_with_a_json_message_and_serving_goes_on() {
    let Some(f) = fixture() else { return };
    let server = BackgroundServer::load_and_start(options(&f.versions, "v1")).unwrap();
    let mut client = HttpClient::new(server.addr);
    let cases: [(&str, &str, u16); 10] = [
        ("/recommend", "{\"user\": 1,", 400),
        ("/recommend", "not json", 400),
        ("/recommend", "{\"user\": 4000000}", 404),
        ("/recommend", "{\"user\": \"one\"}", 404),
        ("/recommend", "{\"user\": 1.5}", 422),
        ("/recommend", "{\"usr\": 1}", 422),
        ("/recommend", "{\"user\": 1, \"k\": 0}", 422),
        ("/score", "{\"user\": 1, \"items\": [1, 99999]}", 404),
        ("/score", "{\"user\": 1, \"items\": []}", 422),
        ("/nowhere", "{}", 404),
    ];
    for (path, body, expected) in cases {
        let (status, answer) = client.request("POST", path, body.as_bytes()).unwrap();
        assert_eq!(status, expected, "{path} {body}");
        let json: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert!(json["error"].is_string(), "{json}");
        let (status, _) = client
            .request("POST", "/recommend", b"{\"user\": 1}")
            .unwrap();
        assert_eq!(status, 200, "serving goes on after {body}");
    }
    let (status, answer) = client
        .request("POST", "/score", b"{\"user\": 1, \"items\": [1, 2]}")
        .unwrap();
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(json["scores"].as_array().unwrap().len(), 2);
    // A version that does not load is a 422; the live one stays.
    let (status, answer) = client
        .request("POST", "/admin/load", b"{\"version\": \"broken\"}")
        .unwrap();
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&answer));
    let (status, _) = client
        .request("POST", "/admin/load", b"{\"version\": \"../v1\"}")
        .unwrap();
    assert_eq!(status, 422);
    let (status, _) = client.request("POST", "/admin/rollback", b"").unwrap();
    assert_eq!(status, 409, "nothing to roll back to");
    let (status, answer) = client.request("GET", "/health", b"").unwrap();
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&answer).contains("\"v1\""));

    // A small load test with 10% malformed requests.
    let report = run_load_test(server.addr, &load_options(400, 0.1)).unwrap();
    assert!(report.clean(), "{report}");
    assert_eq!(report.malformed_sent, 40);
    assert_eq!(report.status_4xx, 40);
    let (_, metrics) = client.request("GET", "/metrics", b"").unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains("ember_batches_total"), "{metrics}");
    server.stop().unwrap();
}

#[test]
fn swapping_versions_under_load_loses_no_request() {
    let Some(f) = fixture() else { return };
    let server = BackgroundServer::load_and_start(options(&f.versions, "v1")).unwrap();
    let addr = server.addr;
    let mut client = HttpClient::new(addr);
    // v2 loaded (v1 kept for rollback); during the load, each rollback
    // swaps the live version between the two, through the request queue.
    let (status, body) = client
        .request("POST", "/admin/load", b"{\"version\": \"v2\"}")
        .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let load = std::thread::spawn(move || run_load_test(addr, &load_options(1500, 0.0)).unwrap());
    let mut swaps = 0;
    while !load.is_finished() {
        let (status, body) = client.request("POST", "/admin/rollback", b"").unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        swaps += 1;
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let report = load.join().unwrap();
    assert!(report.clean(), "{report}");
    assert_eq!(report.status_2xx, 1500);
    assert!(swaps >= 5, "only {swaps} swaps during the load");
    let (_, answer) = client.request("GET", "/health", b"").unwrap();
    let health: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(health["swaps"], 1 + swaps);
    let expected = if swaps % 2 == 0 { "v2" } else { "v1" };
    assert_eq!(health["version"], expected);
    server.stop().unwrap();
}

/// Copies an artifact into `versions/name` the way `ember online` writes
/// one: into a hidden directory, renamed into place when complete.
fn land_version(artifact: &Path, versions: &Path, name: &str) {
    let partial = versions.join(format!(".{name}.partial"));
    std::fs::create_dir_all(&partial).unwrap();
    for entry in std::fs::read_dir(artifact).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), partial.join(entry.file_name())).unwrap();
    }
    std::fs::rename(&partial, versions.join(name)).unwrap();
}

#[test]
fn versions_landing_under_load_are_picked_up_and_each_answer_is_one_version() {
    let Some(f) = fixture() else { return };
    let watched = tempfile::tempdir().unwrap();
    let mut options = options(&f.versions, "v1");
    options.watch = Some(WatchOptions {
        poll: std::time::Duration::from_millis(50),
        ..WatchOptions::new(watched.path().to_owned())
    });
    // What each ranker scores, computed offline: version k is ranker k % 2
    // (v1, the starting pipeline, is ranker 0).
    let requests: Vec<ScoreRequest> = (1..=12u32)
        .map(|u| ScoreRequest {
            user: u.to_string(),
            items: (0..20)
                .map(|i| (1 + (u * 37 + i * 11) % 1682).to_string())
                .collect(),
            time: None,
        })
        .collect();
    let expected: Vec<Vec<Vec<f32>>> = f
        .artifacts
        .iter()
        .map(|a| {
            let set = format!("fine.artifact={:?}", a.display().to_string());
            let p = Pipeline::load_file(&f.versions.join("v1.toml"), &[set]).unwrap();
            p.score_batch(&requests)
                .unwrap()
                .into_iter()
                .map(Result::unwrap)
                .collect()
        })
        .collect();
    assert_ne!(expected[0], expected[1], "the two rankers must differ");
    let ranker_of = |version: &str| match version {
        "v1" => 0,
        v => v.trim_start_matches('v').parse::<usize>().unwrap() % 2,
    };

    let server = BackgroundServer::load_and_start(options).unwrap();
    let addr = server.addr;
    let landed = 5;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let (requests, expected, done) = (requests.clone(), expected.clone(), done.clone());
            std::thread::spawn(move || {
                let mut client = HttpClient::new(addr);
                let mut seen = std::collections::BTreeMap::<String, usize>::new();
                let mut i = t;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let r = &requests[i % requests.len()];
                    let body =
                        serde_json::to_vec(&serde_json::json!({"user": r.user, "items": r.items}))
                            .unwrap();
                    let (status, answer) = client.request("POST", "/score", &body).unwrap();
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
                    let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
                    let version = answer["version"].as_str().unwrap().to_owned();
                    let scores: Vec<f32> =
                        serde_json::from_value(answer["scores"].clone()).unwrap();
                    let want = &expected[ranker_of(&version)][i % requests.len()];
                    for (got, want) in scores.iter().zip(want) {
                        assert!((got - want).abs() < 1e-5, "{version}: {got} vs {want}");
                    }
                    *seen.entry(version).or_default() += 1;
                    i += 4;
                }
                seen
            })
        })
        .collect();
    let mut client = HttpClient::new(addr);
    let live = |client: &mut HttpClient| -> String {
        let (_, body) = client.request("GET", "/health", b"").unwrap();
        let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
        health["version"].as_str().unwrap().to_owned()
    };
    for k in 1..=landed {
        let name = format!("v{k:06}");
        land_version(&f.artifacts[k % 2], watched.path(), &name);
        let start = std::time::Instant::now();
        while live(&mut client) != name {
            assert!(start.elapsed().as_secs() < 60, "{name} never went live");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Let requests run against this version a while.
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for c in clients {
        for (v, n) in c.join().unwrap() {
            *seen.entry(v).or_default() += n;
        }
    }
    // Every landed version answered requests, each with its own scores.
    assert!(seen.len() >= landed, "{seen:?}");
    server.stop().unwrap();
}

#[test]
fn attributes_read_from_the_feature_store_score_as_the_catalog() {
    let Some(f) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let set_store = format!("features.store={:?}", store.display().to_string());
    let with_store = |attributes: bool| {
        Pipeline::load_file(
            &f.versions.join("v1.toml"),
            &[
                set_store.clone(),
                format!("features.attributes={attributes}"),
            ],
        )
    };
    // Nothing imported yet: a clear error.
    let err = with_store(true).err().unwrap();
    assert!(
        format!("{err:#}").contains("ember features import"),
        "{err:#}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(["features", "import", "--pipeline"])
        .arg(f.versions.join("v1.toml"))
        .args(["--set", &set_store])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 943 users and 1682 items"));
    let from_store = with_store(true).unwrap();
    let from_catalog = Pipeline::load_file(&f.versions.join("v1.toml"), &[]).unwrap();
    let requests: Vec<ScoreRequest> = (1..=20u32)
        .map(|u| ScoreRequest {
            user: u.to_string(),
            items: (0..30)
                .map(|i| (1 + (u * 53 + i * 17) % 1682).to_string())
                .collect(),
            time: None,
        })
        .collect();
    let a: Vec<Vec<f32>> = from_store
        .score_batch(&requests)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let b: Vec<Vec<f32>> = from_catalog
        .score_batch(&requests)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(a, b);
}

#[test]
fn admin_routes_need_the_token_when_there_is_one() {
    let Some(f) = fixture() else { return };
    let token = "0123456789abcdef-admin";
    let mut options = options(&f.versions, "v1");
    // No token and a non-loopback address: refused before listening.
    options.addr = "0.0.0.0:0".parse().unwrap();
    let err = BackgroundServer::load_and_start(options.clone())
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("admin token"), "{err:#}");
    // A token too short to be one.
    options.admin_token = Some(ember_infer::server::AdminToken("short".into()));
    assert!(BackgroundServer::load_and_start(options.clone()).is_err());
    options.addr = "127.0.0.1:0".parse().unwrap();
    options.admin_token = Some(ember_infer::server::AdminToken(token.into()));
    let server = BackgroundServer::load_and_start(options).unwrap();
    let load = br#"{"version": "v2"}"#;
    for client in [
        &mut HttpClient::new(server.addr),
        &mut HttpClient::with_bearer(server.addr, "0123456789abcdef-wrong"),
    ] {
        let (status, body) = client.request("POST", "/admin/load", load).unwrap();
        assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));
        let (status, _) = client.request("POST", "/admin/rollback", b"").unwrap();
        assert_eq!(status, 401);
        // Everything else still answers without a token.
        let (status, _) = client.request("GET", "/health", b"").unwrap();
        assert_eq!(status, 200);
    }
    let mut admin = HttpClient::with_bearer(server.addr, token);
    let (status, body) = admin.request("POST", "/admin/load", load).unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, _) = admin.request("POST", "/admin/rollback", b"").unwrap();
    assert_eq!(status, 200);
    server.stop().unwrap();
}

#[test]
fn every_serving_preset_parses_as_a_pipeline() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/serving");
    let mut count = 0;
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        ember_infer::PipelineConfig::load(&path, &[]).unwrap_or_else(|e| panic!("{e:#}"));
        count += 1;
    }
    assert!(count >= 3, "{count} serving presets");
    // A typo is an error naming the file and the field.
    let err = ember_infer::PipelineConfig::load(
        &dir.join("ml100k.toml"),
        &["rerank.thetta=0.5".to_owned()],
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("thetta"), "{err:#}");
}

/// The serving encoder gives a test user's held-out (user, item) pair the
/// ids training gave that test row, and the history field a validation
/// row of that user has: the catalog's histories are the train items, most
/// recent first, while a test row's also begins with the user's
/// validation positive (datasets/src/implicit.rs).
#[test]
fn the_catalog_encodes_test_rows_as_training_did() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    use ember_datasets::DataSource;
    use ember_datasets::sources::{Ml100kImplicit, Ml100kRetrieval};
    let source = Ml100kImplicit {
        root: root.clone(),
        negatives: 0,
        eval_negatives: 0,
        history_len: 20,
        ..Default::default()
    };
    let prepared = source.load().unwrap();
    let (pre, valid, test_rows) = (
        prepared.preprocessor.unwrap(),
        prepared.valid,
        prepared.test,
    );
    // The rows the catalog should give: the test rows with each history
    // replaced by the validation row's of the same user (`user_id` is the
    // first categorical field; one validation row per user here).
    let user = |d: &ember_datasets::EncodedData, r: usize| d.categorical[r * d.num_categorical];
    let valid_row: std::collections::HashMap<u32, usize> =
        (0..valid.num_rows).map(|r| (user(&valid, r), r)).collect();
    let h = test_rows
        .sequences
        .iter()
        .position(|s| s.max_len == 20)
        .unwrap();
    let mut want = test_rows.clone();
    for r in 0..want.num_rows {
        let v = valid_row[&user(&test_rows, r)];
        let (from, to) = (&valid.sequences[h], &mut want.sequences[h]);
        to.ids[r * 20..(r + 1) * 20].copy_from_slice(&from.ids[v * 20..(v + 1) * 20]);
        to.lengths[r] = from.lengths[v];
    }

    let catalog = ember_infer::features::Catalog::load(
        &Ml100kRetrieval {
            root,
            history_len: 50,
        }
        .into(),
        50,
    )
    .unwrap();
    let encoder = ember_infer::features::PairEncoder::new(&pre, &catalog, None, None).unwrap();
    let log = catalog.log();
    let test = &catalog.dataset.split.test;
    let mut got = encoder.start(test.len());
    for &e in test {
        encoder
            .push_pairs(
                &catalog,
                log.events.user[e],
                &[log.events.item[e]],
                None,
                0,
                &mut got,
            )
            .unwrap();
    }
    assert_eq!(got.num_rows, 943);
    assert_eq!(got.categorical, want.categorical);
    assert_eq!(got.sequences, want.sequences);
    // Not vacuous: most test users have a history.
    let history = got.sequences.iter().find(|s| s.max_len == 20).unwrap();
    let with_history = history.lengths.iter().filter(|&&n| n > 0).count();
    assert!(
        with_history > 900,
        "{with_history} of 943 rows have a history"
    );
    // A test row's history starts with the validation item, which the
    // catalog's does not hold.
    let newest = |s: &ember_datasets::EncodedSequence, r: usize| s.ids[r * 20];
    let differ = (0..got.num_rows)
        .filter(|&r| newest(&test_rows.sequences[h], r) != newest(history, r))
        .count();
    assert!(
        differ > 900,
        "{differ} of 943 test histories start elsewhere"
    );
}

/// `ember serve --watch` killed with SIGKILL while versions land and swap
/// in, then restarted: each time it serves the newest complete version
/// (not the pipeline file's model, not a half-written one) with that
/// version's scores.
#[test]
fn a_server_killed_during_swaps_restarts_serving_the_newest_complete_version() {
    let Some(f) = fixture() else { return };
    let watched = tempfile::tempdir().unwrap();
    let request = ScoreRequest {
        user: "7".into(),
        items: (1..=20u32).map(|i| (i * 13).to_string()).collect(),
        time: None,
    };
    let expected: Vec<Vec<f32>> = f
        .artifacts
        .iter()
        .map(|a| {
            let set = format!("fine.artifact={:?}", a.display().to_string());
            let p = Pipeline::load_file(&f.versions.join("v1.toml"), &[set]).unwrap();
            p.score_batch(std::slice::from_ref(&request)).unwrap()[0]
                .clone()
                .unwrap()
        })
        .collect();
    let body =
        serde_json::to_vec(&serde_json::json!({"user": request.user, "items": request.items}))
            .unwrap();
    // Kill points drawn from a fixed seed (xorshift), so a failure repeats.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut draw_ms = |max: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % max
    };
    let mut landed = 0usize;
    for round in 0..4 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut server = Command::new(env!("CARGO_BIN_EXE_ember"))
            .args(["serve", "--watch-poll", "0.02", "--addr", &addr.to_string()])
            .arg("--pipeline")
            .arg(f.versions.join("v1.toml"))
            .arg("--watch")
            .arg(watched.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        let mut client = loop {
            let mut client = HttpClient::new(addr);
            if client.request("GET", "/health", b"").is_ok() {
                break client;
            }
            assert!(
                start.elapsed().as_secs() < 120,
                "round {round}: never served"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        // Serving what the directory says is newest, with its scores.
        let (_, health) = client.request("GET", "/health", b"").unwrap();
        let health: serde_json::Value = serde_json::from_slice(&health).unwrap();
        let version = health["version"].as_str().unwrap().to_owned();
        let want = if landed == 0 {
            "v1".to_owned()
        } else {
            format!("v{landed:06}")
        };
        assert_eq!(version, want, "round {round}");
        let (status, answer) = client.request("POST", "/score", &body).unwrap();
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["version"], version.as_str());
        let scores: Vec<f32> = serde_json::from_value(answer["scores"].clone()).unwrap();
        let ranker = landed % 2;
        for (got, want) in scores.iter().zip(&expected[ranker]) {
            assert!((got - want).abs() < 1e-5, "round {round}: {got} vs {want}");
        }
        // Versions land; the kill comes at a drawn moment after the last,
        // often while the server loads or swaps it in.
        for _ in 0..3 {
            landed += 1;
            land_version(
                &f.artifacts[landed % 2],
                watched.path(),
                &format!("v{landed:06}"),
            );
            std::thread::sleep(std::time::Duration::from_millis(draw_ms(60)));
        }
        // A writer killed mid-copy leaves a hidden, incomplete version.
        let partial = watched.path().join(format!(".v{:06}.partial", landed + 1));
        std::fs::create_dir_all(&partial).unwrap();
        std::fs::write(partial.join("model.bpk"), b"half").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(draw_ms(40)));
        server.kill().unwrap();
        server.wait().unwrap();
    }
}
