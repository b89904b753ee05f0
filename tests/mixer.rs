//! The RL mixer end to end: it learns, training is reproducible, and the
//! exported policy acts the same through the serving API and on every backend.

use std::path::Path;

use ember_datasets::simulator::{
    GreedyPctr, MixPolicy, ServedSlot, SessionRange, SessionState, SimConfig, SlotView, argmax,
    evaluate_policy, mean_clicks, run_sessions,
};
use ember_infer::MixerPolicy;
use ember_models::device::DeviceChoice;
use ember_models::mixer::QPolicy;
use ember_train::rl::{MixerRunConfig, TrainedMixer, train_mixer};

const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/mixer/dqn_gru.toml");

/// The shipped GRU config, shrunk to `episodes` training sessions.
fn tiny(out: &Path, name: &str, episodes: usize, extra: &[&str]) -> (MixerRunConfig, SimConfig) {
    let mut overrides: Vec<String> = vec![
        format!("name=\"{name}\""),
        format!("output_dir=\"{}\"", out.display()),
        format!("dqn.episodes={episodes}"),
        "dqn.parallel_sessions=32".into(),
        "dqn.warmup_episodes=64".into(),
        "dqn.batch_size=16".into(),
        "dqn.updates_per_round=2".into(),
        "dqn.validate_every=4".into(),
        "dqn.validation_sessions=64".into(),
        "dqn.target_update=20".into(),
        "model.gru_hidden=8".into(),
        "model.head_hidden=[16]".into(),
        "device=\"flex\"".into(),
    ];
    overrides.extend(extra.iter().map(|s| s.to_string()));
    MixerRunConfig::load(Path::new(CONFIG), &overrides).expect("tiny config loads")
}

/// Every action the policy takes over `range`, in order.
fn actions(sim: &SimConfig, policy: &mut dyn MixPolicy, range: SessionRange) -> Vec<usize> {
    let mut all = Vec::new();
    run_sessions(sim, range, policy, |_, _, a, _| all.push(a));
    all
}

/// A Q-policy that records every batch of views it sees and its Q-values.
struct Recorder {
    inner: QPolicy,
    views: Vec<Vec<SlotView>>,
    q: Vec<Vec<f32>>,
}

impl MixPolicy for Recorder {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn begin(&mut self, n: usize) {
        self.inner.begin(n);
    }
    fn act(&mut self, views: &[SlotView]) -> Vec<usize> {
        let q = self.inner.q_values(views);
        self.views.push(views.to_vec());
        self.q.push(q.clone());
        let k = self.inner.input.num_types;
        q.chunks(k).map(|q| argmax(q).unwrap()).collect()
    }
}

/// `policy`'s Q-values on the recorded views (teacher forcing), flattened.
fn replay(policy: &mut QPolicy, views: &[Vec<SlotView>]) -> Vec<f32> {
    policy.begin(views[0].len());
    views.iter().flat_map(|v| policy.q_values(v)).collect()
}

/// Runs `policy` over `range`, recording views and Q-values.
fn record(sim: &SimConfig, policy: QPolicy, range: SessionRange) -> Recorder {
    let mut recorder = Recorder {
        inner: policy,
        views: Vec::new(),
        q: Vec::new(),
    };
    run_sessions(sim, range, &mut recorder, |_, _, _, _| {});
    recorder
}

/// Max |a − b|, and whether every decision whose margin (best − second
/// best Q in `a`) exceeds `margin` picks the same type in `b`; also the
/// share of decisions with such a margin.
fn compare(a: &[f32], b: &[f32], k: usize, margin: f32) -> (f32, bool, f64) {
    assert_eq!(a.len(), b.len());
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    let (mut same, mut clear) = (true, 0usize);
    for (qa, qb) in a.chunks(k).zip(b.chunks(k)) {
        let best = argmax(qa).unwrap();
        let second = (0..k)
            .filter(|&i| i != best)
            .map(|i| qa[i])
            .fold(f32::NEG_INFINITY, f32::max);
        if qa[best] - second > margin {
            clear += 1;
            same &= argmax(qb) == Some(best);
        }
    }
    (diff, same, clear as f64 / (a.len() / k) as f64)
}

fn train(config: &MixerRunConfig, sim: &SimConfig) -> TrainedMixer {
    train_mixer(config, sim).expect("training runs")
}

#[test]
fn same_seed_same_weights_and_actions() {
    let out = tempfile::tempdir().unwrap();
    let (a_cfg, sim) = tiny(out.path(), "a", 256, &[]);
    let (b_cfg, _) = tiny(out.path(), "b", 256, &[]);
    let (c_cfg, _) = tiny(out.path(), "c", 256, &["dqn.seed=7"]);
    let (a, b, c) = (
        train(&a_cfg, &sim),
        train(&b_cfg, &sim),
        train(&c_cfg, &sim),
    );
    assert!(a.summary.updates > 0);
    // Q-values along the same sessions stand for the weights (the weight
    // files' headers are not byte-stable), bit for bit.
    let range = SessionRange::new(77, 0, 64);
    let trace = |t: &TrainedMixer| record(&sim, t.policy("p"), range);
    let (ta, tb, tc) = (trace(&a), trace(&b), trace(&c));
    assert_eq!(ta.q, tb.q, "same seed, different Q-values");
    assert_eq!(ta.views, tb.views, "same seed, different sessions");
    assert_ne!(ta.q, tc.q, "the seed does not reach the weights");
    assert_eq!(
        actions(&sim, &mut a.policy("a"), range),
        actions(&sim, &mut b.policy("b"), range)
    );
}

#[test]
fn exported_policy_acts_the_same_on_flex_ndarray_and_wgpu_and_through_the_serving_api() {
    let out = tempfile::tempdir().unwrap();
    let (config, sim) = tiny(out.path(), "xb", 192, &[]);
    let trained = train(&config, &sim);
    let dir = &trained.summary.artifact;
    let range = SessionRange::new(78, 0, 100);
    let load = |device| MixerPolicy::load(dir, device).expect("artifact loads");
    let k = sim.num_types();
    let flex = record(&sim, load(DeviceChoice::Flex).into_policy(), range);
    let trained_q = replay(&mut trained.policy("trained"), &flex.views);
    assert_eq!(
        trained_q,
        flex.q.concat(),
        "the artifact is not the trained net"
    );
    let flex_q = flex.q.concat();
    let ndarray_q = replay(&mut load(DeviceChoice::Ndarray).into_policy(), &flex.views);
    let (diff, same, clear) = compare(&flex_q, &ndarray_q, k, 0.0);
    assert!(
        diff <= 1e-5 && same,
        "flex vs ndarray: max diff {diff}, same picks {same}"
    );
    assert_eq!(clear, 1.0);
    assert_eq!(
        actions(&sim, &mut load(DeviceChoice::Flex).into_policy(), range),
        actions(&sim, &mut load(DeviceChoice::Ndarray).into_policy(), range)
    );
    // wgpu on whatever adapter there is (lavapipe in CI): a few sessions.
    // Its kernels round differently, so only decisions with a clear margin
    // must agree; nearly all of them have one.
    let small = SessionRange::new(78, 0, 8);
    let flex_small = record(&sim, load(DeviceChoice::Flex).into_policy(), small);
    let wgpu_q = replay(
        &mut load(DeviceChoice::Wgpu).into_policy(),
        &flex_small.views,
    );
    let (diff, same, clear) = compare(&flex_small.q.concat(), &wgpu_q, k, 1e-3);
    eprintln!("flex vs wgpu: max diff {diff}, clear-margin share {clear:.3}");
    assert!(
        diff <= 1e-4 && same,
        "flex vs wgpu: max diff {diff}, same picks {same}"
    );
    assert!(clear > 0.9, "too many near-ties to compare: {clear}");

    // The serving API replays a session state from its log and must pick
    // what the batched policy picked at every slot.
    let mut serving = load(DeviceChoice::Flex);
    let mut state = SessionState::default();
    let mut checked = 0;
    run_sessions(
        &sim,
        SessionRange::new(78, 0, 1),
        &mut load(DeviceChoice::Flex).into_policy(),
        |_, view, action, outcome| {
            state.candidates_pctr = view.pctr.clone();
            assert_eq!(
                serving.act(&state).unwrap(),
                action,
                "slot {}",
                view.position
            );
            state.served.push(ServedSlot {
                pctr: view.pctr.clone(),
                feedback: outcome.feedback,
            });
            checked += 1;
        },
    );
    assert!(checked > 0);
    state.candidates_pctr = vec![0.1];
    let err = serving.act(&state).unwrap_err().to_string();
    assert!(err.contains("pCTR"), "{err}");
}

#[test]
fn a_short_run_already_beats_greedy_pctr() {
    let out = tempfile::tempdir().unwrap();
    let (config, sim) = tiny(
        out.path(),
        "learn",
        2560,
        &[
            "dqn.parallel_sessions=64",
            "dqn.batch_size=32",
            "dqn.updates_per_round=4",
            "dqn.validate_every=10",
            "dqn.validation_sessions=300",
            "model.gru_hidden=16",
            "model.head_hidden=[32]",
        ],
    );
    let trained = train(&config, &sim);
    let range = SessionRange::new(79, 0, 1000);
    let dqn = mean_clicks(&evaluate_policy(
        &sim,
        range,
        500,
        &mut trained.policy("dqn"),
    ));
    let greedy = mean_clicks(&evaluate_policy(&sim, range, 500, &mut GreedyPctr));
    eprintln!("dqn {dqn:.3} vs greedy pCTR {greedy:.3}");
    assert!(
        dqn > 1.2 * greedy,
        "dqn {dqn:.3} vs greedy pCTR {greedy:.3}"
    );
}

#[test]
fn bad_mixer_configs_fail_with_the_key_named() {
    let out = tempfile::tempdir().unwrap();
    let err = |set: &str| {
        let overrides = vec![
            format!("output_dir=\"{}\"", out.path().display()),
            set.to_string(),
        ];
        format!(
            "{:#}",
            MixerRunConfig::load(Path::new(CONFIG), &overrides).unwrap_err()
        )
    };
    assert!(err("dqn.gamma=1.5").contains("dqn.gamma"));
    assert!(err("dqn.batch_size=0").contains("dqn.batch_size"));
    assert!(err("reward.exit=nan").contains("reward.exit"));
    assert!(err("model.gru_hidden=0").contains("gru_hidden"));
    assert!(err("dqn.session_stream=1000003").contains("reserved"));
    assert!(err("simulator=\"nope.toml\"").contains("nope.toml"));
    assert!(err("dqn.nonsense=1").contains("nonsense"));
}

#[test]
fn cli_trains_evaluates_and_acts() {
    let out = tempfile::tempdir().unwrap();
    let ember = || std::process::Command::new(env!("CARGO_BIN_EXE_ember"));
    let status = ember()
        .args(["mixer", "train", "--config", "configs/mixer/dqn_last.toml"])
        .args([
            "--set",
            "dqn.episodes=128",
            "--set",
            "dqn.warmup_episodes=32",
        ])
        .args([
            "--set",
            "dqn.validation_sessions=32",
            "--set",
            "name=\"cli\"",
        ])
        .arg("--set")
        .arg(format!("output_dir=\"{}\"", out.path().display()))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success());
    let artifact = out.path().join("cli/artifact");
    let report = out.path().join("report");
    let output = ember()
        .args([
            "mixer",
            "eval",
            "--sessions",
            "200",
            "--tuning-sessions",
            "50",
        ])
        .arg("--model")
        .arg(&artifact)
        .arg("--out")
        .arg(&report)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8_lossy(&output.stdout);
    for row in ["random", "greedy pCTR", "best fixed mix", "DQN (no GRU)"] {
        assert!(table.contains(row), "{row} missing from\n{table}");
    }
    assert!(report.join("clicks_vs_share.svg").exists());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["policies"].as_array().unwrap().len(), 5);

    let state = out.path().join("state.json");
    std::fs::write(
        &state,
        r#"{"served": [], "candidates_pctr": [0.1, 0.05, 0.08, 0.3]}"#,
    )
    .unwrap();
    let output = ember()
        .args(["mixer", "act", "--model"])
        .arg(&artifact)
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert!(output.status.success());
    let pick = String::from_utf8_lossy(&output.stdout);
    let sim = SimConfig::default_feed();
    assert!(
        sim.type_names()
            .iter()
            .any(|n| pick.starts_with(n.as_str())),
        "{pick}"
    );
}
