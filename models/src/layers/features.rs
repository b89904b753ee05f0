//! The feature layer ("sparse arch"): a [`Batch`] becomes one vector per field.
//!
//! Every ranking model starts here, so the embedding path (lookups through
//! `gather`, the row layout of the tables) lives in this file alone.
//!
//! - categorical field f: `e_f = E[offset_f + id_f]`
//! - sequence field s: the masked mean of its entries' embeddings (or
//!   another pooling, e.g. attention, through `forward_pooled`)
//! - numeric field n: `e_n = x_n · v_n` (a learned vector scaled by the value)
//! - dense-vector field: a linear projection to the embedding size
//!
//! Fields may have different embedding sizes (`field_dims`); each distinct
//! size gets its own table, and the output is zero-padded to the largest size
//! so kernel interactions can pair fields of different sizes exactly.

use burn::module::Param;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use ember_datasets::FeatureLayout;

use super::embedding::{EmbeddingTable, EmbeddingTableConfig};
use super::row_sparse::RowRecorder;
use super::sequence_pooling::SequencePooling;
use crate::batch::Batch;

#[derive(Config, Debug)]
pub struct FeatureConfig {
    /// Embedding size of every field without an entry in `field_dims`.
    #[config(default = 10)]
    pub embedding_dim: usize,
    /// Per-field embedding sizes, in field order (categorical, sequence,
    /// numeric, dense); empty means `embedding_dim` everywhere. Only
    /// categorical and sequence fields may differ from `embedding_dim`.
    #[config(default = "Vec::new()")]
    pub field_dims: Vec<usize>,
    #[config(default = 0.01)]
    pub init_std: f64,
    /// Each sequence field's pooling, in layout order; empty = mean for all.
    #[config(default = "Vec::new()")]
    pub sequence_pooling: Vec<SequencePooling>,
}

/// The field vectors of a batch.
#[derive(Debug, Clone)]
pub struct FieldVectors {
    /// `[B, F, D_max]`, zero-padded past each field's own size.
    pub vectors: Tensor<3>,
    /// Each field's embedding size, in the order of `vectors`.
    pub dims: Vec<usize>,
}

impl FieldVectors {
    pub fn num_fields(&self) -> usize {
        self.dims.len()
    }

    /// Whether every field has the same embedding size (FM and friends need it).
    pub fn uniform(&self) -> bool {
        self.dims.windows(2).all(|w| w[0] == w[1])
    }

    /// `[B, F · D]`: the input of a deep tower.
    pub fn flatten(&self) -> Tensor<2> {
        let [b, f, d] = self.vectors.dims();
        self.vectors.clone().reshape([b, f * d])
    }
}

/// Which batch columns one embedding table serves, and where each field's rows start.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFields {
    /// Columns of `Batch::categorical` served by this table.
    pub categorical: Vec<usize>,
    pub categorical_offsets: Vec<i32>,
    /// Indices into `Batch::sequences` served by this table.
    pub sequences: Vec<usize>,
    pub sequence_offsets: Vec<i32>,
    /// Total rows: the sum of the served fields' cardinalities.
    pub rows: usize,
    /// Whether `categorical` is every categorical column in order, so the
    /// batch's id matrix is used as it is, without a column select.
    pub all_categorical: bool,
}

impl TableFields {
    /// Lays out the given categorical and sequence fields of `layout` in one table.
    pub fn new(layout: &FeatureLayout, categorical: Vec<usize>, sequences: Vec<usize>) -> Self {
        let mut rows = 0usize;
        let mut offset = |cardinality: usize| {
            let at = rows as i32;
            rows += cardinality;
            at
        };
        let categorical_offsets: Vec<i32> = categorical
            .iter()
            .map(|&c| offset(layout.categorical[c].1))
            .collect();
        // A sequence whose ids are a categorical field's of this table
        // (a history of `item_id`s) reads that field's rows: one
        // embedding per item, whether it is the candidate or a behaviour.
        let sequence_offsets = sequences
            .iter()
            .map(|&s| {
                let shared = layout
                    .sequence_shares(s)
                    .and_then(|c| categorical.iter().position(|&mine| mine == c));
                match shared {
                    Some(p) => categorical_offsets[p],
                    None => offset(layout.sequences[s].1),
                }
            })
            .collect();
        let all_categorical = categorical.len() == layout.categorical.len()
            && categorical.iter().enumerate().all(|(i, &c)| i == c);
        Self {
            categorical,
            categorical_offsets,
            sequences,
            sequence_offsets,
            rows,
            all_categorical,
        }
    }

    pub fn num_fields(&self) -> usize {
        self.categorical.len() + self.sequences.len()
    }

    /// The served fields' vectors, `[B, k, dim]` (categorical then
    /// sequences, each sequence mean-pooled over its real entries).
    pub fn lookup(&self, table: &EmbeddingTable, batch: &Batch) -> Option<Tensor<3>> {
        self.lookup_pooled(table, batch, &|_, embedded, mask| {
            masked_mean(embedded, mask)
        })
    }

    /// As [`TableFields::lookup`], with each sequence pooled by `pool`.
    pub fn lookup_pooled(
        &self,
        table: &EmbeddingTable,
        batch: &Batch,
        pool: &SequencePool<'_>,
    ) -> Option<Tensor<3>> {
        if self.num_fields() == 0 {
            return None;
        }
        if let Some(recorder) = &batch.row_sparse {
            return Some(self.lookup_row_sparse(table, batch, recorder, pool));
        }
        let mut pieces = Vec::with_capacity(2);
        if !self.categorical.is_empty() {
            let ids = batch
                .categorical
                .clone()
                .expect("layout has categorical fields but the batch has none");
            let device = ids.device();
            let ids = if self.all_categorical {
                ids
            } else {
                let cols = self
                    .categorical
                    .iter()
                    .map(|&c| c as i32)
                    .collect::<Vec<_>>();
                let n = cols.len();
                ids.select(1, Tensor::from_data(TensorData::new(cols, [n]), &device))
            };
            let offsets = Tensor::<2, Int>::from_data(
                TensorData::new(
                    self.categorical_offsets.clone(),
                    [1, self.categorical.len()],
                ),
                &device,
            );
            pieces.push(table.lookup(ids + offsets));
        }
        for (&s, &offset) in self.sequences.iter().zip(&self.sequence_offsets) {
            let seq = &batch.sequences[s];
            let embedded = table.lookup(seq.ids.clone().add_scalar(offset)); // [B, L, D]
            pieces.push(pool(s, embedded, seq.mask.clone()));
        }
        Some(Tensor::cat(pieces, 1))
    }

    /// As [`TableFields::lookup`], but through one row-sparse gather of all
    /// the distinct rows the served fields use (see `layers::row_sparse`).
    fn lookup_row_sparse(
        &self,
        table: &EmbeddingTable,
        batch: &Batch,
        recorder: &RowRecorder,
        pool: &SequencePool<'_>,
    ) -> Tensor<3> {
        let b = batch.size();
        let k = self.categorical.len();
        let width = batch.categorical_host.len() / b.max(1);
        // Global row ids of every served field: categorical `[B, k]` first,
        // then each sequence `[B, L]`, all row-major.
        let mut ids = Vec::with_capacity(b * k);
        for row in batch.categorical_host.chunks_exact(width.max(1)).take(b) {
            ids.extend(
                self.categorical
                    .iter()
                    .zip(&self.categorical_offsets)
                    .map(|(&c, &offset)| row[c] + offset),
            );
        }
        let mut lengths = Vec::with_capacity(self.sequences.len());
        for (&s, &offset) in self.sequences.iter().zip(&self.sequence_offsets) {
            let host = &batch.sequences[s].ids_host;
            ids.extend(host.iter().map(|&id| id + offset));
            lengths.push(host.len() / b.max(1));
        }
        let flat = table.lookup_row_sparse(&ids, recorder); // [N, D]
        let d = table.dim();
        let mut pieces = Vec::with_capacity(1 + lengths.len());
        let mut at = 0;
        if k > 0 {
            pieces.push(flat.clone().narrow(0, 0, b * k).reshape([b, k, d]));
            at = b * k;
        }
        for (&s, &len) in self.sequences.iter().zip(&lengths) {
            let embedded = flat.clone().narrow(0, at, b * len).reshape([b, len, d]);
            at += b * len;
            pieces.push(pool(s, embedded, batch.sequences[s].mask.clone()));
        }
        Tensor::cat(pieces, 1)
    }
}

/// Pools one sequence field: `(index into Batch::sequences, embeddings
/// [B, L, D], mask [B, L])` → `[B, 1, D]`.
pub type SequencePool<'a> = dyn Fn(usize, Tensor<3>, Tensor<2>) -> Tensor<3> + 'a;

/// The mean of the real entries, `[B, L, D]` with mask `[B, L]` → `[B, 1, D]`;
/// an empty sequence pools to zeros.
pub fn masked_mean(embedded: Tensor<3>, mask: Tensor<2>) -> Tensor<3> {
    let count = mask.clone().sum_dim(1).clamp_min(1.0); // [B, 1]
    (embedded * mask.unsqueeze_dim::<3>(2)).sum_dim(1) / count.unsqueeze_dim::<3>(2)
}

#[derive(Module, Debug)]
pub struct FeatureLayer {
    /// One table per distinct embedding size.
    pub tables: Vec<EmbeddingTable>,
    #[module(skip)]
    pub table_fields: Vec<TableFields>,
    /// `[F_num, D]`: one learned vector per numeric field.
    pub numeric: Option<Param<Tensor<2>>>,
    /// One projection per dense-vector field.
    pub dense: Vec<Linear>,
    pub embedding_dim: usize,
    /// How each sequence field is pooled (`forward`).
    #[module(skip)]
    pub pooling: Vec<SequencePooling>,
}

impl FeatureConfig {
    /// The embedding size of each field, in field order.
    pub fn dims_for(&self, layout: &FeatureLayout) -> Result<Vec<usize>, String> {
        let n = layout.num_fields();
        if self.field_dims.is_empty() {
            return Ok(vec![self.embedding_dim; n]);
        }
        if self.field_dims.len() != n {
            return Err(format!(
                "field_dims lists {} sizes but the data has {n} fields",
                self.field_dims.len()
            ));
        }
        let sparse = layout.categorical.len() + layout.sequences.len();
        if let Some(i) = (sparse..n).find(|&i| self.field_dims[i] != self.embedding_dim) {
            return Err(format!(
                "field {i} is numeric or dense; only categorical and sequence fields may have their own size"
            ));
        }
        Ok(self.field_dims.clone())
    }

    pub fn init(&self, layout: &FeatureLayout, device: &Device) -> Result<FeatureLayer, String> {
        let dims = self.dims_for(layout)?;
        let n_cat = layout.categorical.len();
        let mut distinct: Vec<usize> = dims[..n_cat + layout.sequences.len()].to_vec();
        distinct.sort_unstable();
        distinct.dedup();

        let mut tables = Vec::new();
        let mut table_fields = Vec::new();
        for &dim in &distinct {
            let categorical = (0..n_cat).filter(|&c| dims[c] == dim).collect();
            let sequences = (0..layout.sequences.len())
                .filter(|&s| dims[n_cat + s] == dim)
                .collect();
            let fields = TableFields::new(layout, categorical, sequences);
            tables.push(
                EmbeddingTableConfig::new(fields.rows, dim)
                    .with_init_std(self.init_std)
                    .init(device),
            );
            table_fields.push(fields);
        }
        let numeric = (!layout.numeric.is_empty()).then(|| {
            Initializer::Normal {
                mean: 0.0,
                std: self.init_std,
            }
            .init([layout.numeric.len(), self.embedding_dim], device)
        });
        let dense = layout
            .dense
            .iter()
            .map(|(_, d)| LinearConfig::new(*d, self.embedding_dim).init(device))
            .collect();
        let pooling = if self.sequence_pooling.is_empty() {
            vec![SequencePooling::Mean; layout.sequences.len()]
        } else if self.sequence_pooling.len() == layout.sequences.len() {
            self.sequence_pooling.clone()
        } else {
            return Err(format!(
                "sequence_pooling lists {} poolings but the data has {} sequence fields",
                self.sequence_pooling.len(),
                layout.sequences.len()
            ));
        };
        Ok(FeatureLayer {
            tables,
            table_fields,
            numeric,
            dense,
            embedding_dim: self.embedding_dim,
            pooling,
        })
    }
}

impl FeatureLayer {
    /// Field vectors, each sequence pooled as its field asks (mean by default).
    pub fn forward(&self, batch: &Batch) -> FieldVectors {
        self.forward_pooled(batch, &|s, embedded, mask| {
            self.pooling
                .get(s)
                .copied()
                .unwrap_or_default()
                .pool(embedded, mask)
        })
    }

    /// Field vectors, each sequence pooled by `pool` (e.g. attention).
    pub fn forward_pooled(&self, batch: &Batch, pool: &SequencePool<'_>) -> FieldVectors {
        let max_dim = self
            .tables
            .iter()
            .map(EmbeddingTable::dim)
            .chain([self.embedding_dim])
            .max()
            .unwrap_or(self.embedding_dim);
        let pad = |x: Tensor<3>, d: usize| {
            if d == max_dim {
                return x;
            }
            let [b, k, _] = x.dims();
            let zeros = Tensor::zeros([b, k, max_dim - d], &x.device());
            Tensor::cat(vec![x, zeros], 2)
        };

        let mut pieces = Vec::new();
        let mut dims = Vec::new();
        for (table, fields) in self.tables.iter().zip(&self.table_fields) {
            if let Some(v) = fields.lookup_pooled(table, batch, pool) {
                dims.extend(std::iter::repeat_n(table.dim(), fields.num_fields()));
                pieces.push(pad(v, table.dim()));
            }
        }
        if let (Some(weight), Some(x)) = (&self.numeric, &batch.numeric) {
            let [f_num, d] = weight.dims();
            let v = x.clone().unsqueeze_dim::<3>(2) * weight.val().reshape([1, f_num, d]);
            dims.extend(std::iter::repeat_n(d, f_num));
            pieces.push(pad(v, d));
        }
        for (proj, x) in self.dense.iter().zip(&batch.dense) {
            dims.push(self.embedding_dim);
            pieces.push(pad(
                proj.forward(x.clone()).unsqueeze_dim(1),
                self.embedding_dim,
            ));
        }
        FieldVectors {
            vectors: Tensor::cat(pieces, 1),
            dims,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_datasets::{EncodedData, EncodedSequence};

    /// `item_id` (4 ids) and a `history` of item ids sharing its vocabulary.
    fn layout(shared: bool) -> FeatureLayout {
        FeatureLayout {
            sequence_vocab_of: if shared { vec![Some(0)] } else { Vec::new() },
            categorical: vec![("item_id".into(), 4)],
            numeric: Vec::new(),
            sequences: vec![("history".into(), 4, 2)],
            dense: Vec::new(),
            tasks: vec!["y".into()],
        }
    }

    #[test]
    fn a_sequence_sharing_a_fields_ids_reads_the_same_rows() {
        let device = Device::flex();
        let data = EncodedData {
            num_rows: 2,
            categorical: vec![2, 3],
            num_categorical: 1,
            sequences: vec![EncodedSequence {
                max_len: 2,
                ids: vec![2, 0, 3, 1],
                lengths: vec![1, 2],
            }],
            labels: vec![1.0, 0.0],
            num_tasks: 1,
            ..Default::default()
        };
        let config = FeatureConfig::new().with_embedding_dim(3);
        let separate = config.init(&layout(false), &device).unwrap();
        assert_eq!(separate.table_fields[0].rows, 8);
        let shared = config.init(&layout(true), &device).unwrap();
        assert_eq!(shared.table_fields[0].rows, 4, "no rows of its own");
        for row_sparse in [false, true] {
            let mut batch = Batch::from_rows(&data, &[0, 1], &device);
            if row_sparse {
                drop(batch.record_rows());
            }
            let v = shared
                .forward(&batch)
                .vectors
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            // [B=2, F=2, D=3]: row 0's history is [item 2] alone, so its
            // pooled vector is item 2's, which is row 0's item vector.
            assert_eq!(v[0..3], v[3..6], "row-sparse {row_sparse}");
            assert_ne!(v[6..9], v[9..12]);
        }
    }
}
