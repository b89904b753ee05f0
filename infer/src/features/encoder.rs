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
use ember_datasets::preprocess::{FieldEncoder, transform_numeric};
use ember_datasets::schema::{FieldKind, Normalisation};
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
    Numeric {
        column: usize,
        normalisation: Normalisation,
        fill: f32,
    },
}

/// One field's value for [`RowEncoder::push_row`]: bytes as a file would
/// hold them, or a number already computed (a statistic feature).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Bytes(&'a [u8]),
    Number(f32),
}

impl<'a> From<&'a [u8]> for Cell<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Cell::Bytes(bytes)
    }
}

/// Encodes rows given as one byte slice per schema field.
#[derive(Debug, Clone)]
pub struct RowEncoder {
    encoders: Vec<FieldEncoder>,
    slots: Vec<Slot>,
    names: Vec<String>,
    /// Each field's token-hash seed (`Schema::hash_field`: a field that
    /// shares another's vocabulary hashes as that one).
    hash_fields: Vec<u32>,
    num_categorical: usize,
    num_numeric: usize,
    sequence_lens: Vec<usize>,
    num_tasks: usize,
}

impl RowEncoder {
    /// The encoder of a fitted preprocessor. Serving encodes categorical,
    /// sequence and numeric fields; a schema with dense fields is an error
    /// naming the field.
    pub fn new(preprocessor: &Preprocessor) -> Result<Self> {
        let mut slots = Vec::new();
        let mut num_categorical = 0;
        let mut num_numeric = 0;
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
                FieldKind::Numeric => {
                    slots.push(Slot::Numeric {
                        column: num_numeric,
                        normalisation: field.normalisation,
                        fill: field.fill,
                    });
                    num_numeric += 1;
                }
                other => bail!(
                    "field '{}' is {other:?}: the serving encoder takes categorical, sequence and numeric fields",
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
            hash_fields: (0..preprocessor.schema.fields.len())
                .map(|i| preprocessor.schema.hash_field(i))
                .collect(),
            num_categorical,
            num_numeric,
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
            numeric: Vec::with_capacity(rows * self.num_numeric),
            num_numeric: self.num_numeric,
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

    /// Whether field `f` is numeric.
    pub fn is_numeric(&self, f: usize) -> bool {
        matches!(self.slots.get(f), Some(Slot::Numeric { .. }))
    }

    /// Appends one row; `cells[f]` is field `f`'s value: raw bytes (empty =
    /// missing; a sequence's tokens separated by the schema's separator, the
    /// first `max_len` kept; a number as text), or for a numeric field a
    /// number. Numbers are normalised as training did. A wrong cell count,
    /// or a number for a field of ids, is an error naming the field.
    pub fn push_row(&self, out: &mut EncodedData, cells: &[Cell<'_>]) -> Result<()> {
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
        let numeric_start = out.numeric.len();
        out.numeric.resize(numeric_start + self.num_numeric, 0.0);
        for (f, (slot, &cell)) in self.slots.iter().zip(cells).enumerate() {
            let encoder = &self.encoders[f];
            let bytes = match (slot, cell) {
                (
                    Slot::Numeric {
                        column,
                        normalisation,
                        fill,
                    },
                    cell,
                ) => {
                    let x = match cell {
                        Cell::Number(x) => x,
                        Cell::Bytes(b) => parse_number(b).ok_or_else(|| {
                            anyhow::anyhow!(
                                "field '{}': '{}' is not a number",
                                self.names[f],
                                String::from_utf8_lossy(b)
                            )
                        })?,
                    };
                    let FieldEncoder::Numeric { shift, scale } = *encoder else {
                        bail!(
                            "field '{}' is numeric but its encoder is not",
                            self.names[f]
                        );
                    };
                    let x = transform_numeric(*normalisation, *fill, x);
                    out.numeric[numeric_start + column] = (x - shift) / scale;
                    continue;
                }
                (_, Cell::Bytes(b)) => b,
                (_, Cell::Number(_)) => {
                    bail!("field '{}' holds ids, not numbers", self.names[f])
                }
            };
            match *slot {
                Slot::Categorical { column } => {
                    let token = bytes.trim_ascii();
                    if !token.is_empty() {
                        out.categorical[row_start + column] =
                            encoder.id(token_hash(self.hash_fields[f], token));
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
                            seq.ids[start + kept] =
                                encoder.id(token_hash(self.hash_fields[f], token));
                            kept += 1;
                        }
                    }
                    seq.lengths.push(kept as u32);
                }
                Slot::Numeric { .. } => unreachable!("handled above"),
            }
        }
        out.labels.resize(out.labels.len() + self.num_tasks, 0.0);
        out.num_rows += 1;
        Ok(())
    }
}

/// A number as a CSV cell holds it; empty is missing (NaN, then the fill).
fn parse_number(bytes: &[u8]) -> Option<f32> {
    let text = std::str::from_utf8(bytes.trim_ascii()).ok()?;
    if text.is_empty() {
        return Some(f32::NAN);
    }
    text.parse().ok()
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
                FieldSpec {
                    fill: 0.5,
                    ..FieldSpec::numeric("x", ember_datasets::Normalisation::Log1p)
                },
                FieldSpec::numeric("z", ember_datasets::Normalisation::Standard),
            ],
            labels: vec!["y".into()],
            group_by: None,
            regression_labels: Vec::new(),
        };
        let rows: [[&[u8]; 5]; 4] = [
            [b"7", b"1|2|3", b"a", b"1.5", b"2"],
            [b" 8 ", b"", b"b", b"", b"-1"],
            [b"7", b"3", b"", b" 3 ", b"0.5"],
            [b"99", b"|4|", b"a", b"0", b"4"],
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
        let num = |f: usize| {
            RawColumn::Numeric(rows.iter().map(|r| parse_number(r[f]).unwrap()).collect())
        };
        let raw = RawTable {
            columns: vec![
                cat(0),
                RawColumn::TokenLists { offsets, tokens },
                cat(2),
                num(3),
                num(4),
            ],
            labels: vec![0.0; 4],
            num_tasks: 1,
            ..Default::default()
        };
        let pre = Preprocessor::fit(&schema, &raw.take(&[0, 1, 2])).unwrap();
        let expected = pre.transform(&raw).unwrap();
        let encoder = RowEncoder::new(&pre).unwrap();
        let mut out = encoder.start(4);
        for (i, r) in rows.iter().enumerate() {
            let mut cells: Vec<Cell> = r.iter().map(|&b| Cell::Bytes(b)).collect();
            if i == 3 {
                // A number given as a number encodes as its text does.
                cells[4] = Cell::Number(4.0);
            }
            encoder.push_row(&mut out, &cells).unwrap();
        }
        assert_eq!(
            out,
            EncodedData {
                groups: None,
                ..expected
            }
        );
        assert_eq!(out.num_numeric, 2);
        assert!(encoder.push_row(&mut out, &[Cell::Bytes(b"1")]).is_err());
        let mut bad: Vec<Cell> = rows[0].iter().map(|&b| Cell::Bytes(b)).collect();
        bad[3] = Cell::Bytes(b"abc");
        let err = encoder.push_row(&mut out, &bad).unwrap_err();
        assert!(err.to_string().contains("'x'"), "{err}");
        bad[3] = Cell::Number(1.0);
        bad[0] = Cell::Number(1.0);
        assert!(encoder.push_row(&mut out, &bad).is_err());
    }
}
