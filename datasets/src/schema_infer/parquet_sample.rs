//! Sampling a Parquet file: its first rows into column profiles, each
//! column's arrow type deciding what ember's Parquet reader can make of it.

use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::readers::parquet::{GuardedBatches, guard};

use super::SampleSize;
use super::profile::{ColumnProfile, Storage};
use crate::error::{DataError, Result};

/// The profiles of the first `max_rows` rows and the sample size (the
/// file's row count is in its footer).
pub fn sample_parquet(path: &Path, max_rows: usize) -> Result<(Vec<ColumnProfile>, SampleSize)> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let unreadable = |e: &dyn std::fmt::Display| {
        DataError::malformed(
            path,
            None,
            None,
            format!("not a readable Parquet file: {e}"),
        )
    };
    let builder =
        guard(|| ParquetRecordBatchReaderBuilder::try_new(file)).map_err(|e| unreadable(&e))?;
    let file_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    if file_rows == 0 {
        return Err(DataError::malformed(
            path,
            None,
            None,
            "empty file: no rows",
        ));
    }
    let mut profiles: Vec<ColumnProfile> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| ColumnProfile::new(f.name(), storage(f.data_type())))
        .collect();
    let reader = guard(|| {
        builder
            .with_batch_size(max_rows.clamp(1, 8192))
            .with_limit(max_rows)
            .build()
    })
    .map(GuardedBatches::new)
    .map_err(|e| unreadable(&e))?;
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(&e))?;
        for (profile, array) in profiles.iter_mut().zip(batch.columns()) {
            if matches!(profile.storage, Storage::Unreadable { .. }) {
                // Counted, not read: no reader would take its cells.
                profile.rows += array.len() as u64;
                continue;
            }
            let array = decoded(array).map_err(|e| unreadable(&e))?;
            profile_array(profile, &array).map_err(|e| unreadable(&e))?;
        }
        rows += batch.num_rows() as u64;
    }
    Ok((
        profiles,
        SampleSize {
            rows,
            file_rows,
            whole_file: rows == file_rows,
        },
    ))
}

/// Dictionary-encoded columns as their value type, as the reader sees them.
fn decoded(array: &ArrayRef) -> arrow::error::Result<ArrayRef> {
    match array.data_type() {
        DataType::Dictionary(_, value) => cast(array, value),
        _ => Ok(array.clone()),
    }
}

/// What ember's Parquet reader accepts for a column of this type
/// (`readers::parquet`: categorical, numeric, sequence, dense).
pub fn storage(data_type: &DataType) -> Storage {
    use DataType::*;
    match data_type {
        Dictionary(_, value) => storage(value),
        Utf8 => Storage::Text {
            numbers_ok: false,
            sequence_ok: true,
            dense_ok: true,
        },
        LargeUtf8 => Storage::Text {
            numbers_ok: false,
            sequence_ok: true,
            dense_ok: false,
        },
        Utf8View | Binary | LargeBinary => Storage::Text {
            numbers_ok: false,
            sequence_ok: false,
            dense_ok: false,
        },
        Boolean | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => {
            Storage::Number {
                floating: false,
                categorical_ok: true,
            }
        }
        Float32 | Float64 => Storage::Number {
            floating: true,
            categorical_ok: true,
        },
        Float16 | Decimal128(..) | Decimal256(..) => Storage::Number {
            floating: true,
            categorical_ok: false,
        },
        List(element) | LargeList(element) | FixedSizeList(element, _) => {
            match storage(element.data_type()) {
                Storage::Number { floating, .. } => Storage::List {
                    numbers: true,
                    floating,
                },
                Storage::Text { .. } => Storage::List {
                    numbers: false,
                    floating: false,
                },
                _ => Storage::Unreadable {
                    type_name: data_type.to_string(),
                    temporal: false,
                },
            }
        }
        other => Storage::Unreadable {
            type_name: other.to_string(),
            temporal: other.is_temporal(),
        },
    }
}

/// Adds a batch's cells to a profile: scalars as their text (booleans as
/// `0` / `1`, as the reader hashes them), lists element by element.
fn profile_array(profile: &mut ColumnProfile, array: &ArrayRef) -> arrow::error::Result<()> {
    let lists: Option<Vec<Option<ArrayRef>>> = match array.data_type() {
        DataType::List(_) => {
            let a = array.as_list::<i32>();
            Some(
                (0..a.len())
                    .map(|r| a.is_valid(r).then(|| a.value(r)))
                    .collect(),
            )
        }
        DataType::LargeList(_) => {
            let a = array.as_list::<i64>();
            Some(
                (0..a.len())
                    .map(|r| a.is_valid(r).then(|| a.value(r)))
                    .collect(),
            )
        }
        DataType::FixedSizeList(..) => {
            let a = array.as_fixed_size_list();
            Some(
                (0..a.len())
                    .map(|r| a.is_valid(r).then(|| a.value(r)))
                    .collect(),
            )
        }
        _ => None,
    };
    match lists {
        Some(lists) => {
            for list in lists {
                match list {
                    Some(elements) => {
                        let elements = decoded(&elements)?;
                        let texts = cell_texts(&elements)?;
                        profile.push_list(Some(texts.iter().flatten().map(String::as_str)));
                    }
                    None => profile.push_list(None::<Vec<&str>>),
                }
            }
        }
        None => {
            for text in cell_texts(array)? {
                profile.push(text.as_deref());
            }
        }
    }
    Ok(())
}

/// Every cell's text, `None` for nulls.
fn cell_texts(array: &ArrayRef) -> arrow::error::Result<Vec<Option<String>>> {
    if let DataType::Boolean = array.data_type() {
        let a = array.as_boolean();
        return Ok((0..a.len())
            .map(|r| a.is_valid(r).then(|| u8::from(a.value(r)).to_string()))
            .collect());
    }
    let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())?;
    Ok((0..array.len())
        .map(|r| array.is_valid(r).then(|| formatter.value(r).to_string()))
        .collect())
}
