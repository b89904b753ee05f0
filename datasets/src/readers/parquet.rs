//! Parquet files (through arrow), columns found by schema name.
//!
//! Column-wise: each record batch's arrow arrays are converted a whole
//! column at a time, never row by row through strings.
//! - categorical fields: strings and binaries hash their bytes; integers hash
//!   their decimal text (`hashing::int_token_hash`), so `7` in Parquet and
//!   `"7"` in a CSV are the same token; booleans read as `0` / `1`; floats
//!   hash their shortest decimal text (`3` for 3.0, unlike a CSV's `3.0`).
//!   Nulls and empty strings are "no token" (id 0);
//! - numeric fields and labels: any integer or float type, cast to f32;
//!   nulls are NaN for fields and an error (a bad row) for labels;
//! - sequence fields: `List` / `LargeList` / `FixedSizeList` of any type
//!   above, or a string split on the field's separator;
//! - dense fields: a list of numbers of exactly `dim` entries per row.
//!
//! Error locations give the 1-based row number of the file as the "line".

use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float32Type};
use arrow::error::ArrowError;
use parquet::arrow::arrow_reader::{
    ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::errors::ParquetError;

use super::columns::{GROUP_HASH_FIELD, ReadOptions, check_label, split};
use super::file_shard::FileShard;
use crate::error::{DataError, Result};
use crate::hashing::{int_token_hash, token_hash};
use crate::raw::{RawColumn, RawTable};
use crate::schema::{FieldKind, Schema};

/// Opens a Parquet file for reading in record batches of 65,536 rows; an
/// unreadable file is an error naming it.
pub fn open_parquet(path: &Path) -> Result<GuardedBatches> {
    Ok(open_parquet_share(path, None)?.0)
}

/// As [`open_parquet`], reading only `shard`'s rows: the contiguous range
/// `[rows·i/N, rows·(i+1)/N)` of the file's rows (row groups outside it
/// are never read). Also returns the 0-based file row of the first row
/// read, for error messages.
pub fn open_parquet_share(path: &Path, shard: Option<FileShard>) -> Result<(GuardedBatches, u64)> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let opened = guard(|| {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?.with_batch_size(65_536);
        let Some(shard) = shard.filter(|s| s.count > 1) else {
            return Ok((builder.build()?, 0));
        };
        let groups: Vec<u64> = builder
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows().max(0) as u64)
            .collect();
        let wanted = shard.range(groups.iter().sum());
        // The row groups overlapping the share, and the rows of theirs to keep.
        let (mut kept, mut first_row, mut kept_rows, mut at) = (Vec::new(), None, 0, 0u64);
        for (g, &n) in groups.iter().enumerate() {
            if at < wanted.end && at + n > wanted.start {
                kept.push(g);
                first_row.get_or_insert(at);
                kept_rows += n;
            }
            at += n;
        }
        let first_row = first_row.unwrap_or(wanted.start);
        let before = wanted.start - first_row;
        let selected = wanted.end - wanted.start;
        let selection = RowSelection::from(vec![
            RowSelector::skip(before as usize),
            RowSelector::select(selected as usize),
            RowSelector::skip(kept_rows.saturating_sub(before + selected) as usize),
        ]);
        let reader = builder
            .with_row_groups(kept)
            .with_row_selection(selection)
            .build()?;
        Ok((reader, wanted.start))
    });
    opened
        .map(|(reader, first_row)| (GuardedBatches::new(reader), first_row))
        .map_err(|e| {
            DataError::malformed(
                path,
                None,
                None,
                format!("not a readable Parquet file: {e}"),
            )
        })
}

/// Runs a step of the parquet crate's decoder, turning a panic into an
/// error. The crate (55) panics on some corrupt files instead of failing,
/// e.g. `unimplemented!` for an unknown page type (found by `tests/fuzz.rs`);
/// a file a user hands ember must never abort the process.
/// The panic is not printed (the error says it).
pub fn guard<T>(step: impl FnOnce() -> Result<T, ParquetError>) -> Result<T, ParquetError> {
    quiet_panics::install();
    let outcome = quiet_panics::QUIET.with(|quiet| {
        quiet.set(true);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(step));
        quiet.set(false);
        outcome
    });
    outcome.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        Err(ParquetError::General(format!(
            "corrupt file (the decoder gave up: {what})"
        )))
    })
}

/// A panic hook that stays silent on a thread while it runs a [`guard`]ed
/// step and defers to the previous hook everywhere else.
mod quiet_panics {
    use std::cell::Cell;
    use std::sync::Once;

    thread_local! {
        pub static QUIET: Cell<bool> = const { Cell::new(false) };
    }

    pub fn install() {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !QUIET.with(Cell::get) {
                    previous(info);
                }
            }));
        });
    }
}

/// A Parquet reader's record batches, each decoded under [`guard`]; after
/// a failure the reader's state is unknown, so it ends.
pub struct GuardedBatches {
    inner: Option<ParquetRecordBatchReader>,
}

impl GuardedBatches {
    pub fn new(inner: ParquetRecordBatchReader) -> Self {
        Self { inner: Some(inner) }
    }
}

impl Iterator for GuardedBatches {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let inner = self.inner.as_mut()?;
        match guard(|| inner.next().transpose().map_err(ParquetError::from)) {
            Ok(Some(batch)) => Some(Ok(batch)),
            Ok(None) => {
                self.inner = None;
                None
            }
            Err(e) => {
                self.inner = None;
                Some(Err(ArrowError::ParquetError(e.to_string())))
            }
        }
    }
}

/// Reads the columns `schema` names from a Parquet file (or the share of
/// its rows `options` names).
pub fn read_parquet(path: &Path, schema: &Schema, options: ReadOptions) -> Result<RawTable> {
    let (reader, first_row) = open_parquet_share(path, options.shard)?;
    let mut columns: Vec<RawColumn> = schema
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
    let mut labels: Vec<f32> = Vec::new();
    let mut groups: Option<Vec<u64>> = schema.group_by.as_ref().map(|_| Vec::new());
    let mut skipped = 0u64;
    let mut kept_rows = 0usize;
    let mut row_base = first_row;
    for batch in reader {
        let batch = batch.map_err(|e| DataError::malformed(path, None, None, e.to_string()))?;
        let n = batch.num_rows();
        let column = |name: &str| {
            batch.column_by_name(name).cloned().ok_or_else(|| {
                DataError::malformed(
                    path,
                    None,
                    Some(name),
                    "column named by the schema is missing",
                )
            })
        };
        let ctx = |name: &str| Ctx {
            path,
            name: name.to_owned(),
            row_base,
        };
        // Pass 1: per-row validity (labels present, vectors of the right size).
        let mut bad: Vec<Option<(u64, String, String)>> = vec![None; n];
        let mut mark = |row: usize, name: &str, message: String| {
            if bad[row].is_none() {
                bad[row] = Some((row_base + row as u64 + 1, name.to_owned(), message));
            }
        };
        let mut label_cols = Vec::with_capacity(schema.labels.len());
        for name in &schema.labels {
            let (values, non_finite) = to_f32_checked(&column(name)?, &ctx(name))?;
            for row in non_finite {
                mark(row, name, "label is not a finite number".into());
            }
            for (row, &v) in values.iter().enumerate() {
                if v.is_nan() {
                    mark(row, name, "label is null or NaN".into());
                } else if let Err(m) = check_label(schema, name, v) {
                    mark(row, name, m);
                }
            }
            label_cols.push(values);
        }
        // Convert every column first, so a type error is reported before
        // any row error.
        let mut converted = Vec::with_capacity(schema.fields.len());
        for (i, field) in schema.fields.iter().enumerate() {
            let array = column(&field.name)?;
            let ctx = ctx(&field.name);
            converted.push(match field.kind {
                FieldKind::Categorical => {
                    Cells::Tokens(hash_cells(&array, schema.hash_field(i), &ctx)?)
                }
                FieldKind::Numeric => {
                    let (values, non_finite) = to_f32_checked(&array, &ctx)?;
                    for row in non_finite {
                        mark(row, &field.name, "not a finite number".into());
                    }
                    Cells::Numbers(values)
                }
                FieldKind::Sequence { separator, .. } => {
                    let (offsets, hashes) =
                        token_lists(&array, schema.hash_field(i), separator, &ctx)?;
                    Cells::Lists(offsets, hashes)
                }
                FieldKind::Dense { dim, separator } => {
                    let (offsets, values) = number_lists(&array, separator, &ctx)?;
                    for row in 0..n {
                        let len = offsets[row + 1] - offsets[row];
                        if len != dim {
                            mark(
                                row,
                                &field.name,
                                format!("vector has {len} values, expected {dim}"),
                            );
                        }
                    }
                    Cells::Vectors(offsets, values)
                }
            });
        }
        let group_hashes = match &schema.group_by {
            Some(name) => Some(hash_cells(&column(name)?, GROUP_HASH_FIELD, &ctx(name))?),
            None => None,
        };
        if !options.skip_bad_rows
            && let Some((line, name, message)) = bad.iter().flatten().next()
        {
            return Err(DataError::malformed(
                path,
                Some(*line),
                Some(name),
                message.clone(),
            ));
        }
        let keep: Vec<usize> = (0..n).filter(|&r| bad[r].is_none()).collect();
        skipped += (n - keep.len()) as u64;
        kept_rows += keep.len();
        // Pass 2: append the good rows, column by column.
        for (column, cells) in columns.iter_mut().zip(converted) {
            match (column, cells) {
                (RawColumn::Tokens(out), Cells::Tokens(hashes)) => {
                    out.extend(keep.iter().map(|&r| hashes[r]));
                }
                (RawColumn::Numeric(out), Cells::Numbers(values)) => {
                    out.extend(keep.iter().map(|&r| values[r]));
                }
                (RawColumn::TokenLists { offsets, tokens }, Cells::Lists(rows, hashes)) => {
                    for &r in &keep {
                        tokens.extend(hashes[rows[r]..rows[r + 1]].iter().flatten());
                        offsets.push(tokens.len());
                    }
                }
                (RawColumn::Vectors { values: out, .. }, Cells::Vectors(rows, values)) => {
                    for &r in &keep {
                        out.extend_from_slice(&values[rows[r]..rows[r + 1]]);
                    }
                }
                _ => unreachable!("cells are converted per field kind"),
            }
        }
        for &r in &keep {
            labels.extend(label_cols.iter().map(|c| c[r]));
        }
        if let (Some(groups), Some(hashes)) = (&mut groups, group_hashes) {
            let empty = token_hash(GROUP_HASH_FIELD, b"");
            groups.extend(keep.iter().map(|&r| hashes[r].unwrap_or(empty)));
        }
        row_base += n as u64;
    }
    let share_of_many = options.shard.is_some_and(|s| s.count > 1);
    if kept_rows == 0 && !(share_of_many && skipped == 0) {
        let message = if skipped > 0 {
            format!("no valid data rows ({skipped} malformed rows skipped)")
        } else {
            "empty file: no data rows".to_owned()
        };
        return Err(DataError::malformed(path, None, None, message));
    }
    if skipped > 0 {
        tracing::warn!(file = %path.display(), skipped_rows = skipped, "skipped malformed rows");
    }
    Ok(RawTable {
        columns,
        labels,
        num_tasks: schema.labels.len(),
        groups,
        skipped_rows: skipped,
    })
}

/// A field's batch data, converted in pass 1 (lists in CSR layout).
enum Cells {
    Tokens(Vec<Option<u64>>),
    Numbers(Vec<f32>),
    Lists(Vec<usize>, Vec<Option<u64>>),
    Vectors(Vec<usize>, Vec<f32>),
}

/// Error context: the file, column and first row of the batch.
struct Ctx<'a> {
    path: &'a Path,
    name: String,
    row_base: u64,
}

impl Ctx<'_> {
    fn unsupported(&self, data_type: &DataType, wanted: &str) -> DataError {
        DataError::malformed(
            self.path,
            None,
            Some(&self.name),
            format!("unsupported column type {data_type} for {wanted}"),
        )
    }

    fn at_row(&self, row: usize, message: String) -> DataError {
        DataError::malformed(
            self.path,
            Some(self.row_base + row as u64 + 1),
            Some(&self.name),
            message,
        )
    }
}

/// Dictionary-encoded columns are decoded to their value type first.
fn decode(array: &ArrayRef, ctx: &Ctx) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Dictionary(_, value) => {
            cast(array, value).map_err(|e| ctx.at_row(0, e.to_string()))
        }
        _ => Ok(Arc::clone(array)),
    }
}

/// A numeric column as f32, nulls as NaN.
fn to_f32(array: &ArrayRef, ctx: &Ctx) -> Result<Vec<f32>> {
    Ok(to_f32_checked(array, ctx)?.0)
}

/// [`to_f32`], and the rows holding a value that is not finite (NaN or
/// infinite, not null): bad rows, as `nan` in a CSV cell is.
fn to_f32_checked(array: &ArrayRef, ctx: &Ctx) -> Result<(Vec<f32>, Vec<usize>)> {
    let array = decode(array, ctx)?;
    let dt = array.data_type();
    if !(dt.is_numeric() || *dt == DataType::Boolean) {
        return Err(ctx.unsupported(dt, "a numeric field or label"));
    }
    let floats = cast(&array, &DataType::Float32).map_err(|e| ctx.at_row(0, e.to_string()))?;
    let floats = floats.as_primitive::<Float32Type>();
    let mut non_finite = Vec::new();
    let values = (0..floats.len())
        .map(|r| {
            if floats.is_null(r) {
                f32::NAN
            } else {
                let v = floats.value(r);
                if !v.is_finite() {
                    non_finite.push(r);
                }
                v
            }
        })
        .collect();
    Ok((values, non_finite))
}

/// Token hashes of every element of a flat column (`None` for null / empty).
fn hash_cells(array: &ArrayRef, field: u32, ctx: &Ctx) -> Result<Vec<Option<u64>>> {
    use arrow::datatypes::*;
    let array = decode(array, ctx)?;
    let n = array.len();
    let valid = |r: usize| !array.is_null(r);
    let bytes_hash = |b: &[u8]| {
        let b = b.trim_ascii();
        (!b.is_empty()).then(|| token_hash(field, b))
    };
    macro_rules! ints {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            (0..n)
                .map(|r| valid(r).then(|| int_token_hash(field, a.value(r) as i64)))
                .collect()
        }};
    }
    macro_rules! uints {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            let mut buf = itoa::Buffer::new();
            (0..n)
                .map(|r| valid(r).then(|| token_hash(field, buf.format(a.value(r)).as_bytes())))
                .collect()
        }};
    }
    macro_rules! floats {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            let mut buf = Vec::with_capacity(32);
            (0..n)
                .map(|r| {
                    valid(r).then(|| {
                        use std::io::Write;
                        buf.clear();
                        let _ = write!(buf, "{}", a.value(r));
                        token_hash(field, &buf)
                    })
                })
                .collect()
        }};
    }
    Ok(match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (0..n)
                .map(|r| {
                    if valid(r) {
                        bytes_hash(a.value(r).as_bytes())
                    } else {
                        None
                    }
                })
                .collect()
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            (0..n)
                .map(|r| {
                    if valid(r) {
                        bytes_hash(a.value(r).as_bytes())
                    } else {
                        None
                    }
                })
                .collect()
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            (0..n)
                .map(|r| {
                    if valid(r) {
                        bytes_hash(a.value(r).as_bytes())
                    } else {
                        None
                    }
                })
                .collect()
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            (0..n)
                .map(|r| {
                    if valid(r) {
                        bytes_hash(a.value(r))
                    } else {
                        None
                    }
                })
                .collect()
        }
        DataType::LargeBinary => {
            let a = array.as_binary::<i64>();
            (0..n)
                .map(|r| {
                    if valid(r) {
                        bytes_hash(a.value(r))
                    } else {
                        None
                    }
                })
                .collect()
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n)
                .map(|r| valid(r).then(|| int_token_hash(field, i64::from(a.value(r)))))
                .collect()
        }
        DataType::Int8 => ints!(Int8Type),
        DataType::Int16 => ints!(Int16Type),
        DataType::Int32 => ints!(Int32Type),
        DataType::Int64 => ints!(Int64Type),
        DataType::UInt8 => uints!(UInt8Type),
        DataType::UInt16 => uints!(UInt16Type),
        DataType::UInt32 => uints!(UInt32Type),
        DataType::UInt64 => uints!(UInt64Type),
        DataType::Float32 => floats!(Float32Type),
        DataType::Float64 => floats!(Float64Type),
        other => return Err(ctx.unsupported(other, "a categorical field")),
    })
}

/// The (offsets, flat values) of a list column, or `None` if not a list.
fn list_parts(array: &ArrayRef) -> Option<(Vec<usize>, ArrayRef)> {
    match array.data_type() {
        DataType::List(_) => {
            let a = array.as_list::<i32>();
            let offsets = a.offsets().iter().map(|&o| o as usize).collect();
            Some((offsets, Arc::clone(a.values())))
        }
        DataType::LargeList(_) => {
            let a = array.as_list::<i64>();
            let offsets = a.offsets().iter().map(|&o| o as usize).collect();
            Some((offsets, Arc::clone(a.values())))
        }
        DataType::FixedSizeList(_, size) => {
            let a = array.as_fixed_size_list();
            let size = *size as usize;
            let start = a.offset() * size;
            let offsets = (0..=a.len()).map(|r| start + r * size).collect();
            Some((offsets, Arc::clone(a.values())))
        }
        _ => None,
    }
}

/// Per-row token lists: row offsets into the flat hashes (nulls dropped later).
fn token_lists(
    array: &ArrayRef,
    field: u32,
    separator: char,
    ctx: &Ctx,
) -> Result<(Vec<usize>, Vec<Option<u64>>)> {
    let array = decode(array, ctx)?;
    if let Some((mut offsets, values)) = list_parts(&array) {
        // A null list reads as an empty one.
        for r in 0..array.len() {
            if array.is_null(r) {
                offsets[r + 1] = offsets[r].max(offsets[r + 1]);
            }
        }
        let hashes = hash_cells(&values, field, ctx)?;
        let mut row_offsets = Vec::with_capacity(offsets.len());
        let mut flat = Vec::new();
        row_offsets.push(0);
        for r in 0..array.len() {
            if !array.is_null(r) {
                flat.extend_from_slice(&hashes[offsets[r]..offsets[r + 1]]);
            }
            row_offsets.push(flat.len());
        }
        return Ok((row_offsets, flat));
    }
    let text: Vec<Option<&[u8]>> = match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (0..a.len())
                .map(|r| (!a.is_null(r)).then(|| a.value(r).as_bytes()))
                .collect()
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            (0..a.len())
                .map(|r| (!a.is_null(r)).then(|| a.value(r).as_bytes()))
                .collect()
        }
        other => return Err(ctx.unsupported(other, "a sequence field")),
    };
    let mut row_offsets = vec![0];
    let mut flat = Vec::new();
    for cell in text {
        for t in split(cell.unwrap_or(b""), separator) {
            let t = t.trim_ascii();
            if !t.is_empty() {
                flat.push(Some(token_hash(field, t)));
            }
        }
        row_offsets.push(flat.len());
    }
    Ok((row_offsets, flat))
}

/// Per-row number lists of a dense field (list column or separated string).
fn number_lists(array: &ArrayRef, separator: char, ctx: &Ctx) -> Result<(Vec<usize>, Vec<f32>)> {
    let array = decode(array, ctx)?;
    if let Some((offsets, values)) = list_parts(&array) {
        let values = to_f32(&values, ctx)?;
        let mut row_offsets = vec![0];
        let mut flat = Vec::new();
        for r in 0..array.len() {
            if !array.is_null(r) {
                flat.extend_from_slice(&values[offsets[r]..offsets[r + 1]]);
            }
            row_offsets.push(flat.len());
        }
        return Ok((row_offsets, flat));
    }
    if let DataType::Utf8 = array.data_type() {
        let a = array.as_string::<i32>();
        let mut row_offsets = vec![0];
        let mut flat = Vec::new();
        for r in 0..a.len() {
            if !a.is_null(r) {
                for part in split(a.value(r).as_bytes(), separator) {
                    let v = super::columns::parse_number(part).map_err(|m| ctx.at_row(r, m))?;
                    flat.push(v);
                }
            }
            row_offsets.push(flat.len());
        }
        return Ok((row_offsets, flat));
    }
    Err(ctx.unsupported(array.data_type(), "a dense field"))
}
