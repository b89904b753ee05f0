//! Weights trained on one backend give the same scores on every other.

mod common;

use ember_infer::Predictor;
use ember_models::ModelKind;
use ember_models::device::{DeviceChoice, hardware_gpu_adapters};

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn flex_trained_deepfm_scores_the_same_on_ndarray_and_wgpu() {
    let out = tempfile::tempdir().unwrap();
    let config = common::run_config(
        "xb",
        ModelKind::DeepFm,
        common::small_synthetic(),
        2,
        out.path(),
    );
    let (data, summary) = common::train(&config);
    let reference = Predictor::load(&summary.artifact, DeviceChoice::Flex)
        .unwrap()
        .score(&data.test);
    assert!(reference.iter().all(|p| (0.0..=1.0).contains(p)));

    let ndarray = Predictor::load(&summary.artifact, DeviceChoice::Ndarray)
        .unwrap()
        .score(&data.test);
    let diff = max_abs_diff(&reference, &ndarray);
    assert!(diff <= 1e-5, "flex vs ndarray: max abs diff {diff}");

    // wgpu runs on any adapter, lavapipe (software Vulkan) in CI.
    let wgpu = Predictor::load(&summary.artifact, DeviceChoice::Wgpu)
        .unwrap()
        .score(&data.test);
    let diff = max_abs_diff(&reference, &wgpu);
    assert!(diff <= 1e-5, "flex vs wgpu: max abs diff {diff}");
    eprintln!("hardware GPUs visible: {}", hardware_gpu_adapters().len());
}

#[test]
fn ndarray_trained_kfm_loads_on_flex() {
    let out = tempfile::tempdir().unwrap();
    let mut config = common::run_config(
        "nd",
        ModelKind::Kfm,
        common::small_synthetic(),
        1,
        out.path(),
    );
    config.common.device = DeviceChoice::Ndarray;
    // Mixed embedding sizes: 6 categorical fields of 4 or 8, 2 numeric of 8.
    config.model.field_dims = vec![4, 8, 4, 8, 4, 8, 8, 8];
    let (data, summary) = common::train(&config);
    let a = Predictor::load(&summary.artifact, DeviceChoice::Ndarray)
        .unwrap()
        .score(&data.test);
    let b = Predictor::load(&summary.artifact, DeviceChoice::Flex)
        .unwrap()
        .score(&data.test);
    let diff = max_abs_diff(&a, &b);
    assert!(diff <= 1e-5, "ndarray vs flex: max abs diff {diff}");
}

/// The interaction layers of the newer models (cross network, CIN,
/// field attention, SENET + bilinear, the field-wise wide layer) score the
/// same on every backend.
#[test]
fn interaction_models_score_the_same_on_ndarray_and_wgpu() {
    let out = tempfile::tempdir().unwrap();
    for kind in [
        ModelKind::DcnV2,
        ModelKind::XDeepFm,
        ModelKind::AutoInt,
        ModelKind::FiBiNet,
        ModelKind::DeepFmHadamard,
    ] {
        let mut config =
            common::run_config(kind.name(), kind, common::small_synthetic(), 1, out.path());
        config.model.hidden = vec![16];
        config.model.cin_layers = vec![8, 8];
        config.model.attention_dim = 4;
        config.model.batch_norm = true;
        let (data, summary) = common::train(&config);
        let reference = Predictor::load(&summary.artifact, DeviceChoice::Flex)
            .unwrap()
            .score(&data.test);
        for device in [DeviceChoice::Ndarray, DeviceChoice::Wgpu] {
            let other = Predictor::load(&summary.artifact, device)
                .unwrap()
                .score(&data.test);
            let diff = max_abs_diff(&reference, &other);
            assert!(
                diff <= 1e-5,
                "{}: flex vs {device:?}: max abs diff {diff}",
                kind.name()
            );
        }
    }
}
