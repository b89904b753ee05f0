//! Column-wise tensors for one batch, built from pre-encoded rows.

use burn::prelude::*;
use burn::tensor::TensorData;
use ember_datasets::EncodedData;

/// One sequence field: ids padded with 0 and a mask that is 1 on real entries.
#[derive(Debug, Clone)]
pub struct SequenceBatch {
    /// `[B, L]` local ids.
    pub ids: Tensor<2, Int>,
    /// `[B, L]` 1.0 on real entries, 0.0 on padding.
    pub mask: Tensor<2>,
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
}

impl Batch {
    pub fn size(&self) -> usize {
        self.labels.dims()[0]
    }

    /// Uploads the rows `rows` of `data` (one copy per column group, no per-row allocation).
    pub fn from_rows(data: &EncodedData, rows: &[usize], device: &Device) -> Self {
        let b = rows.len();
        let int_matrix = |values: &[u32], width: usize| {
            let mut out = Vec::with_capacity(b * width);
            for &r in rows {
                out.extend(values[r * width..(r + 1) * width].iter().map(|&v| v as i32));
            }
            Tensor::<2, Int>::from_data(TensorData::new(out, [b, width]), device)
        };
        let float_matrix = |values: &[f32], width: usize| {
            let mut out = Vec::with_capacity(b * width);
            for &r in rows {
                out.extend_from_slice(&values[r * width..(r + 1) * width]);
            }
            Tensor::<2>::from_data(TensorData::new(out, [b, width]), device)
        };

        let categorical =
            (data.num_categorical > 0).then(|| int_matrix(&data.categorical, data.num_categorical));
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
                SequenceBatch {
                    ids: int_matrix(&s.ids, len),
                    mask: Tensor::from_data(TensorData::new(mask, [b, len]), device),
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
        }
    }
}
