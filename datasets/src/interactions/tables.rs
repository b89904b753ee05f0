//! Reading named columns of a CSV or Parquet file as byte cells, row by
//! row, with the row's line (CSV) or 1-based row number (Parquet) for
//! error messages.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float32Type};

use crate::error::{DataError, Result};
use crate::readers::csv_lines::{check_quotes_closed, file_line};
use crate::readers::file_shard::ShareView;
use crate::readers::parquet::open_parquet;

/// Whether a path names a Parquet file (by extension).
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

/// The delimiter of a CSV: given, or tab for `.tsv` / `.tab`, else comma.
fn delimiter(path: &Path, given: Option<char>) -> Result<u8> {
    let d = given.unwrap_or_else(|| match path.extension().and_then(|e| e.to_str()) {
        Some("tsv" | "tab") => '\t',
        _ => ',',
    });
    u8::try_from(d).ok().filter(u8::is_ascii).ok_or_else(|| {
        DataError::malformed(path, None, None, format!("delimiter {d:?} is not ASCII"))
    })
}

/// Calls `row(line, cells)` for every row of `path` with the cells of
/// `columns`, in that order (nulls read as empty cells). A missing column
/// is an error naming the file, the column and the columns it has.
pub fn for_each_row(
    path: &Path,
    delimiter_char: Option<char>,
    columns: &[&str],
    mut row: impl FnMut(u64, &[&[u8]]) -> Result<()>,
) -> Result<()> {
    let missing = |have: &[String], want: &str| {
        DataError::malformed(
            path,
            None,
            Some(want),
            format!("no such column (the file has: {})", have.join(", ")),
        )
    };
    if is_parquet(path) {
        let reader = open_parquet(path)?;
        let mut base = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| DataError::malformed(path, None, None, e.to_string()))?;
            let names: Vec<String> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let mut text = Vec::with_capacity(columns.len());
            for &name in columns {
                let column = batch
                    .column_by_name(name)
                    .ok_or_else(|| missing(&names, name))?;
                let strings = cast(column, &DataType::Utf8).map_err(|e| {
                    DataError::malformed(
                        path,
                        None,
                        Some(name),
                        format!("{} cannot be read as text: {e}", column.data_type()),
                    )
                })?;
                text.push(strings);
            }
            let mut cells: Vec<&[u8]> = vec![b""; columns.len()];
            for i in 0..batch.num_rows() {
                for (cell, array) in cells.iter_mut().zip(&text) {
                    let a = array.as_string::<i32>();
                    *cell = if a.is_null(i) {
                        b""
                    } else {
                        a.value(i).as_bytes()
                    };
                }
                row(base + i as u64 + 1, &cells)?;
            }
            base += batch.num_rows() as u64;
        }
        return Ok(());
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(path, delimiter_char)?)
        .has_headers(true)
        .from_path(path)
        .map_err(|e| DataError::malformed(path, None, None, e.to_string()))?;
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(|e| DataError::malformed(path, Some(1), None, e.to_string()))?
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_owned())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(DataError::malformed(
            path,
            None,
            None,
            "empty file: expected a header naming the columns",
        ));
    }
    let index: Vec<usize> = columns
        .iter()
        .map(|&c| {
            header
                .iter()
                .position(|h| h == c)
                .ok_or_else(|| missing(&header, c))
        })
        .collect::<Result<_>>()?;
    let mut record = csv::ByteRecord::new();
    let mut last_start = None;
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| {
            let line = e.position().map(|p| file_line(path, p.byte(), p.line()));
            DataError::malformed(path, line, None, e.to_string())
        })?;
        if !more {
            break;
        }
        let (byte, line) = record.position().map_or((0, 0), |p| (p.byte(), p.line()));
        last_start = Some((byte, line));
        let cells: Vec<&[u8]> = index
            .iter()
            .map(|&i| record.get(i).unwrap_or(b""))
            .collect();
        // The line the csv crate counts is corrected (CRLF) only for the
        // message: it costs a seek, so not on every row.
        row(line, &cells).map_err(|e| e.at_line(file_line(path, byte, line)))?;
    }
    check_quotes_closed(path, &ShareView::whole(), last_start)
}

/// Calls `row(line, id, vector)` for every row of a Parquet file whose
/// `vectors` column is a list of numbers (`None` for a null vector).
pub fn for_each_vector(
    path: &Path,
    id_column: &str,
    vectors: &str,
    mut row: impl FnMut(u64, &str, Option<&[f32]>) -> Result<()>,
) -> Result<()> {
    if !is_parquet(path) {
        return Err(DataError::malformed(
            path,
            None,
            Some(vectors),
            "a vector column needs a Parquet file (a list column); for a CSV item table give `item_vectors` (safetensors)",
        ));
    }
    let reader = open_parquet(path)?;
    let list_of_f32 = DataType::List(Arc::new(Field::new("item", DataType::Float32, true)));
    let mut base = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| DataError::malformed(path, None, None, e.to_string()))?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| DataError::malformed(path, None, Some(name), "no such column"))
        };
        let ids = cast(&column(id_column)?, &DataType::Utf8)
            .map_err(|e| DataError::malformed(path, None, Some(id_column), e.to_string()))?;
        let lists = cast(&column(vectors)?, &list_of_f32).map_err(|e| {
            DataError::malformed(
                path,
                None,
                Some(vectors),
                format!("not a list of numbers: {e}"),
            )
        })?;
        let (ids, lists) = (ids.as_string::<i32>(), lists.as_list::<i32>());
        let inner = lists.values();
        let values = inner.as_primitive::<Float32Type>().values();
        let offsets = lists.value_offsets();
        for i in 0..batch.num_rows() {
            let line = base + i as u64 + 1;
            let id = if ids.is_null(i) { "" } else { ids.value(i) };
            let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
            if inner.null_count() > 0 && (start..end).any(|j| inner.is_null(j)) {
                return Err(DataError::malformed(
                    path,
                    Some(line),
                    Some(vectors),
                    "the vector has a null component",
                ));
            }
            let vector = (!lists.is_null(i)).then(|| &values[start..end]);
            row(line, id, vector)?;
        }
        base += batch.num_rows() as u64;
    }
    Ok(())
}
