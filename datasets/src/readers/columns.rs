//! Building a [`RawTable`] row by row from raw byte cells.
//!
//! The text readers (libFM, CSV, Criteo, MovieLens) all split a line into byte
//! slices and hand them here, so number parsing, token hashing, validation and
//! the skip-or-fail policy live in one place.

use std::path::Path;

use crate::error::{DataError, Result};
use crate::hashing::token_hash;
use crate::raw::{RawColumn, RawTable};
use crate::schema::{FieldKind, Schema};

/// How a reader treats malformed rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Skip malformed rows (counting them in `RawTable::skipped_rows`, with
    /// one warning at the end) instead of failing on the first.
    pub skip_bad_rows: bool,
    /// Read only this share of the file (a rank of a distributed job);
    /// `None` reads all of it. See [`super::file_shard`].
    pub shard: Option<super::file_shard::FileShard>,
}

impl ReadOptions {
    pub fn skipping() -> Self {
        Self {
            skip_bad_rows: true,
            ..Self::default()
        }
    }
}

/// A problem in one row: the field (or label) it is in, and what is wrong.
/// Only built on the error path, so its `String`s cost nothing on good rows.
pub type CellError = (String, String);

/// The seed of group-key hashes (kept apart from every field index).
pub const GROUP_HASH_FIELD: u32 = u32::MAX;

/// Column buffers for one schema, filled a row at a time. A row is validated
/// completely before anything is appended, so a skipped bad row leaves no
/// partial values behind. Scratch buffers are reused: no allocation per row.
pub struct ColumnsBuilder<'a> {
    schema: &'a Schema,
    columns: Vec<RawColumn>,
    labels: Vec<f32>,
    groups: Option<Vec<u64>>,
    rows: usize,
    /// Parsed numbers of the row being validated (numeric and dense fields).
    numbers: Vec<f32>,
    label_values: Vec<f32>,
    /// Each field's hash seed ([`Schema::hash_field`]).
    hash_fields: Vec<u32>,
}

/// Parses a decimal number; an empty (or all-blank) cell is NaN (missing).
/// `nan`, `inf` and numbers beyond f32's range are errors: a non-finite
/// input would poison every statistic and gradient it touches.
pub fn parse_number(bytes: &[u8]) -> std::result::Result<f32, String> {
    let bytes = bytes.trim_ascii();
    if bytes.is_empty() {
        return Ok(f32::NAN);
    }
    let value = std::str::from_utf8(bytes)
        .ok()
        .and_then(|t| t.parse::<f32>().ok())
        .ok_or_else(|| format!("'{}' is not a number", String::from_utf8_lossy(bytes)))?;
    if !value.is_finite() {
        return Err(format!(
            "'{}' is not a finite number",
            String::from_utf8_lossy(bytes)
        ));
    }
    Ok(value)
}

/// Checks a label value against its task: present, and within [0, 1]
/// unless the schema declares it a regression label.
pub fn check_label(schema: &Schema, name: &str, v: f32) -> std::result::Result<(), String> {
    if v.is_nan() {
        return Err("label is empty".into());
    }
    if schema.is_binary_label(name) && !(0.0..=1.0).contains(&v) {
        return Err(format!(
            "label {v} is outside [0, 1], which a binary task needs (a real-valued target: list it in the schema's regression_labels)"
        ));
    }
    Ok(())
}

impl<'a> ColumnsBuilder<'a> {
    pub fn new(schema: &'a Schema) -> Self {
        let columns = schema
            .fields
            .iter()
            .map(|f| match f.kind {
                FieldKind::Categorical => RawColumn::Tokens(Vec::new()),
                FieldKind::Numeric => RawColumn::Numeric(Vec::new()),
                FieldKind::Sequence { .. } => RawColumn::TokenLists {
                    offsets: vec![0],
                    tokens: Vec::new(),
                },
                FieldKind::Dense { dim, .. } => RawColumn::Vectors {
                    dim,
                    values: Vec::new(),
                },
            })
            .collect();
        Self {
            schema,
            columns,
            labels: Vec::new(),
            groups: schema.group_by.as_ref().map(|_| Vec::new()),
            rows: 0,
            numbers: Vec::new(),
            label_values: Vec::new(),
            hash_fields: (0..schema.fields.len())
                .map(|i| schema.hash_field(i))
                .collect(),
        }
    }

    /// Appends one row. `cell(i)` gives field i's bytes, `label(t)` task t's
    /// bytes, `group` the group key's bytes (`None` cells read as empty). On
    /// error nothing is appended and the error names the field.
    pub fn push_row<'c>(
        &mut self,
        cell: impl Fn(usize) -> Option<&'c [u8]>,
        label: impl Fn(usize) -> Option<&'c [u8]>,
        group: Option<&[u8]>,
    ) -> std::result::Result<(), CellError> {
        // Validate everything first (numbers, vector sizes, labels).
        self.numbers.clear();
        for (i, field) in self.schema.fields.iter().enumerate() {
            let bytes = cell(i).unwrap_or(b"");
            match &field.kind {
                FieldKind::Numeric => self
                    .numbers
                    .push(parse_number(bytes).map_err(|m| (field.name.clone(), m))?),
                FieldKind::Dense { dim, separator } => {
                    let mut count = 0;
                    for part in split(bytes, *separator) {
                        let v = parse_number(part).map_err(|m| (field.name.clone(), m))?;
                        if v.is_nan() {
                            return Err((field.name.clone(), "empty vector component".into()));
                        }
                        self.numbers.push(v);
                        count += 1;
                    }
                    if count != *dim {
                        return Err((
                            field.name.clone(),
                            format!("vector has {count} values, expected {dim}"),
                        ));
                    }
                }
                FieldKind::Categorical | FieldKind::Sequence { .. } => {}
            }
        }
        self.label_values.clear();
        for (t, name) in self.schema.labels.iter().enumerate() {
            let v = parse_number(label(t).unwrap_or(b"")).map_err(|m| (name.clone(), m))?;
            check_label(self.schema, name, v).map_err(|m| (name.clone(), m))?;
            self.label_values.push(v);
        }
        // Commit.
        let mut numbers = self.numbers.iter().copied();
        for (i, (field, column)) in self.schema.fields.iter().zip(&mut self.columns).enumerate() {
            let bytes = cell(i).unwrap_or(b"");
            match column {
                RawColumn::Tokens(v) => {
                    let trimmed = bytes.trim_ascii();
                    let seed = self.hash_fields[i];
                    v.push((!trimmed.is_empty()).then(|| token_hash(seed, trimmed)));
                }
                RawColumn::Numeric(v) => v.push(numbers.next().unwrap_or(f32::NAN)),
                RawColumn::TokenLists { offsets, tokens } => {
                    let separator = match field.kind {
                        FieldKind::Sequence { separator, .. } => separator,
                        _ => '|',
                    };
                    let seed = self.hash_fields[i];
                    tokens.extend(
                        split(bytes, separator)
                            .map(<[u8]>::trim_ascii)
                            .filter(|t| !t.is_empty())
                            .map(|t| token_hash(seed, t)),
                    );
                    offsets.push(tokens.len());
                }
                RawColumn::Vectors { dim, values } => {
                    values.extend(numbers.by_ref().take(*dim));
                }
            }
        }
        self.labels.extend_from_slice(&self.label_values);
        if let Some(groups) = &mut self.groups {
            groups.push(token_hash(
                GROUP_HASH_FIELD,
                group.unwrap_or(b"").trim_ascii(),
            ));
        }
        self.rows += 1;
        Ok(())
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The finished table; an input without a single good row is an error.
    pub fn finish(self, path: &Path, skipped_rows: u64) -> Result<RawTable> {
        self.finish_read(path, skipped_rows, ReadOptions::default())
    }

    /// As [`ColumnsBuilder::finish`] for a read with `options`: a share of
    /// a file split between ranks may hold no rows (a small file, many
    /// ranks) without being an error; a whole file may not.
    pub fn finish_read(
        self,
        path: &Path,
        skipped_rows: u64,
        options: ReadOptions,
    ) -> Result<RawTable> {
        let share_of_many = options.shard.is_some_and(|s| s.count > 1);
        if self.rows == 0 && !(share_of_many && skipped_rows == 0) {
            let message = if skipped_rows > 0 {
                format!("no valid data rows ({skipped_rows} malformed rows skipped)")
            } else {
                "empty file: no data rows".to_owned()
            };
            return Err(DataError::malformed(path, None, None, message));
        }
        if skipped_rows > 0 {
            tracing::warn!(file = %path.display(), skipped_rows, "skipped malformed rows");
        }
        Ok(RawTable {
            columns: self.columns,
            labels: self.labels,
            num_tasks: self.schema.labels.len(),
            groups: self.groups,
            skipped_rows,
        })
    }
}

/// Splits bytes on an ASCII separator; an empty cell gives no parts.
pub fn split(bytes: &[u8], separator: char) -> impl Iterator<Item = &[u8]> {
    let sep = separator as u8;
    let empty = bytes.trim_ascii().is_empty();
    bytes.split(move |&b| b == sep).filter(move |_| !empty)
}

/// Handles one row's outcome: an error fails the read, or is counted when
/// the reader was told to skip bad rows. `line` gives the row's 1-based
/// file line; it is called only for the error (a sharded read counts the
/// lines before its share to know it).
pub fn on_row_error(
    options: ReadOptions,
    skipped: &mut u64,
    path: &Path,
    line: impl FnOnce() -> u64,
    error: CellError,
) -> Result<()> {
    if options.skip_bad_rows {
        *skipped += 1;
        Ok(())
    } else {
        Err(DataError::malformed(
            path,
            Some(line()),
            Some(&error.0),
            error.1,
        ))
    }
}

/// Lines of a byte buffer with their 1-based numbers, `\r\n` tolerated,
/// blank lines left out.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.trim_ascii().is_empty())
}

/// Reads a whole file, naming it on failure.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| DataError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FieldSpec;

    #[test]
    fn a_bad_row_leaves_no_partial_values() {
        let schema = Schema {
            fields: vec![
                FieldSpec::categorical("c"),
                FieldSpec::numeric("x", Default::default()),
            ],
            labels: vec!["y".into()],
            group_by: None,
            regression_labels: Vec::new(),
        };
        let mut b = ColumnsBuilder::new(&schema);
        let good: [&[u8]; 2] = [b"a", b"1.5"];
        let bad: [&[u8]; 2] = [b"b", b"x"];
        b.push_row(|i| Some(good[i]), |_| Some(b"1"), None).unwrap();
        let err = b
            .push_row(|i| Some(bad[i]), |_| Some(b"0"), None)
            .unwrap_err();
        assert_eq!(err.0, "x");
        let err = b
            .push_row(|i| Some(good[i]), |_| Some(b""), None)
            .unwrap_err();
        assert_eq!(err, ("y".into(), "label is empty".into()));
        let t = b.finish(Path::new("f"), 2).unwrap();
        assert_eq!(t.num_rows(), 1);
        assert_eq!(t.columns[0].len(), 1);
        assert_eq!(t.columns[1], RawColumn::Numeric(vec![1.5]));
        assert_eq!(t.skipped_rows, 2);
    }
}
