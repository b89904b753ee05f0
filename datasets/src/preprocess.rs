//! Fitting encoders on the training split and applying them to any split.
//!
//! The fitted [`Preprocessor`] (schema + vocabularies + statistics) is
//! serialised as JSON into every exported model, so serving encodes new rows
//! exactly as training did. Fitting only ever sees the training split:
//! validation and test tokens that training never saw are OOV, as in
//! production.

use serde::{Deserialize, Serialize};

use crate::encoded::{EncodedData, EncodedDense, EncodedSequence, FeatureLayout};
use crate::error::{DataError, Result};
use crate::fit_stats::{FieldStats, FitStats};
use crate::raw::{RawColumn, RawTable};
use crate::schema::{Encoding, FieldKind, Normalisation, Schema};
use crate::vocab::Vocabulary;

/// The fitted state of one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldEncoder {
    Vocab(Vocabulary),
    Hash {
        buckets: u32,
    },
    /// `(x − shift) / scale` after the field's transform.
    Numeric {
        shift: f32,
        scale: f32,
    },
    Dense,
}

impl FieldEncoder {
    /// The id of a token hash (0 = OOV; 0 for fields without ids).
    #[inline]
    pub fn id(&self, token: u64) -> u32 {
        match self {
            FieldEncoder::Vocab(v) => v.lookup(token),
            FieldEncoder::Hash { buckets } => 1 + (token % u64::from(*buckets)) as u32,
            _ => 0,
        }
    }

    pub fn cardinality(&self) -> usize {
        match self {
            FieldEncoder::Vocab(v) => v.cardinality(),
            FieldEncoder::Hash { buckets } => *buckets as usize + 1,
            _ => 0,
        }
    }
}

/// Schema plus every field's fitted encoder; serialised into artifacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    pub schema: Schema,
    pub encoders: Vec<FieldEncoder>,
}

/// Missing values (NaN) become the field's `fill` *before* the transform and
/// the statistics, so a fill of 0 means "zero count", not "average".
pub fn transform_numeric(norm: Normalisation, fill: f32, x: f32) -> f32 {
    let x = if x.is_nan() { fill } else { x };
    match norm {
        Normalisation::Log1p => x.max(0.0).ln_1p(),
        _ => x,
    }
}

impl Preprocessor {
    /// Fits vocabularies and statistics on `train` (never on other splits).
    pub fn fit(schema: &Schema, train: &RawTable) -> Result<Self> {
        Self::from_stats(schema, &FitStats::of(schema, train)?)
    }

    /// Fits from the training rows' statistics, which may have been merged
    /// from several shares of them ([`FitStats::merge`]).
    pub fn from_stats(schema: &Schema, stats: &FitStats) -> Result<Self> {
        if stats.fields.len() != schema.fields.len() {
            return Err(DataError::Invalid(format!(
                "statistics of {} fields for a schema of {}",
                stats.fields.len(),
                schema.fields.len()
            )));
        }
        // A field that shares another's vocabulary ([`FieldSpec::vocab_of`])
        // adds its counts to that field's, and takes its encoder.
        let mut fields = stats.fields.clone();
        for (i, field) in schema.fields.iter().enumerate() {
            let Some(j) = field
                .vocab_of
                .as_deref()
                .and_then(|n| schema.field_index(n))
            else {
                continue;
            };
            if let FieldStats::Counts(mine) = &stats.fields[i]
                && let FieldStats::Counts(target) = &mut fields[j]
            {
                target.merge(mine);
            }
        }
        let encoders = schema
            .fields
            .iter()
            .zip(&fields)
            .map(|(field, stats)| {
                Ok(match (&field.kind, &field.encoding, stats) {
                    (FieldKind::Dense { .. }, _, FieldStats::Nothing) => FieldEncoder::Dense,
                    (FieldKind::Numeric, _, FieldStats::Moments(m)) => {
                        let (shift, scale) = m.shift_scale(field.normalisation);
                        FieldEncoder::Numeric {
                            shift: shift as f32,
                            scale: scale as f32,
                        }
                    }
                    (
                        FieldKind::Categorical | FieldKind::Sequence { .. },
                        Encoding::Vocab { min_count },
                        FieldStats::Counts(counts),
                    ) => FieldEncoder::Vocab(Vocabulary::from_counts(counts, *min_count)),
                    (
                        FieldKind::Categorical | FieldKind::Sequence { .. },
                        Encoding::Hash { buckets },
                        FieldStats::Nothing,
                    ) => FieldEncoder::Hash {
                        buckets: (*buckets).max(1),
                    },
                    _ => {
                        return Err(DataError::Invalid(format!(
                            "field '{}': statistics do not match its kind {:?}",
                            field.name, field.kind
                        )));
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let encoders = schema
            .fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let shared = field
                    .vocab_of
                    .as_deref()
                    .and_then(|n| schema.field_index(n));
                encoders[shared.unwrap_or(i)].clone()
            })
            .collect();
        Ok(Self {
            schema: schema.clone(),
            encoders,
        })
    }

    /// What a model needs to know about the encoded columns.
    pub fn layout(&self) -> FeatureLayout {
        let mut layout = FeatureLayout {
            sequence_vocab_of: Vec::new(),
            categorical: Vec::new(),
            numeric: Vec::new(),
            sequences: Vec::new(),
            dense: Vec::new(),
            tasks: self.schema.labels.clone(),
        };
        for (field, encoder) in self.schema.fields.iter().zip(&self.encoders) {
            let name = field.name.clone();
            match field.kind {
                FieldKind::Categorical => layout.categorical.push((name, encoder.cardinality())),
                FieldKind::Numeric => layout.numeric.push(name),
                FieldKind::Sequence { max_len, .. } => {
                    layout
                        .sequences
                        .push((name, encoder.cardinality(), max_len))
                }
                FieldKind::Dense { dim, .. } => layout.dense.push((name, dim)),
            }
        }
        // Which categorical field's ids each sequence's are in.
        let categorical: Vec<&str> = self
            .schema
            .fields_where(|k| *k == FieldKind::Categorical)
            .map(|(_, f)| f.name.as_str())
            .collect();
        let shares: Vec<Option<usize>> = self
            .schema
            .fields_where(|k| matches!(k, FieldKind::Sequence { .. }))
            .map(|(_, f)| {
                let other = f.vocab_of.as_deref()?;
                categorical.iter().position(|&c| c == other)
            })
            .collect();
        if shares.iter().any(Option::is_some) {
            layout.sequence_vocab_of = shares;
        }
        layout
    }

    /// Encodes a raw table; unseen (or below-min-count) tokens become the
    /// OOV id 0. Sequence fields keep the *first* `max_len` tokens of each
    /// row (for behaviour histories, write them most-recent-first), padded
    /// with id 0; the kept length is recorded per row.
    pub fn transform(&self, raw: &RawTable) -> Result<EncodedData> {
        let rows = raw.num_rows();
        if raw.columns.len() != self.schema.fields.len() {
            return Err(DataError::Invalid(format!(
                "table has {} columns but the schema {} fields",
                raw.columns.len(),
                self.schema.fields.len()
            )));
        }
        if raw.num_tasks != self.schema.labels.len() && raw.num_tasks != 0 {
            return Err(DataError::Invalid(format!(
                "table has {} label columns but the schema {}",
                raw.num_tasks,
                self.schema.labels.len()
            )));
        }
        for (field, column) in self.schema.fields.iter().zip(&raw.columns) {
            if column.len() != rows {
                return Err(DataError::Invalid(format!(
                    "field '{}' has {} rows, the table {rows}",
                    field.name,
                    column.len()
                )));
            }
            if let (FieldKind::Dense { dim, .. }, RawColumn::Vectors { dim: d, .. }) =
                (&field.kind, column)
                && dim != d
            {
                return Err(DataError::Invalid(format!(
                    "field '{}' has dimension {d}, the schema {dim}",
                    field.name
                )));
            }
        }
        let layout = self.layout();
        let n_cat = layout.categorical.len();
        let n_num = layout.numeric.len();
        let mut out = EncodedData {
            num_rows: rows,
            categorical: vec![0; rows * n_cat],
            num_categorical: n_cat,
            numeric: vec![0.0; rows * n_num],
            num_numeric: n_num,
            sequences: Vec::new(),
            dense: Vec::new(),
            labels: raw.labels.clone(),
            num_tasks: raw.num_tasks,
            groups: raw.groups.clone(),
        };
        let (mut c, mut n) = (0, 0);
        for ((field, encoder), column) in self
            .schema
            .fields
            .iter()
            .zip(&self.encoders)
            .zip(&raw.columns)
        {
            match (&field.kind, column, encoder) {
                (FieldKind::Categorical, RawColumn::Tokens(tokens), _) => {
                    for (r, t) in tokens.iter().enumerate() {
                        out.categorical[r * n_cat + c] = t.map_or(0, |t| encoder.id(t));
                    }
                    c += 1;
                }
                (
                    FieldKind::Numeric,
                    RawColumn::Numeric(values),
                    FieldEncoder::Numeric { shift, scale },
                ) => {
                    for (r, &x) in values.iter().enumerate() {
                        let x = transform_numeric(field.normalisation, field.fill, x);
                        out.numeric[r * n_num + n] = (x - shift) / scale;
                    }
                    n += 1;
                }
                (
                    FieldKind::Sequence { max_len, .. },
                    RawColumn::TokenLists { offsets, tokens },
                    _,
                ) => {
                    let mut seq = EncodedSequence {
                        max_len: *max_len,
                        ids: vec![0; rows * max_len],
                        lengths: vec![0; rows],
                    };
                    for r in 0..rows {
                        // The first `max_len` entries are kept.
                        let list = &tokens[offsets[r]..offsets[r + 1]];
                        let kept = list.len().min(*max_len);
                        for (i, &t) in list[..kept].iter().enumerate() {
                            seq.ids[r * max_len + i] = encoder.id(t);
                        }
                        seq.lengths[r] = kept as u32;
                    }
                    out.sequences.push(seq);
                }
                (FieldKind::Dense { dim, .. }, RawColumn::Vectors { values, .. }, _) => {
                    out.dense.push(EncodedDense {
                        dim: *dim,
                        values: values.clone(),
                    });
                }
                _ => {
                    return Err(DataError::Invalid(format!(
                        "field '{}': column does not match its kind {:?}",
                        field.name, field.kind
                    )));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FieldSpec;

    #[test]
    fn fit_on_train_and_unseen_tokens_map_to_oov() {
        let schema = Schema {
            fields: vec![
                FieldSpec::categorical("c"),
                FieldSpec::numeric("x", Normalisation::Standard),
                FieldSpec::categorical("h").with_encoding(Encoding::Hash { buckets: 4 }),
            ],
            labels: vec!["y".into()],
            group_by: None,
            regression_labels: Vec::new(),
        };
        let train = RawTable {
            columns: vec![
                RawColumn::Tokens(vec![Some(10), Some(11), Some(10), None]),
                RawColumn::Numeric(vec![1.0, 3.0, f32::NAN, 3.0]),
                RawColumn::Tokens(vec![Some(100), Some(7), Some(8), Some(9)]),
            ],
            labels: vec![1.0, 0.0, 1.0, 0.0],
            num_tasks: 1,
            ..Default::default()
        };
        let pre = Preprocessor::fit(&schema, &train).unwrap();
        let test = RawTable {
            columns: vec![
                RawColumn::Tokens(vec![Some(99), Some(10)]),
                RawColumn::Numeric(vec![3.0, 1.0]),
                RawColumn::Tokens(vec![Some(5), Some(6)]),
            ],
            labels: vec![0.0, 1.0],
            num_tasks: 1,
            ..Default::default()
        };
        let enc = pre.transform(&test).unwrap();
        assert_eq!(enc.categorical[0], 0, "unseen token → OOV");
        assert_eq!(enc.categorical[2], 1, "most frequent token → id 1");
        for r in 0..2 {
            let h = enc.categorical[r * 2 + 1];
            assert!((1..=4).contains(&h), "hash ids in 1..=buckets");
        }
        // mean of [1, 3, 0 (NaN filled), 3] = 1.75
        let std =
            ((0.75f64.powi(2) + 1.25f64.powi(2) + 1.75f64.powi(2) + 1.25f64.powi(2)) / 4.0).sqrt();
        assert!((enc.numeric[0] as f64 - (3.0 - 1.75) / std).abs() < 1e-5);
        assert_eq!(pre.layout().categorical[0].1, 3);
    }

    #[test]
    fn a_history_sharing_item_ids_gets_the_items_vocabulary_and_ids() {
        use crate::readers::ColumnsBuilder;
        let schema = Schema {
            fields: vec![
                FieldSpec::categorical("item_id"),
                FieldSpec::sequence("history", 3).sharing_vocab_of("item_id"),
            ],
            labels: vec!["y".into()],
            group_by: None,
            regression_labels: Vec::new(),
        };
        schema.validate().unwrap();
        let mut b = ColumnsBuilder::new(&schema);
        // "9" appears only in a history: the shared vocabulary still knows it.
        for (item, history) in [(&b"5"[..], &b"7|9"[..]), (b"7", b"5"), (b"5", b"")] {
            b.push_row(|i| Some([item, history][i]), |_| Some(b"1"), None)
                .unwrap();
        }
        let raw = b.finish(std::path::Path::new("t"), 0).unwrap();
        let pre = Preprocessor::fit(&schema, &raw).unwrap();
        assert_eq!(pre.encoders[0], pre.encoders[1]);
        let enc = pre.transform(&raw).unwrap();
        let ids = &enc.sequences[0].ids;
        // Row 0's history [7, 9] and row 1's item 7: the same id for 7.
        assert_eq!(ids[0], enc.categorical[1]);
        assert_ne!(ids[1], 0, "an item seen only in histories has an id");
        assert_eq!(ids[3], enc.categorical[0], "row 1's history [5] is item 5");
        let layout = pre.layout();
        assert_eq!(layout.sequence_shares(0), Some(0));
        assert_eq!(layout.sequences[0].1, layout.categorical[0].1);
        // What the schema check refuses.
        let bad = |other: &str| {
            let mut s = schema.clone();
            s.fields[1].vocab_of = Some(other.into());
            s.validate().unwrap_err()
        };
        assert!(bad("nope").1.contains("not a field"), "{:?}", bad("nope"));
        assert!(bad("history").1.contains("itself"));
        let mut hashed = schema.clone();
        hashed.fields[1].encoding = Encoding::Hash { buckets: 8 };
        assert!(hashed.validate().unwrap_err().1.contains("same encoding"));
    }
}
