//! Encoding request rows straight into model ids on the serving path.
//!
//! Training reads a file into a [`RawTable`](ember_datasets::RawTable) and
//! encodes it column by column; serving has a few rows per request whose
//! cells are already byte slices (a request's JSON, a catalog's attribute
//! bytes, an id as the data wrote it). [`RowEncoder::push_row`]
//! hashes each cell exactly as the readers do (XXH3 of the trimmed bytes,
//! seeded by the field index) and looks the hash up in the artifact's
//! vocabulary, writing the id into the output columns: no `String`, no
//! per-feature allocation, no intermediate table. Its output equals
//! `Preprocessor::transform` of the same rows (tested).

use anyhow::{Result, bail};
use ember_datasets::hashing::token_hash;
use ember_datasets::preprocess::FieldEncoder;
use ember_datasets::schema::FieldKind;
use ember_datasets::{EncodedData, EncodedSequence, Preprocessor};

/// Where one schema field's ids go.
#[derive(Debug, Clone)]
enum Slot {
    Categorical {
        column: usize,
    },
    Sequence {
        index: usize,
        max_len: usize,
        separator: u8,
    },
}

/// Encodes rows given as one byte slice per schema field.
#[derive(Debug, Clone)]
pub struct RowEncoder {
    encoders: Vec<FieldEncoder>,
    slots: Vec<Slot>,
    names: Vec<String>,
    num_categorical: usize,
    sequence_lens: Vec<usize>,
    num_tasks: usize,
}

impl RowEncoder {
    /// The encoder of a fitted preprocessor. Serving encodes categorical
    /// and sequence fields; a schema with numeric or dense fields is an
    /// error naming the field.
    pub fn new(preprocessor: &Preprocessor) -> Result<Self> {
        let mut slots = Vec::new();
        let mut num_categorical = 0;
        let mut sequence_lens = Vec::new();
        for field in &preprocessor.schema.fields {
            match &field.kind {
                FieldKind::Categorical => {
                    slots.push(Slot::Categorical {
                        column: num_categorical,
                    });
                    num_categorical += 1;
                }
                FieldKind::Sequence { max_len, separator } => {
                    if !separator.is_ascii() {
                        bail!(
                            "field '{}': separator {separator:?} is not ASCII",
                            field.name
                        );
                    }
                    slots.push(Slot::Sequence {
                        index: sequence_lens.len(),
                        max_len: *max_len,
                        separator: *separator as u8,
                    });
                    sequence_lens.push(*max_len);
                }
                other => bail!(
                    "field '{}' is {other:?}: the serving encoder takes categorical and sequence fields",
                    field.name
                ),
            }
        }
        Ok(Self {
            encoders: preprocessor.encoders.clone(),
            slots,
            names: preprocessor
                .schema
                .fields
                .iter()
                .map(|f| f.name.clone())
                .collect(),
            num_categorical,
            sequence_lens,
            num_tasks: preprocessor.schema.labels.len(),
        })
    }

    /// Field names in the order `push_row` takes their cells.
    pub fn field_names(&self) -> &[String] {
        &self.names
    }

    /// Position of a field by name.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Empty output columns with room for `rows` rows.
    pub fn start(&self, rows: usize) -> EncodedData {
        EncodedData {
            num_rows: 0,
            categorical: Vec::with_capacity(rows * self.num_categorical),
            num_categorical: self.num_categorical,
            numeric: Vec::new(),
            num_numeric: 0,
            sequences: self
                .sequence_lens
                .iter()
                .map(|&max_len| EncodedSequence {
                    max_len,
                    ids: Vec::with_capacity(rows * max_len),
                    lengths: Vec::with_capacity(rows),
                })
                .collect(),
            dense: Vec::new(),
            labels: Vec::with_capacity(rows * self.num_tasks),
            num_tasks: self.num_tasks,
            groups: None,
        }
    }

    /// Appends one row; `cells[f]` is field `f`'s raw bytes (empty = missing;
    /// a sequence's tokens separated by the schema's separator, the first
    /// `max_len` kept). A wrong cell count is an error naming the fields.
    pub fn push_row(&self, out: &mut EncodedData, cells: &[&[u8]]) -> Result<()> {
        if cells.len() != self.slots.len() {
            bail!(
                "{} cells for {} fields ({})",
                cells.len(),
                self.slots.len(),
                self.names.join(", ")
            );
        }
        let row_start = out.categorical.len();
        out.categorical.resize(row_start + self.num_categorical, 0);
        for (f, (slot, bytes)) in self.slots.iter().zip(cells).enumerate() {
            let encoder = &self.encoders[f];
            match *slot {
                Slot::Categorical { column } => {
                    let token = bytes.trim_ascii();
                    if !token.is_empty() {
                        out.categorical[row_start + column] =
                            encoder.id(token_hash(f as u32, token));
                    }
                }
                Slot::Sequence {
                    index,
                    max_len,
                    separator,
                } => {
                    let seq = &mut out.sequences[index];
                    let start = seq.ids.len();
                    seq.ids.resize(start + max_len, 0);
                    let mut kept = 0;
                    if !bytes.trim_ascii().is_empty() {
                        for token in bytes.split(|&b| b == separator) {
                            let token = token.trim_ascii();
                            if token.is_empty() {
                                continue;
                            }
                            if kept == max_len {
                                break;
                            }
                            seq.ids[start + kept] = encoder.id(token_hash(f as u32, token));
                            kept += 1;
                        }
                    }
                    seq.lengths.push(kept as u32);
                }
            }
        }
        out.labels.resize(out.labels.len() + self.num_tasks, 0.0);
        out.num_rows += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_datasets::schema::{FieldSpec, Schema};
    use ember_datasets::{RawColumn, RawTable};

    #[test]
    fn equals_the_training_preprocessor() {
        let schema = Schema {
            fields: vec![
                FieldSpec::categorical("user"),
                FieldSpec::sequence("genres", 2),
                FieldSpec::categorical("item"),
            ],
            labels: vec!["y".into()],
            group_by: None,
        };
        let rows: [[&[u8]; 3]; 4] = [
            [b"7", b"1|2|3", b"a"],
            [b" 8 ", b"", b"b"],
            [b"7", b"3", b""],
            [b"99", b"|4|", b"a"],
        ];
        let h = |f: u32, t: &[u8]| token_hash(f, t.trim_ascii());
        let mut offsets = vec![0];
        let mut tokens = Vec::new();
        for r in &rows {
            tokens.extend(
                r[1].split(|&b| b == b'|')
                    .filter(|t| !t.is_empty())
                    .map(|t| h(1, t)),
            );
            offsets.push(tokens.len());
        }
        let cat = |f: usize| {
            RawColumn::Tokens(
                rows.iter()
                    .map(|r| (!r[f].trim_ascii().is_empty()).then(|| h(f as u32, r[f])))
                    .collect(),
            )
        };
        let raw = RawTable {
            columns: vec![cat(0), RawColumn::TokenLists { offsets, tokens }, cat(2)],
            labels: vec![0.0; 4],
            num_tasks: 1,
            ..Default::default()
        };
        let pre = Preprocessor::fit(&schema, &raw.take(&[0, 1, 2])).unwrap();
        let expected = pre.transform(&raw).unwrap();
        let encoder = RowEncoder::new(&pre).unwrap();
        let mut out = encoder.start(4);
        for r in &rows {
            encoder.push_row(&mut out, r).unwrap();
        }
        assert_eq!(
            out,
            EncodedData {
                groups: None,
                ..expected
            }
        );
        assert!(encoder.push_row(&mut out, &[b"1"]).is_err());
    }
}
