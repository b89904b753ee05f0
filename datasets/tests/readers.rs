//! Every reader on small temporary files, including each kind of bad input:
//! the error must name the file, the 1-based line and the field.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use ember_datasets::hashing::{int_token_hash, token_hash};
use ember_datasets::readers::{CsvSpec, ReadOptions, read_csv, read_libfm, read_parquet};
use ember_datasets::{FieldSpec, RawColumn, Schema};

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn error_of(result: ember_datasets::Result<ember_datasets::RawTable>) -> String {
    result.expect_err("should fail").to_string()
}

fn assert_names(err: &str, path: &Path, line: Option<u64>, field: Option<&str>) {
    assert!(
        err.contains(&path.display().to_string()),
        "no file in: {err}"
    );
    if let Some(line) = line {
        assert!(
            err.contains(&format!("line {line}")),
            "no line {line} in: {err}"
        );
    }
    if let Some(field) = field {
        assert!(
            err.contains(&format!("field '{field}'")),
            "no field {field} in: {err}"
        );
    }
}

fn csv_spec() -> CsvSpec {
    toml::from_str(
        r#"
        delimiter = ";"
        labels = ["y"]
        [[fields]]
        name = "c"
        kind = "categorical"
        [[fields]]
        name = "x"
        kind = "numeric"
        [[fields]]
        name = "s"
        kind = "sequence"
        max_len = 2
        separator = ","
        [[fields]]
        name = "v"
        kind = "dense"
        dim = 3
        separator = ","
        "#,
    )
    .unwrap()
}

#[test]
fn csv_reads_by_header_with_a_custom_delimiter() {
    let f = file("extra;y;v;s;x;c\nq;1;1,2,3;a,b,c;2.5;red\nq;0;0,0,0;;;blue\n");
    let t = read_csv(f.path(), &csv_spec(), ReadOptions::default()).unwrap();
    assert_eq!(t.num_rows(), 2);
    assert_eq!(t.labels, vec![1.0, 0.0]);
    assert_eq!(
        t.columns[0],
        RawColumn::Tokens(vec![
            Some(token_hash(0, b"red")),
            Some(token_hash(0, b"blue"))
        ])
    );
    let RawColumn::Numeric(x) = &t.columns[1] else {
        panic!()
    };
    assert_eq!(x[0], 2.5);
    assert!(x[1].is_nan());
    let RawColumn::TokenLists { offsets, tokens } = &t.columns[2] else {
        panic!()
    };
    assert_eq!(offsets, &vec![0, 3, 3]);
    assert_eq!(tokens[2], token_hash(2, b"c"));
    assert_eq!(
        t.columns[3],
        RawColumn::Vectors {
            dim: 3,
            values: vec![1., 2., 3., 0., 0., 0.]
        }
    );
}

#[test]
fn csv_bad_inputs_name_file_line_and_field() {
    let spec = csv_spec();
    let read = |text: &str| {
        let f = file(text);
        let err = error_of(read_csv(f.path(), &spec, ReadOptions::default()));
        (f, err)
    };
    let header = "y;v;s;x;c\n";
    let good = "1;1,2,3;a;1;red\n";
    // Non-numeric value.
    let (f, err) = read(&format!("{header}{good}0;1,2,3;a;abc;red\n"));
    assert_names(&err, f.path(), Some(3), Some("x"));
    assert!(err.contains("'abc' is not a number"), "{err}");
    // Wrong field count (short and long rows).
    let (f, err) = read(&format!("{header}{good}1;1,2,3\n"));
    assert_names(&err, f.path(), Some(3), Some("s"));
    assert!(err.contains("2 columns, expected 5"), "{err}");
    let (f, err) = read(&format!("{header}1;1,2,3;a;1;red;extra\n"));
    assert_names(&err, f.path(), Some(2), None);
    // Dense vector of the wrong size.
    let (f, err) = read(&format!("{header}1;1,2;a;1;red\n"));
    assert_names(&err, f.path(), Some(2), Some("v"));
    assert!(err.contains("expected 3"), "{err}");
    // Bad label.
    let (f, err) = read(&format!("{header}yes;1,2,3;a;1;red\n"));
    assert_names(&err, f.path(), Some(2), Some("y"));
    // Column named by the schema missing from the header.
    let (f, err) = read("y;v;s;x\n1;1,2,3;a;1\n");
    assert_names(&err, f.path(), Some(1), Some("c"));
    assert!(err.contains("missing"), "{err}");
    // Empty file, and a header without rows.
    let (f, err) = read("");
    assert_names(&err, f.path(), None, None);
    assert!(err.contains("empty file"), "{err}");
    let (_, err) = read(header);
    assert!(err.contains("no data rows"), "{err}");
    // Skipping counts the bad rows and keeps the good ones.
    let f = file(&format!("{header}{good}0;1,2,3;a;abc;red\n1;1,2,3\n{good}"));
    let t = read_csv(f.path(), &spec, ReadOptions::skipping()).unwrap();
    assert_eq!((t.num_rows(), t.skipped_rows), (2, 2));
    assert_eq!(t.columns[1].len(), 2);
}

#[test]
fn csv_invalid_schema_file_is_named() {
    let f = file("labels = [\"y\"]\n[[fields]]\nname = \"a\"\nkind = \"nonsense\"\n");
    let err = CsvSpec::from_file(f.path()).unwrap_err().to_string();
    assert!(
        err.contains(&f.path().display().to_string()) && err.contains("invalid schema"),
        "{err}"
    );
}

#[test]
fn libfm_reads_and_rejects() {
    let f = file("-1 3:1 7:1\n1 4:1 7:1\n\n0 4:1 8:1\n");
    let t = read_libfm(f.path(), 2, ReadOptions::default()).unwrap();
    assert_eq!(t.labels, vec![0.0, 1.0, 0.0]);
    assert_eq!(
        t.columns[0],
        RawColumn::Tokens(vec![
            Some(token_hash(0, b"3")),
            Some(token_hash(0, b"4")),
            Some(token_hash(0, b"4"))
        ])
    );
    for (text, line, field, what) in [
        ("1 3:1 7:1\n1 3:1 x:1\n", 2, "f1", "non-numeric index"),
        ("1 3:1 7:1\n1 3:1 71\n", 2, "f1", "not idx:value"),
        ("1 3:1 7:1\n1 3:1 7:z\n", 2, "f1", "not a number"),
        ("1 3:1 7:1\n0 3:1\n", 2, "f1", "1 features, expected 2"),
        ("1 3:1 7:1 9:1\n", 1, "f2", "more than 2"),
        ("x 3:1 7:1\n", 1, "label", "not a number"),
    ] {
        let f = file(text);
        let err = error_of(read_libfm(f.path(), 2, ReadOptions::default()));
        assert_names(&err, f.path(), Some(line), Some(field));
        assert!(err.contains(what), "{err}");
    }
    let f = file("");
    let err = error_of(read_libfm(f.path(), 2, ReadOptions::default()));
    assert!(err.contains("empty file"), "{err}");
    let f = file("1 3:1 7:1\n1 3:1\nbad\n1 3:1 7:1\n");
    let t = read_libfm(f.path(), 2, ReadOptions::skipping()).unwrap();
    assert_eq!((t.num_rows(), t.skipped_rows), (2, 2));
    let f = file("1 3:1\n");
    let err = error_of(read_libfm(f.path(), 2, ReadOptions::skipping()));
    assert!(
        err.contains("no valid data rows (1 malformed rows skipped)"),
        "{err}"
    );
    let err = error_of(read_libfm(
        Path::new("/no/such/file.libfm"),
        2,
        ReadOptions::default(),
    ));
    assert!(err.contains("/no/such/file.libfm"), "{err}");
}

fn write_parquet(batch: arrow::record_batch::RecordBatch) -> tempfile::NamedTempFile {
    let f = tempfile::Builder::new()
        .suffix(".parquet")
        .tempfile()
        .unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(f.reopen().unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    f
}

#[test]
fn parquet_columns_by_name_and_type() {
    use arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StringArray};
    use arrow::datatypes::Int32Type;
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(2), Some(3)]),
        None,
        Some(vec![Some(4)]),
    ]);
    let batch = arrow::record_batch::RecordBatch::try_from_iter(vec![
        (
            "user",
            Arc::new(Int64Array::from(vec![7, 8, 7])) as ArrayRef,
        ),
        (
            "city",
            Arc::new(StringArray::from(vec![Some("paris"), None, Some("rome")])) as ArrayRef,
        ),
        (
            "price",
            Arc::new(Float64Array::from(vec![Some(1.5), None, Some(3.0)])) as ArrayRef,
        ),
        ("hist", Arc::new(list) as ArrayRef),
        (
            "click",
            Arc::new(Int64Array::from(vec![Some(1), Some(0), None])) as ArrayRef,
        ),
    ])
    .unwrap();
    let f = write_parquet(batch);
    let schema = Schema {
        fields: vec![
            FieldSpec::categorical("user"),
            FieldSpec::categorical("city"),
            FieldSpec::numeric("price", Default::default()),
            FieldSpec::sequence("hist", 5),
        ],
        labels: vec!["click".into()],
        group_by: Some("user".into()),
        regression_labels: Vec::new(),
    };
    // Row 3's label is null: an error naming the row and the label column…
    let err = error_of(read_parquet(f.path(), &schema, ReadOptions::default()));
    assert_names(&err, f.path(), Some(3), Some("click"));
    // …or a skipped row.
    let t = read_parquet(f.path(), &schema, ReadOptions::skipping()).unwrap();
    assert_eq!((t.num_rows(), t.skipped_rows), (2, 1));
    assert_eq!(
        t.columns[0],
        RawColumn::Tokens(vec![Some(int_token_hash(0, 7)), Some(int_token_hash(0, 8))]),
        "integers hash like their CSV text"
    );
    assert_eq!(
        t.columns[1],
        RawColumn::Tokens(vec![Some(token_hash(1, b"paris")), None])
    );
    let RawColumn::Numeric(p) = &t.columns[2] else {
        panic!()
    };
    assert!(p[0] == 1.5 && p[1].is_nan());
    let RawColumn::TokenLists { offsets, tokens } = &t.columns[3] else {
        panic!()
    };
    assert_eq!(offsets, &vec![0, 3, 3]);
    assert_eq!(tokens[1], token_hash(3, b"2"));
    assert_eq!(t.groups.as_ref().unwrap()[0], token_hash(u32::MAX, b"7"));

    // Missing column and unsupported type name the column.
    let mut missing = schema.clone();
    missing.labels = vec!["nope".into()];
    let err = error_of(read_parquet(f.path(), &missing, ReadOptions::default()));
    assert_names(&err, f.path(), None, Some("nope"));
    let mut wrong = schema.clone();
    wrong.fields[2] = FieldSpec::numeric("city", Default::default());
    let err = error_of(read_parquet(f.path(), &wrong, ReadOptions::default()));
    assert_names(&err, f.path(), None, Some("city"));
    assert!(err.contains("unsupported column type"), "{err}");
    // Not a Parquet file at all.
    let g = file("a,b\n1,2\n");
    let err = error_of(read_parquet(g.path(), &schema, ReadOptions::default()));
    assert!(err.contains("not a readable Parquet file"), "{err}");
}
