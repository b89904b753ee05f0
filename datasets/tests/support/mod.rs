//! Files shared by the malformed-input corpus (`corpus.rs`) and the
//! fuzzer (`tests/fuzz.rs` at the workspace root, through `#[path]`): the
//! corpus schema and a valid Parquet file in it, the seed the bad ones
//! are made from.

use std::sync::Arc;

/// Labels `y`; fields `x` (numeric), `c` (categorical), `s` (sequence).
pub const SCHEMA: &str = r#"
labels = ["y"]
[[fields]]
name = "x"
kind = "numeric"
[[fields]]
name = "c"
kind = "categorical"
[[fields]]
name = "s"
kind = "sequence"
max_len = 3
"#;

/// Three valid rows of the corpus schema as a Parquet file.
pub fn parquet_bytes() -> Vec<u8> {
    use arrow::array::{ArrayRef, Float32Array, Int64Array, StringArray};
    let batch = arrow::record_batch::RecordBatch::try_from_iter([
        ("y", Arc::new(Int64Array::from(vec![1, 0, 1])) as ArrayRef),
        (
            "x",
            Arc::new(Float32Array::from(vec![1.0, 2.0, 3.0])) as ArrayRef,
        ),
        (
            "c",
            Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
        ),
        (
            "s",
            Arc::new(StringArray::from(vec!["p|q", "", "r"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    out
}
