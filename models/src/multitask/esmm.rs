//! ESMM (Ma et al., SIGIR 2018): the entire-space multi-task model.
//!
//! `pCTR = σ(z_ctr(e))`, `pCVR = σ(z_cvr(e))`, `pCTCVR = pCTR × pCVR`, with
//! the embeddings `e` shared and both losses (CTR and CTCVR) taken over all
//! impressions; pCVR is never fitted on clicked impressions alone, so it is
//! free of their selection bias. The product is the task graph's
//! progressive rule (a task declared `after` another), so ESMM generalises
//! to chains such as click → add-to-cart → purchase.

use burn::module::{Module, ModuleVisitor};
use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::{MultiTaskConfig, SharedRepr, TaskGraph, Towers};
use crate::batch::Batch;
use crate::layers::FeatureLayer;

#[derive(Module, Debug)]
pub struct Esmm {
    pub features: FeatureLayer,
    /// One tower per task: `z_ctr`, `z_cvr`, …
    pub towers: Towers,
}

impl Esmm {
    pub fn new(
        config: &MultiTaskConfig,
        layout: &FeatureLayout,
        graph: &TaskGraph,
        device: &Device,
    ) -> Result<Self, String> {
        if !graph.has_progressive() {
            return Err(
                "esmm needs a progressive task (e.g. `after = \"click\"` on the CTCVR task); \
                 without one it is shared_bottom with `bottom = []`"
                    .into(),
            );
        }
        Ok(Self {
            features: config.features(layout, device)?,
            towers: config.towers(config.feature_width(layout), graph.len(), device),
        })
    }

    /// `[e]`: the concatenated field embeddings.
    pub fn shared(&self, batch: &Batch) -> SharedRepr {
        SharedRepr {
            parts: vec![self.features.forward(batch).flatten()],
        }
    }

    pub fn heads(&self, repr: &SharedRepr) -> Tensor<2> {
        self.towers.forward_shared(repr.parts[0].clone())
    }

    pub fn visit_shared<V: ModuleVisitor>(&self, visitor: &mut V) {
        self.features.visit(visitor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multitask::{MultiTaskKind, TaskSpec};
    use burn::tensor::activation::sigmoid;
    use ember_datasets::synthetic::click_conversion;

    #[test]
    fn ctcvr_is_ctr_times_cvr() {
        let device = Device::flex();
        let g = click_conversion::generate([64, 1, 1], 1);
        let graph = TaskGraph::resolve(
            &[
                TaskSpec::binary("ctr").with_label("click"),
                TaskSpec::binary("ctcvr")
                    .with_label("purchase")
                    .after("ctr"),
            ],
            &g.layout.tasks,
        )
        .unwrap();
        let config = MultiTaskConfig {
            kind: MultiTaskKind::Esmm,
            embedding_dim: 4,
            init_std: 0.5,
            tower: vec![8],
            ..Default::default()
        };
        let model = config.init(&g.layout, &graph, &device).unwrap();
        let rows: Vec<usize> = (0..64).collect();
        let batch = Batch::from_rows(&g.train.data, &rows, &device);
        let super::super::MultiTaskNet::Esmm(esmm) = &model.net else {
            panic!("built an ESMM")
        };
        // The towers read directly, outside the task graph.
        let e = esmm.features.forward(&batch).flatten();
        let vec = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
        let ctr = vec(sigmoid(esmm.towers.towers[0].forward(e.clone())));
        let cvr = vec(sigmoid(esmm.towers.towers[1].forward(e)));
        let out = model.forward(&batch);
        let p_ctr = vec(out[0].prediction());
        let p_ctcvr = vec(out[1].prediction());
        let p_cvr = vec(out[1].conditional());
        let mut spread = 0f32;
        for r in 0..64 {
            assert!((p_ctr[r] - ctr[r]).abs() < 1e-6);
            assert!((p_cvr[r] - cvr[r]).abs() < 1e-6);
            assert!((p_ctcvr[r] - ctr[r] * cvr[r]).abs() < 1e-6, "row {r}");
            spread = spread.max((p_ctcvr[r] - p_ctcvr[0]).abs());
        }
        assert!(spread > 1e-4, "rows should differ, or the check is vacuous");

        // Without a progressive task ESMM is refused with a hint.
        let flat = TaskGraph::resolve(&[TaskSpec::binary("click")], &g.layout.tasks).unwrap();
        let err = config.init(&g.layout, &flat, &device).unwrap_err();
        assert!(err.contains("progressive"), "{err}");
    }
}
