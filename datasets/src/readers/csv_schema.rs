//! Delimited text described by a schema file (TOML or JSON).
//!
//! A schema file is a [`Schema`] plus how the text is delimited, e.g.
//!
//! ```toml
//! delimiter = ","
//! labels = ["click"]
//! [[fields]]
//! name = "C1"
//! kind = "categorical"
//! encoding = { type = "hash", buckets = 100000 }
//! [[fields]]
//! name = "I1"
//! kind = "numeric"
//! normalisation = "log1p"
//! ```
//!
//! Columns are matched by header name, so a file may carry extra columns in
//! any order. Cells are parsed from `csv::ByteRecord`s: no `String` per cell.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::columns::{ColumnsBuilder, ReadOptions, on_row_error};
use super::csv_lines::{check_quotes_closed, file_line};
use super::file_shard::ShareView;
use crate::error::{DataError, Result};
use crate::raw::RawTable;
use crate::schema::Schema;

/// A schema file: the schema plus how the text is delimited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsvSpec {
    #[serde(default = "comma")]
    pub delimiter: char,
    /// With a header, fields and labels are found by name; without one, the
    /// columns are the labels, then the fields, in schema order.
    #[serde(default = "yes")]
    pub has_header: bool,
    /// Honour `"` quoting (off for formats that never quote, e.g. Criteo TSV).
    #[serde(default = "yes")]
    pub quoting: bool,
    #[serde(flatten)]
    pub schema: Schema,
}

fn comma() -> char {
    ','
}
fn yes() -> bool {
    true
}

impl CsvSpec {
    /// Reads a schema file (TOML, or JSON by extension).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            toml::from_str(&text).map_err(|e| e.to_string())
        };
        let spec: Self = parsed.map_err(|e| {
            DataError::malformed(path, None, None, format!("invalid schema file: {e}"))
        })?;
        // Flattened structs cannot deny unknown keys in serde: check them
        // here, so a misspelt `normalization` is an error, not ignored.
        let untyped: serde_json::Value = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).unwrap_or_default()
        } else {
            toml::from_str::<toml::Value>(&text)
                .ok()
                .and_then(|v| serde_json::to_value(v).ok())
                .unwrap_or_default()
        };
        if let Some((field, key)) = unknown_key(&untyped) {
            return Err(DataError::malformed(
                path,
                None,
                field.as_deref(),
                format!("invalid schema file: unknown key '{key}'"),
            ));
        }
        spec.schema.validate().map_err(|(field, message)| {
            DataError::malformed(
                path,
                None,
                Some(&field),
                format!("invalid schema file: {message}"),
            )
        })?;
        Ok(spec)
    }
}

/// The first key of a schema file that no part of it reads: (the field it
/// is in, the key).
fn unknown_key(value: &serde_json::Value) -> Option<(Option<String>, String)> {
    const TOP: [&str; 7] = [
        "delimiter",
        "has_header",
        "quoting",
        "labels",
        "group_by",
        "regression_labels",
        "fields",
    ];
    const FIELD: [&str; 8] = [
        "name",
        "kind",
        "encoding",
        "normalisation",
        "fill",
        "max_len",
        "separator",
        "dim",
    ];
    let top = value.as_object()?;
    if let Some(key) = top.keys().find(|k| !TOP.contains(&k.as_str())) {
        return Some((None, key.clone()));
    }
    for field in top.get("fields")?.as_array()? {
        let Some(field) = field.as_object() else {
            continue;
        };
        if let Some(key) = field.keys().find(|k| !FIELD.contains(&k.as_str())) {
            let name = field
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_owned);
            return Some((name, key.clone()));
        }
    }
    None
}

/// Reads a delimited text file described by `spec`.
///
/// Every row must have as many columns as the header (or, without a header,
/// exactly labels + fields). Line numbers in errors are 1-based file lines.
pub fn read_csv(path: &Path, spec: &CsvSpec, options: ReadOptions) -> Result<RawTable> {
    let schema = &spec.schema;
    let (view, input) = ShareView::open(path, options.shard, spec.has_header)?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter as u8)
        .has_headers(spec.has_header)
        .flexible(true)
        .quoting(spec.quoting)
        .from_reader(input);
    let n_labels = schema.labels.len();
    let mut header_len = n_labels + schema.fields.len();
    let (field_cols, label_cols, group_col): (Vec<usize>, Vec<usize>, Option<usize>) = if spec
        .has_header
    {
        let header = reader
            .byte_headers()
            .map_err(|e| DataError::malformed(path, Some(1), None, e.to_string()))?
            .clone();
        if header.iter().all(|h| h.trim_ascii().is_empty()) {
            return Err(DataError::malformed(
                path,
                None,
                None,
                "empty file: no header row",
            ));
        }
        header_len = header.len();
        // A UTF-8 byte-order mark (spreadsheets write one) is not part
        // of the first column's name.
        let name_of = |i: usize, h: &'_ [u8]| -> Vec<u8> {
            let h = if i == 0 {
                h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h)
            } else {
                h
            };
            h.trim_ascii().to_vec()
        };
        let names: Vec<Vec<u8>> = header
            .iter()
            .enumerate()
            .map(|(i, h)| name_of(i, h))
            .collect();
        let find = |name: &str| {
            let mut at = names
                .iter()
                .enumerate()
                .filter(|(_, h)| h.as_slice() == name.as_bytes())
                .map(|(i, _)| i);
            let first = at.next().ok_or_else(|| {
                DataError::malformed(
                    path,
                    Some(1),
                    Some(name),
                    "column named by the schema is missing from the header",
                )
            })?;
            if let Some(second) = at.next() {
                return Err(DataError::malformed(
                    path,
                    Some(1),
                    Some(name),
                    format!(
                        "the header names this column twice (columns {} and {}): which one is meant?",
                        first + 1,
                        second + 1
                    ),
                ));
            }
            Ok(first)
        };
        (
            schema
                .fields
                .iter()
                .map(|f| find(&f.name))
                .collect::<Result<_>>()?,
            schema
                .labels
                .iter()
                .map(|l| find(l))
                .collect::<Result<_>>()?,
            schema.group_by.as_deref().map(find).transpose()?,
        )
    } else {
        let group = schema
            .group_by
            .as_deref()
            .and_then(|g| schema.field_index(g))
            .map(|i| n_labels + i);
        (
            (n_labels..n_labels + schema.fields.len()).collect(),
            (0..n_labels).collect(),
            group,
        )
    };
    let expected = header_len;
    let mut builder = ColumnsBuilder::new(schema);
    let mut record = csv::ByteRecord::new();
    let mut skipped = 0;
    let mut last_start = None;
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let line = e
                .position()
                .map(|p| view.to_file(path, p.byte(), p.line()).1);
            DataError::malformed(path, line, None, e.to_string())
        })?;
        if !more {
            break;
        }
        let position = record.position().cloned();
        let line = position.as_ref().map_or(0, |p| p.line());
        last_start = position.as_ref().map(|p| (p.byte(), p.line()));
        let outcome = if record.len() != expected {
            // Name the first schema column the short row lacks (or, for a
            // long row, the last one it has).
            let missing = field_cols
                .iter()
                .zip(schema.fields.iter().map(|f| f.name.as_str()))
                .chain(
                    label_cols
                        .iter()
                        .zip(schema.labels.iter().map(String::as_str)),
                )
                .filter(|&(&c, _)| c >= record.len())
                .min_by_key(|&(&c, _)| c)
                .or_else(|| {
                    field_cols
                        .iter()
                        .zip(schema.fields.iter().map(|f| f.name.as_str()))
                        .max_by_key(|&(&c, _)| c)
                })
                .map_or("?", |(_, n)| n);
            Err((
                missing.to_owned(),
                format!("{} columns, expected {expected}", record.len()),
            ))
        } else {
            builder.push_row(
                |i| record.get(field_cols[i]),
                |t| record.get(label_cols[t]),
                group_col.and_then(|g| record.get(g)),
            )
        };
        if let Err(error) = outcome {
            let byte = position.as_ref().map_or(0, |p| p.byte());
            let line = || {
                let (byte, line) = view.to_file(path, byte, line);
                file_line(path, byte, line)
            };
            on_row_error(options, &mut skipped, path, line, error)?;
        }
    }
    if spec.quoting {
        check_quotes_closed(path, &view, last_start)?;
    }
    builder.finish_read(path, skipped, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn spec() -> CsvSpec {
        toml::from_str(
            r#"
            labels = ["click"]
            [[fields]]
            name = "city"
            kind = "categorical"
            [[fields]]
            name = "price"
            kind = "numeric"
            normalisation = "standard"
            [[fields]]
            name = "tags"
            kind = "sequence"
            max_len = 3
            [[fields]]
            name = "vec"
            kind = "dense"
            dim = 2
            "#,
        )
        .unwrap()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn bad_labels_non_finite_numbers_and_open_quotes_name_file_line_and_field() {
        let err = |text: &str| {
            let f = file(text);
            read_csv(f.path(), &spec(), ReadOptions::default())
                .unwrap_err()
                .to_string()
        };
        let e = err("price,city,click,tags,vec\n1,a,1,x,0|0\n1,b,2,x,0|0\n");
        assert!(
            e.contains("line 3") && e.contains("'click'") && e.contains("outside [0, 1]"),
            "{e}"
        );
        for bad in ["nan", "inf", "-inf", "1e40"] {
            let e = err(&format!("price,city,click,tags,vec\n{bad},a,1,x,0|0\n"));
            assert!(
                e.contains("line 2") && e.contains("'price'") && e.contains("finite"),
                "{bad}: {e}"
            );
        }
        // An open quote in the last column of the last row swallows only
        // the end of the file: the row still has its 5 columns.
        let e = err("price,city,click,tags,vec\n1,a,1,x,0|0\n1,b,1,x,\"0|0\n");
        assert!(e.contains("line 3") && e.contains("never closed"), "{e}");
        // Anywhere else it merges rows, and the column count says so.
        let e = err("price,city,click,tags,vec\n1,a,1,x,0|0\n1,\"b,1,x,0|0\n");
        assert!(e.contains("line 3") && e.contains("columns"), "{e}");
        // A closed quote with an escaped one inside, and a quoted newline, are fine.
        let ok = file("price,city,click,tags,vec\n1,\"a \"\"b\"\"\",1,x,0|0\n2,\"c\nd\",0,y,0|1\n");
        assert_eq!(
            read_csv(ok.path(), &spec(), ReadOptions::default())
                .unwrap()
                .num_rows(),
            2
        );
        // A declared regression label takes any finite value.
        let mut regression = spec();
        regression.schema.regression_labels = vec!["click".into()];
        let f = file("price,city,click,tags,vec\n1,a,4.5,x,0|0\n");
        let t = read_csv(f.path(), &regression, ReadOptions::default()).unwrap();
        assert_eq!(t.labels, vec![4.5]);
    }

    #[test]
    fn reads_every_field_kind_by_header_name() {
        let f = file("price,city,click,tags,vec\n1.5,paris,1,a|b,0.1|0.2\n,rome,0,,0|1\n");
        let t = read_csv(f.path(), &spec(), ReadOptions::default()).unwrap();
        assert_eq!(t.num_rows(), 2);
        assert_eq!(t.labels, vec![1.0, 0.0]);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let f = file("price,city,click,tags,vec\n1.5,paris,1,a,0|1\nabc,rome,0,,0|1\n");
        let err = read_csv(f.path(), &spec(), ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 3") && err.contains("field 'price'") && err.contains("'abc'"),
            "{err}"
        );
        let f = file("price,city,click,tags,vec\n1.5,paris,1,a,0|1|2\n");
        let err = read_csv(f.path(), &spec(), ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("field 'vec'") && err.contains("expected 2"),
            "{err}"
        );
        let f = file("price,click,tags,vec\n1.5,1,a,0|1\n");
        let err = read_csv(f.path(), &spec(), ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("field 'city'") && err.contains("missing"),
            "{err}"
        );
        let f = file("price,city,click,tags,vec\n1.5,paris,1,a,0|1\n2,rome\n");
        let t = read_csv(f.path(), &spec(), ReadOptions::skipping()).unwrap();
        assert_eq!((t.num_rows(), t.skipped_rows), (1, 1));
    }
}
