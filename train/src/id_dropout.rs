//! Id dropout: while training, a categorical field's id is replaced by the
//! field's OOV id (0) with a configured probability.
//!
//! Why: under a time split most evaluation rows carry ids training never saw
//! (on ml100k-ctr 86% of test rows have a user that is not in the training
//! split), so at test time they all share the OOV row. Without dropout that
//! row is never trained and the model has never had to predict from side
//! features alone. Dropping ids at random teaches the OOV row the "unknown
//! user" and the rest of the model to lean on side features for it, the
//! cold-start remedy of DropoutNet (Volkovs, Yu & Poutanen, NeurIPS 2017).
//! Evaluation and serving never drop ids.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use ember_datasets::encoded::{EncodedData, FeatureLayout};
use rand::{Rng, rngs::SmallRng};

/// The categorical columns to drop and their probabilities.
#[derive(Debug, Clone)]
pub struct IdDropout {
    /// (column in `EncodedData::categorical`, probability).
    columns: Vec<(usize, f64)>,
}

impl IdDropout {
    /// `probabilities` maps categorical field names to a probability in
    /// [0, 1); `None` when there is nothing to drop.
    pub fn new(
        layout: &FeatureLayout,
        probabilities: &BTreeMap<String, f64>,
    ) -> Result<Option<Self>> {
        let mut columns = Vec::new();
        for (field, &p) in probabilities {
            let Some(column) = layout
                .categorical
                .iter()
                .position(|(name, _)| name == field)
            else {
                let known: Vec<&str> = layout.categorical.iter().map(|(n, _)| n.as_str()).collect();
                bail!(
                    "train.id_dropout names field {field:?}, which is not a categorical field of this data (categorical fields: {})",
                    known.join(", ")
                );
            };
            if !(0.0..1.0).contains(&p) {
                bail!("train.id_dropout.{field} must be in [0, 1), got {p}");
            }
            if p > 0.0 {
                columns.push((column, p));
            }
        }
        Ok((!columns.is_empty()).then_some(Self { columns }))
    }

    /// The rows at `rows` of `data`, in that order, with ids dropped to OOV
    /// by draws from `rng` (the trainer's per-epoch stream, so a resumed run
    /// drops what the uninterrupted one would have).
    pub fn take(&self, data: &EncodedData, rows: &[usize], rng: &mut SmallRng) -> EncodedData {
        let mut batch = data.take(rows);
        let width = batch.num_categorical;
        for row in batch.categorical.chunks_exact_mut(width.max(1)) {
            for &(column, p) in &self.columns {
                if rng.random_bool(p) {
                    row[column] = 0;
                }
            }
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn layout() -> FeatureLayout {
        FeatureLayout {
            sequence_vocab_of: Vec::new(),
            categorical: vec![("user".into(), 100), ("item".into(), 50)],
            numeric: vec![],
            sequences: vec![],
            dense: vec![],
            tasks: vec!["click".into()],
        }
    }

    fn data(rows: usize) -> EncodedData {
        EncodedData {
            num_rows: rows,
            categorical: (0..rows)
                .flat_map(|r| [1 + r as u32 % 99, 1 + r as u32 % 49])
                .collect(),
            num_categorical: 2,
            numeric: vec![],
            num_numeric: 0,
            sequences: vec![],
            dense: vec![],
            labels: vec![1.0; rows],
            num_tasks: 1,
            groups: None,
        }
    }

    #[test]
    fn drops_only_the_named_field_at_about_its_rate() {
        let probs = BTreeMap::from([("user".to_string(), 0.3)]);
        let dropout = IdDropout::new(&layout(), &probs).unwrap().unwrap();
        let d = data(20_000);
        let rows: Vec<usize> = (0..d.num_rows).collect();
        let batch = dropout.take(&d, &rows, &mut SmallRng::seed_from_u64(7));
        let dropped_users = batch.categorical.chunks(2).filter(|r| r[0] == 0).count();
        let dropped_items = batch.categorical.chunks(2).filter(|r| r[1] == 0).count();
        let rate = dropped_users as f64 / d.num_rows as f64;
        assert!((rate - 0.3).abs() < 0.02, "user drop rate {rate}");
        assert_eq!(dropped_items, 0, "item ids must be left alone");
        // Kept ids are untouched.
        for (kept, orig) in batch.categorical.chunks(2).zip(d.categorical.chunks(2)) {
            assert!(kept[0] == 0 || kept[0] == orig[0]);
            assert_eq!(kept[1], orig[1]);
        }
    }

    #[test]
    fn same_seed_same_draws() {
        let probs = BTreeMap::from([("item".to_string(), 0.5)]);
        let d = data(1000);
        let rows: Vec<usize> = (0..1000).rev().collect();
        let dropout = IdDropout::new(&layout(), &probs).unwrap().unwrap();
        let a = dropout.take(&d, &rows, &mut SmallRng::seed_from_u64(3));
        let b = dropout.take(&d, &rows, &mut SmallRng::seed_from_u64(3));
        assert_eq!(a.categorical, b.categorical);
    }

    #[test]
    fn unknown_field_and_bad_probability_are_errors() {
        let unknown = BTreeMap::from([("age".to_string(), 0.1)]);
        let err = IdDropout::new(&layout(), &unknown).unwrap_err().to_string();
        assert!(
            err.contains("\"age\"") && err.contains("user, item"),
            "{err}"
        );
        let bad = BTreeMap::from([("user".to_string(), 1.0)]);
        assert!(IdDropout::new(&layout(), &bad).is_err());
        let zero = BTreeMap::from([("user".to_string(), 0.0)]);
        assert!(IdDropout::new(&layout(), &zero).unwrap().is_none());
    }
}
