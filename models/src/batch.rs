//! Column-wise tensors for one batch, built from pre-encoded rows.

use burn::prelude::*;
use burn::tensor::TensorData;
use ember_datasets::EncodedData;

use crate::layers::row_sparse::RowRecorder;

/// One sequence field: ids padded with 0 and a mask that is 1 on real entries.
#[derive(Debug, Clone)]
pub struct SequenceBatch {
    /// `[B, L]` local ids.
    pub ids: Tensor<2, Int>,
    /// `[B, L]` 1.0 on real entries, 0.0 on padding.
    pub mask: Tensor<2>,
    /// The same ids on the host, row-major: row-sparse lookups dedupe them
    /// without reading the device back.
    pub ids_host: Vec<i32>,
}

/// A batch of rows as tensors, one group per field kind (see `FeatureLayout`).
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[B, F_cat]` local ids (0 = OOV), or `None` when the data has no categorical field.
    pub categorical: Option<Tensor<2, Int>>,
    /// `[B, F_num]` normalised values.
    pub numeric: Option<Tensor<2>>,
    pub sequences: Vec<SequenceBatch>,
    /// One `[B, d]` tensor per dense-vector field.
    pub dense: Vec<Tensor<2>>,
    /// `[B, T]` labels.
    pub labels: Tensor<2>,
    /// `categorical` on the host, row-major `[B · F_cat]` (empty when there is none).
    pub categorical_host: Vec<i32>,
    /// Set by [`Batch::record_rows`]: embedding tables then look rows up
    /// row-sparsely and leave the gathered rows here for the optimizer.
    pub row_sparse: Option<RowRecorder>,
}

impl Batch {
    pub fn size(&self) -> usize {
        self.labels.dims()[0]
    }

    /// Uploads the rows `rows` of `data` (one copy per column group, no per-row allocation).
    pub fn from_rows(data: &EncodedData, rows: &[usize], device: &Device) -> Self {
        let b = rows.len();
        let host_ids = |values: &[u32], width: usize| {
            let mut out = Vec::with_capacity(b * width);
            for &r in rows {
                out.extend(values[r * width..(r + 1) * width].iter().map(|&v| v as i32));
            }
            out
        };
        let upload_ids = |ids: &[i32], width: usize| {
            Tensor::<2, Int>::from_data(TensorData::new(ids.to_vec(), [b, width]), device)
        };
        let float_matrix = |values: &[f32], width: usize| {
            let mut out = Vec::with_capacity(b * width);
            for &r in rows {
                out.extend_from_slice(&values[r * width..(r + 1) * width]);
            }
            Tensor::<2>::from_data(TensorData::new(out, [b, width]), device)
        };

        let categorical_host = host_ids(&data.categorical, data.num_categorical);
        let categorical =
            (data.num_categorical > 0).then(|| upload_ids(&categorical_host, data.num_categorical));
        let numeric = (data.num_numeric > 0).then(|| float_matrix(&data.numeric, data.num_numeric));
        let sequences = data
            .sequences
            .iter()
            .map(|s| {
                let len = s.max_len;
                let mut mask = Vec::with_capacity(b * len);
                for &r in rows {
                    let n = s.lengths[r] as usize;
                    mask.extend((0..len).map(|i| if i < n { 1.0f32 } else { 0.0 }));
                }
                let ids_host = host_ids(&s.ids, len);
                SequenceBatch {
                    ids: upload_ids(&ids_host, len),
                    mask: Tensor::from_data(TensorData::new(mask, [b, len]), device),
                    ids_host,
                }
            })
            .collect();
        let dense = data
            .dense
            .iter()
            .map(|d| float_matrix(&d.values, d.dim))
            .collect();
        // Unlabelled rows (prediction input) get zero labels of one task.
        let labels = if data.num_tasks > 0 {
            float_matrix(&data.labels, data.num_tasks)
        } else {
            Tensor::zeros([b, 1], device)
        };
        Batch {
            categorical,
            numeric,
            sequences,
            dense,
            labels,
            categorical_host,
            row_sparse: None,
        }
    }

    /// Switches this batch to row-sparse embedding lookups (training only):
    /// every table gathers the distinct rows the batch uses once, as a fresh
    /// leaf, and records it in the returned recorder, whose rows' gradients
    /// the row-sparse optimizer applies. The tables themselves get no gradient.
    pub fn record_rows(&mut self) -> RowRecorder {
        self.record_rows_with(RowRecorder::default())
    }

    /// As [`Batch::record_rows`], with `recorder` (e.g. one whose rows come
    /// from a sharded table's owners).
    pub fn record_rows_with(&mut self, recorder: RowRecorder) -> RowRecorder {
        self.row_sparse = Some(recorder.clone());
        recorder
    }
}
