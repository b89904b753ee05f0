//! Encoding a stream's rows with open vocabularies ([`crate::open_vocab`]):
//! every categorical field's ids come from its own admission table, numeric
//! fields are normalised with statistics fitted on the stream's first file.
//! [`OpenEncoder::snapshot`] freezes the current ids into a [`Preprocessor`],
//! which is what an exported version scores with.

use crate::encoded::{EncodedData, FeatureLayout};
use crate::error::{DataError, Result};
use crate::open_vocab::{AdmissionConfig, AdmissionCounts, OpenVocabulary};
use crate::preprocess::{FieldEncoder, Preprocessor};
use crate::raw::{RawColumn, RawTable};
use crate::schema::{FieldKind, Schema};

/// A stream's encoder.
pub struct OpenEncoder {
    /// Numeric statistics (fitted on the first table); its categorical
    /// encoders are replaced by the open vocabularies' snapshots on export.
    base: Preprocessor,
    /// Per categorical field, in schema order.
    vocabularies: Vec<OpenVocabulary>,
    /// Schema index of each categorical field.
    categorical_fields: Vec<usize>,
}

impl OpenEncoder {
    /// `first` (the stream's first file) fits the numeric fields;
    /// `capacity(name)` gives each categorical field's table size.
    pub fn new(
        schema: &Schema,
        first: &RawTable,
        admission: AdmissionConfig,
        capacity: impl Fn(&str) -> usize,
    ) -> Result<Self> {
        let mut categorical_fields = Vec::new();
        for (i, field) in schema.fields.iter().enumerate() {
            match field.kind {
                FieldKind::Categorical => categorical_fields.push(i),
                FieldKind::Numeric => {}
                _ => {
                    return Err(DataError::Invalid(format!(
                        "field '{}': online training takes categorical and numeric fields",
                        field.name
                    )));
                }
            }
        }
        let base = Preprocessor::fit(schema, first)?;
        let vocabularies = categorical_fields
            .iter()
            .map(|&i| {
                OpenVocabulary::new(AdmissionConfig {
                    capacity: capacity(&schema.fields[i].name),
                    ..admission
                })
            })
            .collect();
        Ok(Self {
            base,
            vocabularies,
            categorical_fields,
        })
    }

    /// The model's layout: each categorical field's table is its capacity.
    pub fn layout(&self) -> FeatureLayout {
        let mut layout = self.base.layout();
        for ((_, cardinality), vocab) in layout.categorical.iter_mut().zip(&self.vocabularies) {
            *cardinality = vocab.cardinality();
        }
        layout
    }

    /// Encodes `raw`, whose first row is event `position` of the stream,
    /// admitting ids as they reach their count.
    pub fn encode(&mut self, raw: &RawTable, position: u64) -> Result<EncodedData> {
        let mut out = self.base.transform(raw)?;
        let n_cat = out.num_categorical;
        for (c, (&field, vocab)) in self
            .categorical_fields
            .iter()
            .zip(&mut self.vocabularies)
            .enumerate()
        {
            let RawColumn::Tokens(tokens) = &raw.columns[field] else {
                unreachable!("a fitted categorical field has a token column");
            };
            for (r, token) in tokens.iter().enumerate() {
                let now = position + r as u64;
                out.categorical[r * n_cat + c] = token.map_or(0, |t| vocab.observe(t, now));
            }
        }
        Ok(out)
    }

    /// Evicts what the TTL says is stale as of `now`; returns, per
    /// categorical field, the rows that changed owner since the last call.
    pub fn expire(&mut self, now: u64) -> Vec<Vec<u32>> {
        self.vocabularies
            .iter_mut()
            .map(|v| {
                v.expire(now);
                v.take_recycled()
            })
            .collect()
    }

    /// Per categorical field: its name and counts.
    pub fn counts(&self) -> Vec<(String, AdmissionCounts)> {
        self.categorical_fields
            .iter()
            .zip(&self.vocabularies)
            .map(|(&f, v)| (self.base.schema.fields[f].name.clone(), v.counts()))
            .collect()
    }

    /// The ids as they stand, as a fixed preprocessor.
    pub fn snapshot(&self) -> Preprocessor {
        let mut p = self.base.clone();
        for (&f, vocab) in self.categorical_fields.iter().zip(&self.vocabularies) {
            p.encoders[f] = FieldEncoder::Vocab(vocab.snapshot());
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FieldSpec;

    fn table(tokens: &[u64], values: &[f32]) -> RawTable {
        RawTable {
            columns: vec![
                RawColumn::Tokens(tokens.iter().map(|&t| Some(t)).collect()),
                RawColumn::Numeric(values.to_vec()),
            ],
            labels: vec![0.0; tokens.len()],
            num_tasks: 1,
            ..Default::default()
        }
    }

    #[test]
    fn ids_follow_admission_and_the_snapshot_scores_alike() {
        let schema = Schema {
            fields: vec![
                FieldSpec::categorical("id"),
                FieldSpec::numeric("x", crate::schema::Normalisation::Standard),
            ],
            labels: vec!["y".into()],
            group_by: None,
            regression_labels: Vec::new(),
        };
        let admission = AdmissionConfig {
            min_count: 2,
            ttl_events: 0,
            capacity: 4,
        };
        let first = table(&[5, 5, 6], &[1.0, 2.0, 3.0]);
        let mut enc = OpenEncoder::new(&schema, &first, admission, |_| 4).unwrap();
        assert_eq!(enc.layout().categorical, [("id".to_owned(), 5)]);
        let a = enc.encode(&first, 0).unwrap();
        assert_eq!(
            a.categorical,
            [0, 1, 0],
            "5 admitted on its second sighting"
        );
        assert!(
            (a.numeric[1]).abs() < 1e-6,
            "standardised by the first file"
        );
        let later = table(&[6, 5, 7], &[2.0, 2.0, 2.0]);
        let b = enc.encode(&later, 3).unwrap();
        assert_eq!(b.categorical, [2, 1, 0]);
        // The snapshot encodes with the ids as they stand, admitting nothing.
        let frozen = enc.snapshot().transform(&later).unwrap();
        assert_eq!(frozen.categorical, [2, 1, 0]);
        assert_eq!(frozen.numeric, b.numeric);
        assert_eq!(enc.counts()[0].1.live, 2);
    }
}
