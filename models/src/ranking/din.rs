//! DIN (Zhou et al. 2018): the user's behaviour sequence is pooled by the
//! candidate's attention (`layers::target_attention`) instead of a fixed
//! mean, then every field vector feeds a deep tower,
//!
//! `v_U(t) = Σ_j a(e_j, e_t) e_j`,  `ŷ = MLP([e_1 ; … ; v_U(t) ; …])`.
//!
//! The candidate `e_t` is the embedding of the categorical field
//! `din_target` (`item_id` by default); the sequences attended are those
//! whose `sequence_pooling` is `target_attention` (the others pool as
//! they say).
//!
//! Three terms from Alibaba's released code, each behind a key (off: the
//! paper's equation above):
//!
//! - `din_interest_product`: the tower also reads `e_t ⊙ v_U(t)` per
//!   attended sequence, as the DIN baseline of the DIEN repository feeds
//!   `e_t ⊙ Σ_j e_j`; a tower of ReLUs only approximates a product, and
//!   this one is how well the candidate matches what the user attended;
//! - `din_keep_mean`: the attended sequence also enters mean-pooled,
//!   `m = mean_j e_j`, beside `v_U(t)` (and `e_t ⊙ m` with the product),
//!   as that baseline reads both `Σ_j e_j` and the attended interest;
//! - `din_first_order`: `ŷ = w_0 + Σ_i w_i + MLP(…)`, the official DIN
//!   code's candidate bias `b_t` taken to every field (Wide&Deep's wide
//!   part), so popularity need not pass through the tower.
//!
//! And one beyond that code, for data with user ids:
//!
//! - `din_fm`: `+ Σ_{i<j} <v_i, v_j>` over the field vectors, `v_U(t)`
//!   in the sequence's place (DeepFM's FM part). The official DIN has no
//!   user id; on MovieLens `<e_user, e_item>` is matrix factorisation,
//!   which a ReLU tower only approximates (Rendle et al. 2020).

use std::cell::RefCell;

use burn::prelude::*;
use ember_datasets::FeatureLayout;

use super::RankingConfig;
use crate::batch::Batch;
use crate::layers::{
    FeatureLayer, FirstOrder, Mlp, SequencePooling, TargetAttention, TargetAttentionConfig,
    fm_second_order,
};

#[derive(Module, Debug)]
pub struct Din {
    pub features: FeatureLayer,
    pub attention: TargetAttention,
    pub deep: Mlp,
    /// `din_first_order`'s term.
    pub linear: Option<FirstOrder>,
    /// `din_interest_product`.
    #[module(skip)]
    pub interest_product: bool,
    /// `din_keep_mean`.
    #[module(skip)]
    pub keep_mean: bool,
    /// `din_fm`.
    #[module(skip)]
    pub fm: bool,
    /// The candidate's position among the field vectors.
    #[module(skip)]
    pub target: usize,
    /// Where sequence field `s`'s vector sits among the field vectors.
    #[module(skip)]
    pub first_sequence: usize,
}

impl Din {
    pub fn new(
        config: &RankingConfig,
        layout: &FeatureLayout,
        device: &Device,
    ) -> Result<Self, String> {
        let target = layout
            .categorical
            .iter()
            .position(|(name, _)| *name == config.din_target)
            .ok_or_else(|| {
                let names: Vec<&str> = layout.categorical.iter().map(|(n, _)| n.as_str()).collect();
                format!(
                    "din_target '{}' is not a categorical field (the data has: {})",
                    config.din_target,
                    names.join(", ")
                )
            })?;
        let features = config.uniform_features(layout, device)?;
        if !features.pooling.contains(&SequencePooling::TargetAttention) {
            return Err(
                "din attends to a behaviour sequence: set sequence_pooling = { <field> = \"target_attention\" }"
                    .to_owned(),
            );
        }
        let attended = features
            .pooling
            .iter()
            .filter(|p| **p == SequencePooling::TargetAttention)
            .count();
        // Per attended sequence: the mean beside v_U(t), and a product
        // with the candidate for each of the two.
        let pooled = 1 + usize::from(config.din_keep_mean);
        let extra = attended
            * (pooled - 1
                + if config.din_interest_product {
                    pooled
                } else {
                    0
                });
        Ok(Self {
            features,
            attention: TargetAttentionConfig::new(config.embedding_dim)
                .with_hidden(config.din_attention_hidden.clone())
                .with_softmax(config.din_softmax)
                .init(device),
            deep: config
                .tower((layout.num_fields() + extra) * config.embedding_dim)
                .init(device),
            linear: config
                .din_first_order
                .then(|| config.first_order(layout, device)),
            interest_product: config.din_interest_product,
            keep_mean: config.din_keep_mean,
            fm: config.din_fm,
            target,
            first_sequence: layout.categorical.len(),
        })
    }

    pub fn forward(&self, batch: &Batch) -> Tensor<2> {
        // One lookup per table (the row-sparse recorder sees each once):
        // attended sequences are set aside during it and pooled after,
        // once the candidate's vector is known.
        let attended = RefCell::new(Vec::new());
        let fields = self.features.forward_pooled(batch, &|s, embedded, mask| {
            let pooling = self.features.pooling[s];
            if pooling == SequencePooling::TargetAttention {
                let [b, _, d] = embedded.dims();
                let placeholder = Tensor::zeros([b, 1, d], &embedded.device());
                attended.borrow_mut().push((s, embedded, mask));
                placeholder
            } else {
                pooling.pool(embedded, mask)
            }
        });
        let v = fields.vectors;
        let [b, f, d] = v.dims();
        let target = v.clone().narrow(1, self.target, 1).reshape([b, d]);
        let mut slots: Vec<Tensor<3>> = (0..f).map(|i| v.clone().narrow(1, i, 1)).collect();
        let e_t = target.clone().unsqueeze_dim::<3>(1);
        for (s, embedded, mask) in attended.into_inner() {
            let mut pooled =
                vec![
                    self.attention
                        .pool(embedded.clone(), mask.clone(), target.clone()),
                ];
            if self.keep_mean {
                pooled.push(SequencePooling::Mean.pool(embedded, mask));
            }
            for p in &pooled[1..] {
                slots.push(p.clone());
            }
            if self.interest_product {
                slots.extend(pooled.iter().map(|p| p.clone() * e_t.clone()));
            }
            slots[self.first_sequence + s] = pooled.swap_remove(0);
        }
        let n = slots.len();
        let x = Tensor::cat(slots, 1);
        let y_fm = self.fm.then(|| fm_second_order(x.clone().narrow(1, 0, f)));
        let mut y = self.deep.forward(x.reshape([b, n * d]));
        if let Some(linear) = &self.linear {
            y = y + linear.forward(batch);
        }
        if let Some(y_fm) = y_fm {
            y = y + y_fm;
        }
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::SequencePooling;
    use ember_datasets::{EncodedData, EncodedSequence};

    /// `user_id`, `item_id` and a `history` of 3 items, two rows.
    fn layout_and_batch(device: &Device) -> (FeatureLayout, Batch) {
        let layout = FeatureLayout {
            sequence_vocab_of: Vec::new(),
            categorical: vec![("user_id".into(), 5), ("item_id".into(), 4)],
            numeric: Vec::new(),
            sequences: vec![("history".into(), 4, 3)],
            dense: Vec::new(),
            tasks: vec!["y".into()],
        };
        let data = EncodedData {
            num_rows: 2,
            categorical: vec![1, 2, 4, 3],
            num_categorical: 2,
            sequences: vec![EncodedSequence {
                max_len: 3,
                ids: vec![1, 3, 0, 2, 1, 3],
                lengths: vec![2, 3],
            }],
            labels: vec![1.0, 0.0],
            num_tasks: 1,
            ..Default::default()
        };
        let batch = Batch::from_rows(&data, &[0, 1], device);
        (layout, batch)
    }

    fn config(product: bool, keep_mean: bool, first_order: bool) -> RankingConfig {
        RankingConfig {
            kind: super::super::ModelKind::Din,
            embedding_dim: 3,
            init_std: 0.5,
            hidden: vec![4],
            sequence_pooling: [("history".to_owned(), SequencePooling::TargetAttention)].into(),
            din_interest_product: product,
            din_keep_mean: keep_mean,
            din_first_order: first_order,
            ..Default::default()
        }
    }

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    /// With the released code's terms, `ŷ = w_0 + Σ_i w_i + MLP([e_u ;
    /// e_t ; v_U(t) ; m ; e_t ⊙ v_U(t) ; e_t ⊙ m])` (`m` the history's
    /// mean), computed here from the model's own pieces; without them the
    /// tower reads the three field vectors alone and there is no
    /// first-order term.
    #[test]
    fn the_interest_product_first_order_and_fm_terms_enter_as_the_equation_says() {
        let device = Device::flex();
        let (layout, batch) = layout_and_batch(&device);
        let plain = Din::new(&config(false, false, false), &layout, &device).unwrap();
        assert!(plain.linear.is_none());
        assert_eq!(plain.deep.hidden[0].weight.dims()[0], 3 * 3);

        let product = Din::new(&config(true, false, false), &layout, &device).unwrap();
        assert_eq!(product.deep.hidden[0].weight.dims()[0], 4 * 3);
        let din = Din::new(&config(true, true, true), &layout, &device).unwrap();
        assert_eq!(din.deep.hidden[0].weight.dims()[0], 6 * 3);
        let got = values(din.forward(&batch));

        let sequence = RefCell::new(None);
        let fields = din.features.forward_pooled(&batch, &|_, embedded, mask| {
            let [b, _, d] = embedded.dims();
            *sequence.borrow_mut() = Some((embedded, mask));
            Tensor::zeros([b, 1, d], &device)
        });
        let (embedded, mask) = sequence.into_inner().unwrap();
        let v = fields.vectors;
        let e_u: Tensor<2> = v.clone().narrow(1, 0, 1).reshape([2, 3]);
        let e_t = v.narrow(1, 1, 1).reshape([2, 3]);
        let interest = din
            .attention
            .pool(embedded.clone(), mask.clone(), e_t.clone())
            .reshape([2, 3]);
        // The mean over the real entries, by hand.
        let lengths = mask.clone().sum_dim(1);
        let mean = (embedded * mask.unsqueeze_dim::<3>(2))
            .sum_dim(1)
            .reshape([2, 3])
            / lengths;
        let x = Tensor::cat(
            vec![
                e_u.clone(),
                e_t.clone(),
                interest.clone(),
                mean.clone(),
                e_t.clone() * interest.clone(),
                e_t.clone() * mean,
            ],
            1,
        );
        let want = din.linear.as_ref().unwrap().forward(&batch) + din.deep.forward(x);
        close(&got, &values(want.clone()));

        // `din_fm` adds Σ_{i<j} <v_i, v_j> over [e_u ; e_t ; v_U(t)],
        // pair by pair here.
        let mut with_fm = din.clone();
        with_fm.fm = true;
        let pair = |a: &Tensor<2>, b: &Tensor<2>| (a.clone() * b.clone()).sum_dim(1);
        let fm = pair(&e_u, &e_t) + pair(&e_u, &interest) + pair(&e_t, &interest);
        close(&values(with_fm.forward(&batch)), &values(want + fm));
    }

    fn close(got: &[f32], want: &[f32]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
        }
    }
}
