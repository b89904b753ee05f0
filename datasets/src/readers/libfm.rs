//! libFM files: `label idx:value idx:value ...`, the k-th feature is field k.
//!
//! Labels `> 0` are positives (so both `-1/1` and `0/1` files read right).

use std::io::{BufRead, BufReader};
use std::path::Path;

use super::columns::{CellError, ColumnsBuilder, ReadOptions, on_row_error, parse_number};
use super::file_shard::ShareView;
use crate::error::{DataError, Result};
use crate::raw::RawTable;
use crate::schema::{FieldSpec, Schema};

/// Fields `f0..f{n-1}` and one label `label`.
pub fn libfm_schema(num_fields: usize) -> Schema {
    Schema {
        fields: (0..num_fields)
            .map(|k| FieldSpec::categorical(&format!("f{k}")))
            .collect(),
        labels: vec!["label".into()],
        group_by: None,
        regression_labels: Vec::new(),
    }
}

/// Reads a libFM file whose lines carry exactly `num_fields` features.
///
/// A feature's index text is its token (the value is checked to be a number
/// but not used: frappe's values are all 1). Streams the file (or the share of it `options` names) line by line.
pub fn read_libfm(path: &Path, num_fields: usize, options: ReadOptions) -> Result<RawTable> {
    let schema = libfm_schema(num_fields);
    let (view, file) = ShareView::open(path, options.shard, false)?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut builder = ColumnsBuilder::new(&schema);
    let mut line = Vec::new();
    let mut line_no = 0u64;
    let mut skipped = 0u64;
    let mut cells: Vec<(usize, usize)> = Vec::with_capacity(num_fields);
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if line.trim_ascii().is_empty() {
            continue;
        }
        let outcome = parse_line(&line, num_fields, &mut cells).and_then(|positive| {
            let label: &[u8] = if positive { b"1" } else { b"0" };
            let text = &line;
            builder.push_row(
                |i| cells.get(i).map(|&(a, b)| &text[a..b]),
                |_| Some(label),
                None,
            )
        });
        if let Err(error) = outcome {
            on_row_error(
                options,
                &mut skipped,
                path,
                || view.file_line(path, line_no),
                error,
            )?;
        }
    }
    builder.finish_read(path, skipped, options)
}

/// Splits one line into the byte ranges of its feature indices; returns
/// whether the row is a positive (label > 0).
fn parse_line(
    line: &[u8],
    num_fields: usize,
    cells: &mut Vec<(usize, usize)>,
) -> std::result::Result<bool, CellError> {
    cells.clear();
    let mut parts = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|p| !p.is_empty())
        .map(|p| {
            // Byte offset of `p` within `line`, for allocation-free ranges.
            let start = p.as_ptr() as usize - line.as_ptr() as usize;
            (start, p)
        });
    let (_, label) = parts.next().unwrap_or((0, b""));
    let label = parse_number(label).map_err(|m| ("label".to_owned(), m))?;
    for (k, (start, part)) in parts.enumerate() {
        if k >= num_fields {
            return Err((
                format!("f{k}"),
                format!("more than {num_fields} features on the line"),
            ));
        }
        let Some(colon) = part.iter().position(|&b| b == b':') else {
            return Err((
                format!("f{k}"),
                format!("'{}' is not idx:value", String::from_utf8_lossy(part)),
            ));
        };
        let (index, value) = (&part[..colon], &part[colon + 1..]);
        if index.is_empty() || !index.iter().all(u8::is_ascii_digit) {
            return Err((
                format!("f{k}"),
                format!(
                    "'{}' has a non-numeric index",
                    String::from_utf8_lossy(part)
                ),
            ));
        }
        match parse_number(value) {
            Ok(v) if !v.is_nan() => {}
            Ok(_) => return Err((format!("f{k}"), "empty feature value".into())),
            Err(m) => return Err((format!("f{k}"), m)),
        }
        cells.push((start, start + colon));
    }
    if cells.len() != num_fields {
        return Err((
            format!("f{}", cells.len()),
            format!("{} features, expected {num_fields}", cells.len()),
        ));
    }
    Ok(label > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::RawColumn;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn reads_labels_and_fields() {
        let f = file("-1 3:1 7:1\n1 4:1 7:1\n");
        let t = read_libfm(f.path(), 2, ReadOptions::default()).unwrap();
        assert_eq!(t.labels, vec![0.0, 1.0]);
        let RawColumn::Tokens(c1) = &t.columns[1] else {
            panic!()
        };
        assert_eq!(c1[0], c1[1], "same index, same token");
    }

    #[test]
    fn bad_rows_name_file_line_and_field_or_are_skipped() {
        let f = file("1 3:1 7:1\n1 3:1 x7:1\n0 3:1\n1 3:1 7:1\n");
        let err = read_libfm(f.path(), 2, ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains(&f.path().display().to_string()), "{err}");
        assert!(
            err.contains("line 2") && err.contains("field 'f1'"),
            "{err}"
        );
        let t = read_libfm(f.path(), 2, ReadOptions::skipping()).unwrap();
        assert_eq!(t.num_rows(), 2);
        assert_eq!(t.skipped_rows, 2);
        let empty = file("");
        let err = read_libfm(empty.path(), 2, ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no data rows"), "{err}");
    }
}
