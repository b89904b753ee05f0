//! Sampling a delimited text file: its dialect, then the first rows into
//! column profiles, and how many rows the whole file holds.

use std::io::Read;
use std::path::Path;

use super::SampleSize;
use super::profile::{ColumnProfile, Storage};
use super::sniff::{Dialect, sniff};
use crate::error::{DataError, Result};

/// Bytes the dialect is read from.
const HEAD_BYTES: u64 = 64 * 1024;

/// The profiles of the first `max_rows` data rows (columns named by the
/// header, or `c1`, `c2`, … without one), the sample size, and the dialect.
pub fn sample_csv(
    path: &Path,
    max_rows: usize,
) -> Result<(Vec<ColumnProfile>, SampleSize, Dialect)> {
    let io = |e| DataError::io(path, e);
    let file_len = std::fs::metadata(path).map_err(io)?.len();
    let mut head = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(HEAD_BYTES)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head.trim_ascii().is_empty() {
        return Err(DataError::malformed(path, None, None, "empty file"));
    }
    let dialect = sniff(&head, head.len() as u64 == file_len);
    let malformed = |line, message: String| DataError::malformed(path, line, None, message);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(dialect.delimiter as u8)
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(|e| malformed(None, e.to_string()))?;
    let mut record = csv::ByteRecord::new();
    let mut read = |record: &mut csv::ByteRecord| {
        reader
            .read_byte_record(record)
            .map_err(|e| malformed(e.position().map(|p| p.line()), e.to_string()))
    };
    if !read(&mut record)? {
        return Err(DataError::malformed(path, None, None, "empty file"));
    }
    let columns = record.len();
    let cell = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let mut profiles: Vec<ColumnProfile> = (0..columns)
        .map(|j| {
            let name = if dialect.has_header {
                cell(&record[j]).trim().to_owned()
            } else {
                format!("c{}", j + 1)
            };
            ColumnProfile::new(&name, Storage::csv())
        })
        .collect();
    let first_line = if dialect.has_header {
        "header"
    } else {
        "first line"
    };
    let mut more = true;
    if dialect.has_header {
        more = read(&mut record)?;
    }
    // Where the data starts, to extrapolate from the bytes per sampled row.
    let start = |record: &csv::ByteRecord| record.position().map_or(file_len, |p| p.byte());
    let header_end = if dialect.has_header && more {
        start(&record)
    } else {
        0
    };
    let mut rows = 0u64;
    let mut data_bytes = 0u64;
    while more && rows < max_rows as u64 {
        if record.len() != columns {
            let line = record.position().map(|p| p.line());
            return Err(malformed(
                line,
                format!(
                    "{} columns, but the {first_line} has {columns}",
                    record.len()
                ),
            ));
        }
        for (profile, bytes) in profiles.iter_mut().zip(record.iter()) {
            profile.push(Some(&String::from_utf8_lossy(bytes)));
        }
        rows += 1;
        more = read(&mut record)?;
        data_bytes = start(&record).saturating_sub(header_end);
    }
    if rows == 0 {
        return Err(DataError::malformed(
            path,
            None,
            None,
            "no data rows after the header",
        ));
    }
    let size = if more {
        // The rest of the file holds rows of the sample's average length.
        let per_row = data_bytes.max(1) as f64 / rows as f64;
        SampleSize {
            rows,
            file_rows: (((file_len - header_end) as f64 / per_row).round() as u64).max(rows),
            whole_file: false,
        }
    } else {
        SampleSize {
            rows,
            file_rows: rows,
            whole_file: true,
        }
    };
    Ok((profiles, size, dialect))
}
