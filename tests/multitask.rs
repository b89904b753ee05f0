//! Multi-task models end to end: the Ali-CCP and Census-Income CSV layouts,
//! ESMM against a clicked-only CVR model on data with known CVR, GradNorm
//! and PCGrad runs, resuming, artifacts, presets and the CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use ember_datasets::registry::{DataConfig, load, shared_data_dir};
use ember_datasets::sources::{ClickConversion, Csv, Ml100kCtr, MmoeSynthetic};
use ember_datasets::synthetic::click_conversion;
use ember_models::artifact::{Family, MultiTaskArtifact};
use ember_models::device::DeviceChoice;
use ember_models::metrics::rmse;
use ember_models::multitask::TaskSpec;
use ember_models::{MultiTaskConfig, MultiTaskKind};
use ember_train::config::{Monitor, TrainConfig};
use ember_train::multitask::config::MultiTaskSections;
use ember_train::multitask::{
    BalanceConfig, MultiTaskFamily, MultiTaskRun, MultiTaskRunConfig, MultiTaskSummary, fit,
};
use ember_train::run_config::RunCommon;
use ember_train::{AnyRunConfig, FitOptions};

fn config(
    name: &str,
    data: DataConfig,
    tasks: Vec<TaskSpec>,
    model: MultiTaskConfig,
    epochs: usize,
    out: &Path,
) -> MultiTaskRunConfig {
    MultiTaskRunConfig {
        common: RunCommon {
            name: name.into(),
            device: DeviceChoice::Flex,
            output_dir: out.to_owned(),
        },
        family: MultiTaskSections {
            family: MultiTaskFamily::Multitask,
            data,
            tasks,
            model,
            train: TrainConfig {
                epochs,
                batch_size: 256,
                lr: 3e-3,
                patience: 100,
                ..Default::default()
            },
            balance: BalanceConfig::Fixed,
            fusion: None,
        },
    }
}

fn train(config: &MultiTaskRunConfig) -> MultiTaskRun {
    let data = load(&config.data).expect("data loads");
    fit(config, &data, &FitOptions::default()).expect("training runs")
}

fn small_model(kind: MultiTaskKind) -> MultiTaskConfig {
    MultiTaskConfig {
        kind,
        embedding_dim: 4,
        bottom: vec![16],
        experts: 3,
        expert_hidden: vec![8],
        task_experts: 1,
        shared_experts: 1,
        levels: 2,
        tower: vec![8],
        ..Default::default()
    }
}

#[test]
fn ali_ccp_and_census_samples_train_through_their_csv_schemas() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let rechub = root.join("samples/torch-rechub");
    let schemas = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/schemas");
    let out = tempfile::tempdir().unwrap();
    let ali = DataConfig::Csv(Csv {
        train: rechub.join("ali_ccp_train_sample.csv"),
        valid: Some(rechub.join("ali_ccp_val_sample.csv")),
        test: rechub.join("ali_ccp_test_sample.csv"),
        schema: schemas.join("ali_ccp.toml"),
    });
    let esmm_tasks = vec![
        TaskSpec::binary("ctr").with_label("click"),
        TaskSpec::binary("ctcvr")
            .with_label("purchase")
            .after("ctr"),
    ];
    let mut c = config(
        "ali-esmm",
        ali,
        esmm_tasks,
        small_model(MultiTaskKind::Esmm),
        2,
        out.path(),
    );
    c.train.batch_size = 32;
    c.train.monitor = Monitor::Logloss;
    let run = train(&c);
    assert_eq!(run.summary.tasks, vec!["ctr", "ctcvr"]);
    assert_eq!(run.summary.test.tasks[0].rows, 50);
    assert!(run.summary.test.tasks.iter().all(|t| t.loss().is_finite()));
    // pCTCVR ≤ pCTR row by row: the product rule holds on real rows.
    let p = &run.test_predictions.predictions;
    assert!(p[1].iter().zip(&p[0]).all(|(ctcvr, ctr)| ctcvr <= ctr));

    // The artifact loads back and scores as the trained model did.
    let loaded =
        MultiTaskArtifact::load(&run.summary.artifact, &burn::prelude::Device::flex()).unwrap();
    assert_eq!(loaded.artifact.family(), Family::Multitask);
    let model = loaded.model;
    let data = load(&c.data).unwrap();
    let again = model.predict(&data.test, 64, &burn::prelude::Device::flex());
    for (a, b) in again.predictions[1].iter().zip(&p[1]) {
        assert!((a - b).abs() < 1e-6);
    }

    let census = DataConfig::Csv(Csv {
        train: rechub.join("census_income_train_sample.csv"),
        valid: None,
        test: rechub.join("census_income_test_sample.csv"),
        schema: schemas.join("census_income.toml"),
    });
    let tasks = vec![
        TaskSpec::binary("income"),
        TaskSpec::binary("marital status"),
    ];
    for kind in [
        MultiTaskKind::SharedBottom,
        MultiTaskKind::Mmoe,
        MultiTaskKind::Cgc,
        MultiTaskKind::Ple,
    ] {
        let mut c = config(
            &format!("census-{}", kind.name()),
            census.clone(),
            tasks.clone(),
            small_model(kind),
            2,
            out.path(),
        );
        c.train.batch_size = 16;
        c.train.monitor = Monitor::Logloss;
        let run = train(&c);
        assert_eq!(run.summary.epochs_run, 2, "{}", kind.name());
        assert_eq!(run.summary.test.tasks.len(), 2);
        assert!(
            run.summary
                .test
                .tasks
                .iter()
                .all(|t| t.rows == 20 && t.loss().is_finite())
        );
        assert!(run.summary.artifact.join("manifest.json").exists());
    }
}

/// ESMM's pCVR, learned over all impressions, is closer to the true CVR
/// over the entire space than a CVR model fitted on clicked impressions.
#[test]
fn esmm_beats_a_clicked_only_cvr_model_on_the_entire_space() {
    let out = tempfile::tempdir().unwrap();
    let (rows, seed) = ([60_000, 10_000, 20_000], 5);
    let data = DataConfig::ClickConversion(ClickConversion { rows, seed });
    let model = |kind| MultiTaskConfig {
        kind,
        embedding_dim: 8,
        init_std: 0.05,
        bottom: Vec::new(),
        tower: vec![32],
        ..Default::default()
    };
    let mut esmm = config(
        "esmm",
        data.clone(),
        vec![
            TaskSpec::binary("ctr").with_label("click"),
            TaskSpec::binary("ctcvr")
                .with_label("purchase")
                .after("ctr"),
        ],
        model(MultiTaskKind::Esmm),
        6,
        out.path(),
    );
    esmm.train.batch_size = 1024;
    esmm.train.patience = 2;
    let mut naive = config(
        "cvr-on-clicks",
        data,
        vec![
            TaskSpec::binary("cvr")
                .with_label("purchase")
                .observed_if("click"),
        ],
        model(MultiTaskKind::SharedBottom),
        6,
        out.path(),
    );
    naive.train = esmm.train.clone();
    let truth = click_conversion::generate(rows, seed).test.true_cvr;
    let esmm_run = train(&esmm);
    let naive_run = train(&naive);
    let esmm_err = rmse(&esmm_run.test_predictions.conditionals[1], &truth);
    let naive_err = rmse(&naive_run.test_predictions.predictions[0], &truth);
    eprintln!("CVR RMSE over all impressions: ESMM {esmm_err:.4}, clicked-only {naive_err:.4}");
    assert!(
        esmm_err < naive_err,
        "ESMM {esmm_err} vs clicked-only {naive_err}"
    );
    // The clicked-only model's validation rows are the clicked ones.
    assert!(naive_run.summary.valid.tasks[0].rows < 10_000 / 4);
}

#[test]
fn gradnorm_moves_the_weights_and_pcgrad_trains() {
    let out = tempfile::tempdir().unwrap();
    let data = DataConfig::ClickConversion(ClickConversion {
        rows: [20_000, 4_000, 4_000],
        seed: 2,
    });
    let tasks = vec![TaskSpec::binary("click"), TaskSpec::binary("purchase")];
    let mut runs = Vec::new();
    for balance in [
        BalanceConfig::Fixed,
        BalanceConfig::GradNorm {
            alpha: 1.5,
            lr: 0.05,
        },
        BalanceConfig::PcGrad,
    ] {
        let mut c = config(
            balance.name(),
            data.clone(),
            tasks.clone(),
            small_model(MultiTaskKind::SharedBottom),
            2,
            out.path(),
        );
        c.train.batch_size = 512;
        c.train.epochs = 4;
        c.balance = balance;
        runs.push(train(&c).summary);
    }
    let (fixed, gradnorm, pcgrad) = (&runs[0], &runs[1], &runs[2]);
    let w = &gradnorm.final_weights;
    assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-9, "{w:?}");
    assert!(
        (w[0] - 1.0).abs() > 1e-3,
        "GradNorm left the weights at 1: {w:?}"
    );
    assert_eq!(pcgrad.final_weights, vec![1.0, 1.0]);
    let auc = |run: &MultiTaskSummary, t: usize| run.test.tasks[t].auc.unwrap();
    for run in &runs {
        eprintln!(
            "{}: weights {:?} test {:?}",
            run.balance, run.final_weights, run.test.tasks
        );
    }
    // Both tasks learn something under fixed weights, and neither balancer
    // costs more than a little of the fixed-weight AUC on either task.
    assert!(
        auc(fixed, 0) > 0.55 && auc(fixed, 1) > 0.55,
        "{:?}",
        fixed.test.tasks
    );
    for run in [gradnorm, pcgrad] {
        for t in 0..2 {
            assert!(
                auc(run, t) > auc(fixed, t) - 0.02,
                "{} task {t}: AUC {} vs fixed {}",
                run.balance,
                auc(run, t),
                auc(fixed, t)
            );
        }
    }
}

#[test]
fn mmoe_fits_the_synthetic_regression_tasks_and_resumes_exactly() {
    let out = tempfile::tempdir().unwrap();
    let data = DataConfig::MmoeSynthetic(MmoeSynthetic {
        correlation: 0.5,
        alpha_scale: 1.0,
        rows: [3000, 500, 500],
        seed: 1,
    });
    let tasks = vec![TaskSpec::regression("y1"), TaskSpec::regression("y2")];
    let mut model = small_model(MultiTaskKind::Mmoe);
    model.embedding_dim = 16;
    model.expert_hidden = vec![16];
    // 8 epochs: after 3 the fit sat at 0.90-0.93 of the label variance,
    // so the bound below decided on the initial weights, not on learning.
    let mut a = config(
        "a",
        data.clone(),
        tasks.clone(),
        model.clone(),
        20,
        out.path(),
    );
    a.train.monitor = Monitor::Logloss;
    let mut b = a.clone();
    b.common.name = "b".into();
    let loaded = load(&a.data).unwrap();
    let straight = fit(&a, &loaded, &FitOptions::default()).unwrap().summary;
    // Labels have variance ≈ 6.9: w·x ~ N(0, 1) carries 1 of it, ten sines
    // of w·x the rest. Predicting the mean scores `var`; a model that found
    // the direction w scores about `var − 1` within a few epochs (the sines
    // take far longer), so it must take off at least half of that.
    let var = {
        let y = loaded.test.task_labels(0);
        let m = y.iter().sum::<f32>() / y.len() as f32;
        y.iter().map(|v| (v - m).powi(2)).sum::<f32>() as f64 / y.len() as f64
    };
    let mse = straight.test.tasks[0].mse.unwrap();
    assert!(mse < var - 0.5, "test MSE {mse} vs label variance {var}");

    let first = fit(
        &b,
        &loaded,
        &FitOptions {
            resume: false,
            max_epochs_this_call: Some(1),
        },
    )
    .unwrap()
    .summary;
    assert!(!first.finished);
    let resumed = fit(
        &b,
        &loaded,
        &FitOptions {
            resume: true,
            max_epochs_this_call: None,
        },
    )
    .unwrap()
    .summary;
    assert_eq!(resumed.epochs_run, 20);
    let (x, y) = (
        straight.test.tasks[1].mse.unwrap(),
        resumed.test.tasks[1].mse.unwrap(),
    );
    assert!((x - y).abs() < 1e-6, "uninterrupted {x} vs resumed {y}");
}

#[test]
fn every_preset_parses_as_a_run_config() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut multitask = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        // schemas/ holds CSV schemas, data/ shared [data] tables, mixer/ the
        // RL mixer's own configs and serving/ pipelines (tests/serving.rs
        // parses those); online/ holds `ember online` configs.
        if dir.ends_with("online") {
            for file in std::fs::read_dir(&dir).unwrap() {
                let path = file.unwrap().path();
                ember_train::online::OnlineRunConfig::load(&path, &[]).unwrap();
                let err = AnyRunConfig::load(&path, &[]).err().unwrap();
                assert!(format!("{err:#}").contains("ember online"), "{err:#}");
            }
            continue;
        }
        if dir.ends_with("tune") {
            // Search spaces of `ember tune`, not run configs.
            for file in std::fs::read_dir(&dir).unwrap() {
                let path = file.unwrap().path();
                ember_train::tune::SearchSpace::load(&path).unwrap();
            }
            continue;
        }
        if !dir.is_dir()
            || dir.ends_with("schemas")
            || dir.ends_with("data")
            || dir.ends_with("mixer")
            || dir.ends_with("serving")
        {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            match AnyRunConfig::load(&path, &[]) {
                Ok(AnyRunConfig::MultiTask(_)) => multitask += 1,
                Ok(AnyRunConfig::Ranking(_) | AnyRunConfig::Retrieval(_)) => {}
                Err(e) => panic!("{e:#}"),
            }
        }
    }
    assert!(multitask >= 10, "{multitask} multi-task presets");
}

#[test]
fn cli_trains_a_multitask_preset_and_explains_a_bad_task_graph() {
    let out = tempfile::tempdir().unwrap();
    let ember = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ember"));
        c.current_dir(env!("CARGO_MANIFEST_DIR"));
        c
    };
    let base = [
        "train",
        "--config",
        "configs/mmoe-synthetic/cgc.toml",
        "--device",
        "cpu",
        "--set",
        "train.epochs=1",
        "--set",
        "data.rows=[400, 100, 100]",
    ];
    let status = ember()
        .args(base)
        .arg("--set")
        .arg(format!("output_dir=\"{}\"", out.path().display()))
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        stdout.contains("y1 MSE") && stdout.contains("y2 MSE"),
        "{stdout}"
    );
    let artifact = out.path().join("mmoe-synthetic-cgc/artifact");
    assert!(artifact.join("manifest.json").exists());
    let eval = ember()
        .args(["eval", "--device", "cpu", "--model"])
        .arg(&artifact)
        .output()
        .unwrap();
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    assert!(String::from_utf8_lossy(&eval.stdout).contains("y2 MSE"));

    // A progressive task on a regression parent is refused, with the reason.
    let bad = ember()
        .args(base)
        .args([
            "--set",
            "tasks=[{name=\"y1\", kind=\"regression\"}, {name=\"y2\", after=\"y1\"}]",
        ])
        .arg("--set")
        .arg(format!("output_dir=\"{}\"", out.path().display()))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("both must be binary"), "{err}");
}

/// A multi-task artifact as a serving stage: its task probabilities fused
/// by the weights the pipeline file gives (`Σ w_i p_i` or `Π p_i^{w_i}`),
/// and a weight count that does not match the tasks is refused.
#[test]
fn a_multitask_artifact_scores_serving_rows_with_fusion_weights() {
    use ember_datasets::readers::RatingLabel;
    use ember_infer::features::{Catalog, PairEncoder};
    use ember_infer::pipeline::ScoringModel;
    use ember_models::multitask::fusion::FusionForm;

    let Some(root) = shared_data_dir() else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let data = DataConfig::Ml100kCtr(Ml100kCtr {
        root: root.clone(),
        labels: vec![RatingLabel::AtLeast4, RatingLabel::Equals5],
        id_min_count: 1,
        ..Default::default()
    });
    let tasks = vec![TaskSpec::binary("like"), TaskSpec::binary("love")];
    let mut c = config(
        "mtl-fine",
        data,
        tasks,
        small_model(MultiTaskKind::Mmoe),
        1,
        out.path(),
    );
    c.train.batch_size = 2048;
    let artifact = train(&c).summary.artifact;

    let load = |weights: &[f64], form| {
        ScoringModel::load(&artifact, DeviceChoice::Flex, Some(weights), form)
    };
    let (like, pre) = load(&[1.0, 0.0], FusionForm::Sum).unwrap();
    let (love, _) = load(&[0.0, 1.0], FusionForm::Sum).unwrap();
    let (mean, _) = load(&[0.5, 0.5], FusionForm::Sum).unwrap();
    let (product, _) = load(&[1.0, 1.0], FusionForm::Product).unwrap();
    let catalog = Catalog::load(
        &ember_datasets::sources::Ml100kRetrieval {
            root,
            history_len: 50,
        }
        .into(),
        50,
    )
    .unwrap();
    let encoder = PairEncoder::new(&pre, &catalog, None, None).unwrap();
    let mut rows = encoder.start(30);
    let items: Vec<u32> = (0..30).collect();
    let user = catalog.user_row("1").unwrap();
    encoder
        .push_pairs(&catalog, user, &items, None, 0, &mut rows)
        .unwrap();
    let (p_like, p_love) = (like.score(&rows), love.score(&rows));
    let (p_mean, p_product) = (mean.score(&rows), product.score(&rows));
    assert_eq!(p_like.len(), 30);
    assert_ne!(p_like, p_love, "the two tasks predict the same");
    for i in 0..30 {
        assert!((p_mean[i] - 0.5 * (p_like[i] + p_love[i])).abs() < 1e-5);
        // The product form scores by its logarithm (same order, no underflow).
        let log_product = p_like[i].ln() + p_love[i].ln();
        assert!(
            (p_product[i] - log_product).abs() < 1e-4,
            "{} vs {log_product}",
            p_product[i]
        );
        assert!(p_like[i] > 0.0 && p_like[i] < 1.0);
    }
    let Err(wrong) = load(&[1.0], FusionForm::Sum) else {
        panic!("one fusion weight for two tasks was accepted");
    };
    assert!(wrong.to_string().contains("1 fusion weights"), "{wrong}");
    assert!(
        ScoringModel::load(&artifact, DeviceChoice::Flex, None, FusionForm::Sum).is_err(),
        "a multi-task stage without fusion weights"
    );
}
