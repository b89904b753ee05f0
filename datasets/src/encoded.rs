//! Model-ready data: ids and normalised numbers in flat column groups.
//!
//! This is the boundary between `datasets` and `models`. Everything here is
//! plain `Vec`s so a batch is built by slicing, without per-row allocation.
//! Ids are local to their field: 0 is the field's OOV / padding id and
//! `1..cardinality` are known tokens; the model's feature layer adds the
//! per-field offsets into its embedding tables.

use serde::{Deserialize, Serialize};

/// Shape information a model needs to build its feature layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureLayout {
    /// Categorical fields: (name, cardinality including id 0).
    pub categorical: Vec<(String, usize)>,
    /// Numeric field names.
    pub numeric: Vec<String>,
    /// Sequence fields: (name, cardinality including id 0, max length).
    pub sequences: Vec<(String, usize, usize)>,
    /// Dense vector fields: (name, dimension).
    pub dense: Vec<(String, usize)>,
    /// Label names, one per task.
    pub tasks: Vec<String>,
    /// Per sequence field, the categorical field whose vocabulary its ids
    /// are in (`vocab_of` in the schema; e.g. a history of items and
    /// `item_id`), if any: a model looks both up in the same embedding rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sequence_vocab_of: Vec<Option<usize>>,
}

impl FeatureLayout {
    /// The categorical field whose ids sequence field `s` shares, if any.
    pub fn sequence_shares(&self, s: usize) -> Option<usize> {
        self.sequence_vocab_of.get(s).copied().flatten()
    }

    /// Number of fields that become one embedding vector each
    /// (categorical, numeric, sequence and dense fields).
    pub fn num_fields(&self) -> usize {
        self.categorical.len() + self.numeric.len() + self.sequences.len() + self.dense.len()
    }
}

/// One sequence field, padded to `max_len` with id 0.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EncodedSequence {
    pub max_len: usize,
    /// `[rows, max_len]`.
    pub ids: Vec<u32>,
    /// Number of real entries per row (0 for an empty list).
    pub lengths: Vec<u32>,
}

/// One dense-vector field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EncodedDense {
    pub dim: usize,
    /// `[rows, dim]`.
    pub values: Vec<f32>,
}

/// Encoded rows, column groups in `FeatureLayout` order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EncodedData {
    pub num_rows: usize,
    /// `[rows, n_categorical]` local ids.
    pub categorical: Vec<u32>,
    pub num_categorical: usize,
    /// `[rows, n_numeric]`, normalised.
    pub numeric: Vec<f32>,
    pub num_numeric: usize,
    pub sequences: Vec<EncodedSequence>,
    pub dense: Vec<EncodedDense>,
    /// `[rows, tasks]`.
    pub labels: Vec<f32>,
    pub num_tasks: usize,
    /// Group key per row for gAUC.
    pub groups: Option<Vec<u64>>,
}

impl EncodedData {
    /// One row of OOV ids and zeros shaped like `self`: what a rank that
    /// holds no rows of a split scores (and drops) to take its part in
    /// every batch's collectives.
    pub fn placeholder_like(&self) -> EncodedData {
        let mut one = self.take(&[]);
        one.num_rows = 1;
        one.categorical.resize(self.num_categorical, 0);
        one.numeric.resize(self.num_numeric, 0.0);
        for s in &mut one.sequences {
            s.ids.resize(s.max_len, 0);
            s.lengths.push(0);
        }
        for d in &mut one.dense {
            d.values.resize(d.dim, 0.0);
        }
        one.labels.resize(self.num_tasks, 0.0);
        if let Some(groups) = &mut one.groups {
            groups.push(0);
        }
        one
    }

    /// Labels of one task, as a column.
    pub fn task_labels(&self, task: usize) -> Vec<f32> {
        self.labels
            .iter()
            .skip(task)
            .step_by(self.num_tasks.max(1))
            .copied()
            .collect()
    }

    /// The rows at `indices`, in that order.
    pub fn take(&self, indices: &[usize]) -> EncodedData {
        fn rows<T: Copy>(v: &[T], width: usize, indices: &[usize]) -> Vec<T> {
            let mut out = Vec::with_capacity(indices.len() * width);
            for &i in indices {
                out.extend_from_slice(&v[i * width..(i + 1) * width]);
            }
            out
        }
        EncodedData {
            num_rows: indices.len(),
            categorical: rows(&self.categorical, self.num_categorical, indices),
            num_categorical: self.num_categorical,
            numeric: rows(&self.numeric, self.num_numeric, indices),
            num_numeric: self.num_numeric,
            sequences: self
                .sequences
                .iter()
                .map(|s| EncodedSequence {
                    max_len: s.max_len,
                    ids: rows(&s.ids, s.max_len, indices),
                    lengths: rows(&s.lengths, 1, indices),
                })
                .collect(),
            dense: self
                .dense
                .iter()
                .map(|d| EncodedDense {
                    dim: d.dim,
                    values: rows(&d.values, d.dim, indices),
                })
                .collect(),
            labels: rows(&self.labels, self.num_tasks, indices),
            num_tasks: self.num_tasks,
            groups: self.groups.as_ref().map(|g| rows(g, 1, indices)),
        }
    }
}
