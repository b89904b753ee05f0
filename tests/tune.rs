//! `ember tune` end to end on generated data: successive halving keeps the
//! best third, the base config is trial 0, the reports and the best config
//! are written, a finished search resumes without training, and another
//! search refuses the same directory.

use ember_train::RunConfig;
use ember_train::tune::{SearchSpace, TuneOptions, tune};

const CONFIG: &str = r#"
name = "tune-test"
device = "flex"
[data]
source = "synthetic-ctr"
rows = [3000, 1000, 1000]
seed = 3
[model]
kind = "deepfm"
embedding_dim = 4
hidden = [16]
[train]
epochs = 100
batch_size = 512
patience = 100
"#;

const SPACE: &str = r#"
[params]
"train.lr" = { log_uniform = [1e-4, 1e-2] }
"model.kind" = { values = ["deepfm", "dcn_v2", "fm"] }
"model.dropout" = { uniform = [0.0, 0.3] }
[halving]
min_epochs = 1
eta = 3
max_epochs = 3
"#;

#[test]
fn successive_halving_promotes_the_best_third_and_writes_the_winner() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("base.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let options = TuneOptions {
        config: config.clone(),
        overrides: Vec::new(),
        device: None,
        space: SearchSpace::parse(SPACE, "test").unwrap(),
        trials: 6,
        seed: 5,
        out: dir.path().join("tune"),
        resume: false,
    };
    let result = tune(&options).unwrap();
    let state = &result.state;
    assert!(
        state.trials[0].settings.is_empty(),
        "trial 0 is the config as given"
    );
    assert_eq!(
        state.rungs,
        vec![(0..6).collect::<Vec<_>>(), state.rungs[1].clone()]
    );
    assert_eq!(state.rungs[1].len(), 2, "a third of 6 go on");
    // The promoted are the rung-0 leaders.
    let rung0 = |id: usize| state.trials[id].rungs[0].valid.auc.unwrap();
    let worst_promoted = state.rungs[1]
        .iter()
        .map(|&i| rung0(i))
        .fold(f64::MAX, f64::min);
    let best_dropped = (0..6)
        .filter(|i| !state.rungs[1].contains(i))
        .map(rung0)
        .fold(f64::MIN, f64::max);
    assert!(worst_promoted >= best_dropped);
    // Promoted trials resumed to 3 epochs; the others stopped at 1.
    for t in &state.trials {
        let epochs = t.rungs.last().unwrap().epochs_run;
        assert_eq!(epochs, if state.rungs[1].contains(&t.id) { 3 } else { 1 });
    }
    assert!(state.rungs[1].contains(&result.best));
    for file in ["leaderboard.md", "leaderboard.json", "tune.json"] {
        assert!(options.out.join(file).is_file(), "{file}");
    }
    let board = std::fs::read_to_string(options.out.join("leaderboard.md")).unwrap();
    assert!(board.contains("test AUC"), "{board}");
    // The best config loads and names the winner's settings.
    let best = RunConfig::load(&result.best_config, &[]).unwrap();
    assert_eq!(best.train.epochs, 3);
    for setting in &state.trials[result.best].settings {
        let text = std::fs::read_to_string(&result.best_config).unwrap();
        let key = setting
            .split('=')
            .next()
            .unwrap()
            .rsplit('.')
            .next()
            .unwrap();
        assert!(text.contains(key), "{setting} missing from best.toml");
    }

    // A finished search resumes to the same result without training.
    let again = tune(&TuneOptions {
        resume: true,
        ..options.clone()
    })
    .unwrap();
    assert_eq!(again.state, result.state);
    // Without --resume, or with another seed, the directory is refused.
    assert!(tune(&options).is_err());
    assert!(
        tune(&TuneOptions {
            resume: true,
            seed: 6,
            ..options.clone()
        })
        .is_err()
    );
}
