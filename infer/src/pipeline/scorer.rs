//! A ranking stage's model: a single-task ranking artifact, or a
//! multi-task one whose task predictions are fused into one score
//! (`Σ w_i p_i` or `Π p_i^{w_i}`, the weights chosen offline by the
//! multi-task run's fusion grid search).

use std::path::Path;

use anyhow::{Result, bail};
use burn::prelude::*;
use ember_datasets::{EncodedData, Preprocessor};
use ember_models::MultiTaskModel;
use ember_models::artifact::{Family, Manifest, MultiTaskArtifact};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::multitask::fusion::{FusionForm, fuse};

use crate::Predictor;

/// A loaded model that maps encoded rows to one score each.
pub enum ScoringModel {
    Ranking(Box<Predictor>),
    MultiTask {
        model: Box<MultiTaskModel>,
        device: Device,
        weights: Vec<f64>,
        form: FusionForm,
    },
}

impl std::fmt::Debug for ScoringModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScoringModel::Ranking(p) => write!(f, "Ranking({})", p.dir.display()),
            ScoringModel::MultiTask { weights, form, .. } => {
                write!(f, "MultiTask({weights:?}, {form:?})")
            }
        }
    }
}

impl ScoringModel {
    /// Loads `dir` (ranking or multi-task, by its manifest) and its
    /// preprocessor. A multi-task model needs one fusion weight per task.
    pub fn load(
        dir: &Path,
        device: DeviceChoice,
        fusion: Option<&[f64]>,
        form: FusionForm,
    ) -> Result<(Self, Preprocessor)> {
        let manifest = Manifest::read(dir)?;
        let no_preprocessor = || {
            anyhow::anyhow!(
                "{}: trained on generated data (no preprocessor): the serving path needs a model trained on files",
                dir.display()
            )
        };
        if manifest.family == Family::Multitask {
            let (device, _) = select_device(device);
            let loaded = MultiTaskArtifact::load(dir, &device)?;
            let pre = loaded.preprocessor.ok_or_else(no_preprocessor)?;
            let model = loaded.model;
            let tasks = model.graph.len();
            let weights = match fusion {
                Some(w) if w.len() == tasks => w.to_vec(),
                Some(w) => bail!(
                    "{}: {} fusion weights for a model of {tasks} tasks",
                    dir.display(),
                    w.len()
                ),
                None => bail!(
                    "{}: a multi-task model needs `fusion = [..]` ({tasks} weights)",
                    dir.display()
                ),
            };
            return Ok((
                ScoringModel::MultiTask {
                    model: Box::new(model),
                    device,
                    weights,
                    form,
                },
                pre,
            ));
        }
        if fusion.is_some() {
            bail!(
                "{}: fusion weights are for multi-task models, this is a '{}' one",
                dir.display(),
                manifest.family
            );
        }
        let predictor = Predictor::load(dir, device)?;
        let pre = predictor.preprocessor.clone().ok_or_else(no_preprocessor)?;
        Ok((ScoringModel::Ranking(Box::new(predictor)), pre))
    }

    /// One score per row.
    pub fn score(&self, rows: &EncodedData) -> Vec<f32> {
        match self {
            ScoringModel::Ranking(p) => p.score(rows),
            ScoringModel::MultiTask {
                model,
                device,
                weights,
                form,
            } => fuse(
                &model.predict(rows, 8192, device).predictions,
                weights,
                *form,
            ),
        }
    }
}
