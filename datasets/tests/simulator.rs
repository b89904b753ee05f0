//! The feed simulator has the dynamics the mixer is meant to exploit.

use ember_datasets::simulator::{
    FixedMix, GreedyPctr, RandomPolicy, SessionRange, SessionResult, ShareCappedGreedy, SimConfig,
    evaluate_policy, mean_clicks, share_of,
};

fn config() -> SimConfig {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../configs/mixer/simulator.toml"
    );
    SimConfig::load(std::path::Path::new(path)).expect("the shipped simulator config loads")
}

/// Standard error of the mean clicks.
fn std_err(results: &[SessionResult]) -> f64 {
    let m = mean_clicks(results);
    let n = results.len() as f64;
    let var = results
        .iter()
        .map(|r| (r.clicks as f64 - m).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    (var / n).sqrt()
}

#[test]
fn the_shipped_config_matches_the_built_in_default() {
    assert_eq!(config(), SimConfig::default_feed());
    assert!(config().num_types() >= 4);
}

#[test]
fn clicks_rise_then_fall_with_the_share_of_the_high_ctr_type() {
    let sim = config();
    let high = sim.high_ctr_type();
    let range = SessionRange::new(11, 0, 2000);
    let curve: Vec<(f64, f64, f64)> = (0..=10)
        .map(|i| {
            let share = i as f64 / 10.0;
            let r = evaluate_policy(&sim, range, 500, &mut ShareCappedGreedy { high, share });
            (share, mean_clicks(&r), std_err(&r))
        })
        .collect();
    eprintln!("share, clicks, se: {curve:.3?}");
    let peak = curve
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
        .map(|(i, _)| i)
        .unwrap();
    assert!(
        peak > 0 && peak < curve.len() - 1,
        "no interior peak: {curve:?}"
    );
    // Rising then falling by clearly more than the noise on each side.
    let (_, top, top_se) = curve[peak];
    for end in [curve[0], curve[curve.len() - 1]] {
        assert!(
            top - end.1 > 4.0 * (top_se + end.2),
            "peak {top:.3} vs end {end:?}"
        );
    }
    // Plain greedy pCTR sits past the peak: it over-serves the high-CTR type.
    let greedy = evaluate_policy(&sim, range, 500, &mut GreedyPctr);
    let greedy_share = share_of(&greedy, high);
    assert!(
        greedy_share > curve[peak].0 + 0.2,
        "greedy share {greedy_share}"
    );
    assert!(mean_clicks(&greedy) < top - 4.0 * (top_se + std_err(&greedy)));
}

#[test]
fn policies_see_the_same_sessions_and_fixed_mixes_respect_their_shares() {
    let sim = config();
    let range = SessionRange::new(12, 0, 300);
    let a = evaluate_policy(&sim, range, 100, &mut RandomPolicy::new(1));
    let a_again = evaluate_policy(&sim, range, 100, &mut RandomPolicy::new(1));
    assert_eq!(a, a_again);
    assert_ne!(
        a,
        evaluate_policy(&sim, range, 100, &mut RandomPolicy::new(2))
    );
    // A deterministic policy gets the same sessions whatever the batching.
    let g100 = evaluate_policy(&sim, range, 100, &mut GreedyPctr);
    let g64 = evaluate_policy(&sim, range, 64, &mut GreedyPctr);
    assert_eq!(g100, g64);
    let mix = [0.4, 0.1, 0.1, 0.4];
    let r = evaluate_policy(&sim, range, 100, &mut FixedMix::new(&mix, sim.max_slots));
    for (k, &want) in mix.iter().enumerate() {
        assert!((share_of(&r, k) - want).abs() < 0.06, "type {k}");
    }
}

#[test]
fn a_bad_simulator_file_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.toml");
    let text =
        ember_datasets::simulator::config::DEFAULT_TOML.replace("decay = 0.75", "decay = 1.5");
    std::fs::write(&path, text).unwrap();
    let err = SimConfig::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("fatigue.decay") && err.contains("sim.toml"),
        "{err}"
    );
    let err = SimConfig::load(&dir.path().join("missing.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing.toml"), "{err}");
}
