//! A table as read from a file, before vocabularies and normalisation.
//!
//! Column-wise, one column per schema field, in schema order. Categorical
//! tokens are already hashed (see `hashing`), so a raw table holds no strings.

/// One field's values over all rows.
#[derive(Debug, Clone, PartialEq)]
pub enum RawColumn {
    /// Token hashes, one per row; `None` where the cell was empty.
    Tokens(Vec<Option<u64>>),
    /// Parsed numbers, one per row; NaN where the cell was empty.
    Numeric(Vec<f32>),
    /// Token lists in CSR layout: row r holds `tokens[offsets[r]..offsets[r+1]]`.
    TokenLists {
        offsets: Vec<usize>,
        tokens: Vec<u64>,
    },
    /// Dense vectors, row-major `[rows, dim]`.
    Vectors { dim: usize, values: Vec<f32> },
}

impl RawColumn {
    pub fn len(&self) -> usize {
        match self {
            RawColumn::Tokens(v) => v.len(),
            RawColumn::Numeric(v) => v.len(),
            RawColumn::TokenLists { offsets, .. } => offsets.len().saturating_sub(1),
            RawColumn::Vectors { dim, values } => values.len() / (*dim).max(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Rows read from one source.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawTable {
    /// One column per schema field, in schema order.
    pub columns: Vec<RawColumn>,
    /// Row-major labels `[rows, tasks]`.
    pub labels: Vec<f32>,
    pub num_tasks: usize,
    /// Group key per row for gAUC (hash of the `group_by` column), if any.
    pub groups: Option<Vec<u64>>,
    /// Rows skipped as malformed (only when the reader was told to skip).
    pub skipped_rows: u64,
}

impl RawTable {
    pub fn num_rows(&self) -> usize {
        self.labels
            .len()
            .checked_div(self.num_tasks)
            .unwrap_or_else(|| self.columns.first().map_or(0, RawColumn::len))
    }

    /// The rows at `indices`, in that order (for splits and shuffles).
    pub fn take(&self, indices: &[usize]) -> RawTable {
        let columns = self
            .columns
            .iter()
            .map(|c| match c {
                RawColumn::Tokens(v) => RawColumn::Tokens(indices.iter().map(|&i| v[i]).collect()),
                RawColumn::Numeric(v) => {
                    RawColumn::Numeric(indices.iter().map(|&i| v[i]).collect())
                }
                RawColumn::TokenLists { offsets, tokens } => {
                    let mut new_offsets = Vec::with_capacity(indices.len() + 1);
                    let mut new_tokens = Vec::new();
                    new_offsets.push(0);
                    for &i in indices {
                        new_tokens.extend_from_slice(&tokens[offsets[i]..offsets[i + 1]]);
                        new_offsets.push(new_tokens.len());
                    }
                    RawColumn::TokenLists {
                        offsets: new_offsets,
                        tokens: new_tokens,
                    }
                }
                RawColumn::Vectors { dim, values } => RawColumn::Vectors {
                    dim: *dim,
                    values: indices
                        .iter()
                        .flat_map(|&i| values[i * dim..(i + 1) * dim].iter().copied())
                        .collect(),
                },
            })
            .collect();
        let t = self.num_tasks;
        RawTable {
            columns,
            labels: indices
                .iter()
                .flat_map(|&i| self.labels[i * t..(i + 1) * t].iter().copied())
                .collect(),
            num_tasks: t,
            groups: self
                .groups
                .as_ref()
                .map(|g| indices.iter().map(|&i| g[i]).collect()),
            skipped_rows: 0,
        }
    }
}
