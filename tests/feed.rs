//! Serving the feed end to end: simulated users browse a running server
//! through `/recommend` and `/feedback` in two experiment arms (a learned
//! mixer and the fixed mix), the served results match the offline
//! evaluation of the same policies session for session, assignment and
//! sessions survive a restart, bad feedback is refused with the field
//! named, and the feedback log trains a ranker as it is.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ember_datasets::simulator::{FixedMix, MixPolicy, SessionRange, SimConfig, evaluate_policy};
use ember_infer::feed::report::{self, ReportOptions};
use ember_infer::feed::simulate::{
    feed_pipeline_toml, item_id, simulate_users, write_feed_catalog,
};
use ember_infer::feed::{Feed, FeedOptions, log::FeedLog};
use ember_infer::pipeline::RecommendRequest;
use ember_infer::server::BackgroundServer;
use ember_infer::server::client::HttpClient;
use ember_infer::{MixerPolicy, Pipeline};
use ember_models::device::DeviceChoice;
use serde_json::{Value, json};

const SIMULATOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/mixer/simulator.toml");
const MIXER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/mixer/dqn_gru.toml");
const ITEMS_PER_TYPE: usize = 50;
const FIXED_MIX: [f64; 4] = [0.3, 0.1, 0.2, 0.4];
/// `ember mixer eval`'s held-out stream.
const STREAM: u64 = 1_000_003;

fn sim() -> SimConfig {
    SimConfig::load(Path::new(SIMULATOR)).unwrap()
}

/// A feed catalog and its pipeline in `dir`; `extra` is appended (arms).
fn feed_pipeline(dir: &Path, mixer: Option<&Path>, extra: &str) -> PathBuf {
    let sim = sim();
    write_feed_catalog(&dir.join("catalog"), &sim, ITEMS_PER_TYPE, 8).unwrap();
    let path = dir.join("feed.toml");
    let text = feed_pipeline_toml(&dir.join("catalog"), &sim, mixer, &FIXED_MIX) + extra;
    std::fs::write(&path, text).unwrap();
    path
}

fn serve(pipeline: &Path, log: &Path) -> BackgroundServer {
    let mut options = common::serve_options(pipeline.to_owned());
    options.feed = FeedOptions {
        log_dir: Some(log.to_owned()),
        ..FeedOptions::default()
    };
    BackgroundServer::load_and_start(options).unwrap()
}

fn post(client: &mut HttpClient, path: &str, body: &Value) -> (u16, Value) {
    let (status, bytes) = client
        .request("POST", path, body.to_string().as_bytes())
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// A one-slot request with one candidate per type.
fn recommend(client: &mut HttpClient, user: &str, slot: usize) -> Value {
    let sim = sim();
    let candidates: Vec<Value> = sim
        .types
        .iter()
        .enumerate()
        .map(|(k, t)| json!({ "item": item_id(&t.name, slot % ITEMS_PER_TYPE), "score": 0.05 + 0.01 * k as f64 }))
        .collect();
    let (status, answer) = post(
        client,
        "/recommend",
        &json!({ "user": user, "k": 1, "candidates": candidates }),
    );
    assert_eq!(status, 200, "{answer}");
    answer
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

#[test]
fn simulated_users_in_two_arms_match_the_offline_evaluation_and_the_report() {
    let _serial = common::serial();
    let dir = tempfile::tempdir().unwrap();
    // A small mixer: the point here is that serving reproduces whatever
    // policy it loads, not how good it is (reports/feed/ has the full one).
    let overrides: Vec<String> = [
        "name=\"feed-mixer\"".to_owned(),
        format!("output_dir=\"{}\"", dir.path().join("runs").display()),
        "dqn.episodes=640".into(),
        "dqn.parallel_sessions=32".into(),
        "dqn.warmup_episodes=64".into(),
        "dqn.batch_size=16".into(),
        "dqn.validate_every=4".into(),
        "dqn.validation_sessions=64".into(),
        "model.gru_hidden=8".into(),
        "model.head_hidden=[16]".into(),
        "device=\"cpu\"".into(),
    ]
    .to_vec();
    let (config, sim) =
        ember_train::rl::MixerRunConfig::load(Path::new(MIXER), &overrides).unwrap();
    let artifact = ember_train::rl::train_mixer(&config, &sim)
        .unwrap()
        .summary
        .artifact;
    let pipeline = feed_pipeline(dir.path(), Some(&artifact), "");
    let log = dir.path().join("log");
    let server = serve(&pipeline, &log);
    let n = 240;
    let online = simulate_users(server.addr, &sim, STREAM, 0, n, 4, ITEMS_PER_TYPE).unwrap();
    server.stop().unwrap();

    // Offline: the same policies on the same sessions.
    let range = SessionRange::new(STREAM, 0, n);
    let mut learned = MixerPolicy::load(&artifact, DeviceChoice::Cpu)
        .unwrap()
        .into_policy();
    let mut fixed = FixedMix::new(&FIXED_MIX, sim.max_slots);
    let offline = |policy: &mut dyn MixPolicy| evaluate_policy(&sim, range, 64, policy);
    let (off_learned, off_fixed) = (offline(&mut learned), offline(&mut fixed));
    let mut arms: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut same = 0;
    for s in &online {
        let reference = match s.arm.as_str() {
            "mixer" => &off_learned[s.index as usize],
            "fixed-mix" => &off_fixed[s.index as usize],
            other => panic!("unknown arm {other}"),
        };
        same += usize::from(s.result == *reference);
        arms.entry(s.arm.as_str())
            .or_default()
            .push(f64::from(s.result.clicks));
    }
    // Common random numbers: a served session is the offline one, slot for
    // slot, unless a float rounding of the dwell flips a near-tie.
    assert!(same >= n * 98 / 100, "{same} of {n} sessions as offline");
    for (arm, clicks) in &arms {
        assert!(
            clicks.len() > n / 4,
            "arm {arm} got {} of {n} users",
            clicks.len()
        );
    }

    // The report reads the same sessions back from the log.
    let sessions = report::read_sessions(&log).unwrap();
    assert_eq!(sessions.len(), n);
    let result = report::report(
        &sessions,
        &ReportOptions {
            control: Some("fixed-mix".into()),
            ..ReportOptions::default()
        },
        |_| None,
    )
    .unwrap();
    for arm in &result.arms {
        let clicks = &arms[arm.arm.as_str()];
        let mean = clicks.iter().sum::<f64>() / clicks.len() as f64;
        assert_eq!(arm.sessions, clicks.len());
        assert!(
            (arm.clicks_per_session.value - mean).abs() < 1e-9,
            "{}: report {} vs simulated {mean}",
            arm.arm,
            arm.clicks_per_session.value
        );
        assert!(arm.ctr.value > 0.0 && arm.ctr.low < arm.ctr.value);
        assert_eq!(arm.type_shares.len(), 4, "{:?}", arm.type_shares);
    }
    let c = &result.comparisons[0];
    assert_eq!(
        (c.treatment.as_str(), c.control.as_str()),
        ("mixer", "fixed-mix")
    );
    let diff = result.arms[1].clicks_per_session.value - result.arms[0].clicks_per_session.value;
    assert!((c.clicks_per_session_diff.value - diff).abs() < 1e-9);
    assert!(c.sequential.looks > 0, "{:?}", c.sequential);

    // The CLI prints the same report, with the diversity metrics.
    let out = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(["experiment", "report", "--control", "fixed-mix", "--log"])
        .arg(&log)
        .arg("--pipeline")
        .arg(&pipeline)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "mixer vs fixed-mix",
        "always-valid p",
        "exposure_gini",
        "long_tail_share",
    ] {
        assert!(text.contains(needle), "no '{needle}' in:\n{text}");
    }
}

#[test]
fn arms_are_sticky_across_a_restart_and_bad_feedback_is_refused_by_field() {
    let dir = tempfile::tempdir().unwrap();
    // Three arms: the pipeline as written, an override, another file.
    let other = dir.path().join("short-video-first.toml");
    let arms = format!(
        "\n[[experiment]]\nname = \"even\"\nshare = 1.0\nset = ['mixer.fixed_mix = [1.0, 1.0, 1.0, 1.0]']\n\n\
         [[experiment]]\nname = \"best\"\nshare = 1.0\n\n\
         [[experiment]]\nname = \"file\"\nshare = 1.0\npipeline = \"{}\"\n",
        other.display()
    );
    let pipeline = feed_pipeline(dir.path(), None, &arms);
    let text = std::fs::read_to_string(&pipeline).unwrap();
    let (base, _) = text.split_once("\n[[experiment]]").unwrap();
    std::fs::write(
        &other,
        base.replace(
            "fixed_mix = [0.3, 0.1, 0.2, 0.4]",
            "fixed_mix = [0.0, 0.0, 0.0, 1.0]",
        ),
    )
    .unwrap();
    let log = dir.path().join("log");
    let users: Vec<String> = (0..40).map(|u| format!("user-{u}")).collect();

    let server = serve(&pipeline, &log);
    let mut client = HttpClient::new(server.addr);
    let first: Vec<Value> = users.iter().map(|u| recommend(&mut client, u, 0)).collect();
    let arm_of = |answers: &[Value]| -> Vec<String> {
        answers
            .iter()
            .map(|a| a["arm"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = arm_of(&first);
    for arm in ["even", "best", "file"] {
        assert!(
            before.iter().any(|a| a == arm),
            "no user in {arm}: {before:?}"
        );
    }
    // The arm from another file serves its own pipeline (short video only).
    let file_user = before.iter().position(|a| a == "file").unwrap();
    assert_eq!(first[file_user]["items"][0]["content_type"], "short_video");
    // Sticky across requests.
    let again: Vec<Value> = users.iter().map(|u| recommend(&mut client, u, 1)).collect();
    assert_eq!(arm_of(&again), before);
    assert_eq!(again[0]["session"], first[0]["session"], "one session");
    let request = first[0]["request_id"].as_str().unwrap().to_owned();
    let item = first[0]["items"][0]["item"].as_str().unwrap().to_owned();
    let (status, body) = post(
        &mut client,
        "/feedback",
        &json!({ "request_id": request, "events": [{ "item": item, "event": "impression" }] }),
    );
    assert_eq!((status, &body["logged"]), (200, &json!(1)));
    let events = FeedLog::events_path(&log);
    let logged = lines(&events);

    // Bad feedback: a 4xx naming the field, and nothing logged.
    let bad = [
        (
            json!({ "request_id": "r-nope", "events": [{ "item": item, "event": "impression" }] }),
            404,
            "request_id",
        ),
        (
            json!({ "request_id": request, "events": [{ "item": item, "event": "click", "dwell": -3.0 }] }),
            422,
            "events[0].dwell",
        ),
        (
            json!({ "request_id": request, "events": [{ "item": item, "event": "impression" }] }),
            409,
            "events[0]: a duplicate",
        ),
        (
            json!({ "request_id": request, "events": [{ "item": "video-49", "event": "impression" }] }),
            422,
            "events[0].item",
        ),
        (
            json!({ "request_id": request, "events": [{ "item": item, "event": "share" }] }),
            422,
            "unknown variant",
        ),
        (
            json!({ "request_id": request, "events": [{ "item": item, "event": "click", "dwel": 3 }] }),
            422,
            "dwel",
        ),
    ];
    for (body, want, field) in bad {
        let (status, answer) = post(&mut client, "/feedback", &body);
        let message = answer["error"].as_str().unwrap_or_default();
        assert_eq!(status, want, "{body} → {answer}");
        assert!(
            message.contains(field),
            "{body} → '{message}' names no '{field}'"
        );
    }
    assert_eq!(lines(&events), logged, "a refused body logs nothing");
    server.stop().unwrap();

    // Restarted on the same log: the same arms, the same sessions, and the
    // requests served before the restart still take their feedback.
    let server = serve(&pipeline, &log);
    let mut client = HttpClient::new(server.addr);
    let after: Vec<Value> = users.iter().map(|u| recommend(&mut client, u, 2)).collect();
    assert_eq!(arm_of(&after), before, "assignment survives the restart");
    assert_eq!(after[0]["session"], first[0]["session"], "the session too");
    let (status, body) = post(
        &mut client,
        "/feedback",
        &json!({ "request_id": request, "events": [{ "item": item, "event": "click", "dwell": 30.0 }] }),
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = post(
        &mut client,
        "/feedback",
        &json!({ "request_id": request, "events": [{ "item": item, "event": "impression" }] }),
    );
    assert_eq!(status, 409, "the replayed log knows the impression");
    let (_, metrics) = client.request("GET", "/metrics", b"").unwrap();
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("ember_feed_events_total{arm=\"")
            && metrics.contains("event=\"click\"} 1"),
        "{metrics}"
    );
    server.stop().unwrap();
}

#[test]
fn a_mixer_pipeline_fills_slots_from_its_own_ranking_in_session_order() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::load_file(&feed_pipeline(dir.path(), None, ""), &[]).unwrap();
    let feed = Feed::in_memory();
    let ask = |k| {
        let request = RecommendRequest {
            user: "seed-0".into(), // a user of the catalog's log: recalled and ranked
            k: Some(k),
            time: None,
            candidates: None,
        };
        let mut answers = pipeline.recommend_batch(&[request], &feed).unwrap();
        answers.remove(0).unwrap()
    };
    let types = |r: &ember_infer::pipeline::Recommendation| -> Vec<String> {
        r.items
            .iter()
            .map(|i| i.content_type.clone().unwrap())
            .collect()
    };
    let schedule = FixedMix::new(&FIXED_MIX, 100);
    let names: Vec<String> = sim().types.iter().map(|t| t.name.clone()).collect();
    let want = |slots: std::ops::Range<usize>| -> Vec<String> {
        slots.map(|t| names[schedule.type_at(t)].clone()).collect()
    };
    let first = ask(5);
    assert_eq!(types(&first), want(0..5));
    // Each item is of the type it fills, and none repeats.
    for item in &first.items {
        assert!(item.item.starts_with(item.content_type.as_deref().unwrap()));
    }
    // The session goes on where it stopped.
    let second = ask(3);
    assert_eq!(types(&second), want(5..8));
    assert_eq!(first.session, second.session);
    assert_ne!(first.request_id, second.request_id);
}

#[test]
fn the_feedback_log_trains_a_ranker_with_no_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = feed_pipeline(dir.path(), None, "");
    let log = dir.path().join("log");
    let server = serve(&pipeline, &log);
    let sim = sim();
    simulate_users(server.addr, &sim, 5, 0, 300, 4, ITEMS_PER_TYPE).unwrap();
    server.stop().unwrap();
    // The log as the server wrote it, as an interaction log: a click-through
    // ranker on every shown (user, item) pair.
    let catalog = dir.path().join("catalog");
    let config = dir.path().join("ranker.toml");
    std::fs::write(
        &config,
        format!(
            "name = \"feed-lr\"\noutput_dir = \"{}\"\ndevice = \"cpu\"\n\n\
             [data]\nsource = \"interaction-log\"\npositives = [\"click\"]\ntasks = [\"click\"]\nhistory_len = 5\n\n\
             [data.events]\npath = \"{}\"\nuser = \"user\"\nitem = \"item\"\ntime = \"time\"\nevent = \"event\"\n\n\
             [data.items]\npath = \"{}\"\nid = \"item\"\n\
             fields = [{{ name = \"type\", kind = \"categorical\" }}, {{ name = \"topic\", kind = \"categorical\" }}]\n\n\
             [model]\nkind = \"lr\"\n\n[train]\nepochs = 2\nbatch_size = 256\nlr = 0.01\n",
            dir.path().join("runs").display(),
            FeedLog::events_path(&log).display(),
            catalog.join("items.csv").display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(["train", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    common::assert_success(&out);
    let artifact = dir.path().join("runs/feed-lr/artifact");
    assert!(artifact.join("manifest.json").is_file());
    // The served log is what a pipeline's catalog reads too.
    assert!(Pipeline::load_file(&pipeline, &[]).is_ok());
}
