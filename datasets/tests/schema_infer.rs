//! `schema_infer` on the shared samples and on files written here: the
//! choices, the reasons, and that the written file loads as it is through
//! the csv and parquet sources.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ember_datasets::readers::CsvSpec;
use ember_datasets::registry::{DataConfig, PreparedData, load};
use ember_datasets::schema_infer::{FileFormat, InferOptions, InferredSchema, Role};
use ember_datasets::sources::{Csv, Parquet};
use ember_datasets::{Encoding, FieldKind, Normalisation, infer_schema, shared_data_dir};

fn infer(path: &Path, labels: &[&str]) -> InferredSchema {
    infer_schema(
        path,
        &InferOptions {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn error(path: &Path, labels: &[&str]) -> String {
    infer_schema(
        path,
        &InferOptions {
            labels: labels.iter().map(|l| l.to_string()).collect(),
            ..Default::default()
        },
    )
    .expect_err("should fail")
    .to_string()
}

/// Writes the schema file, checks it reads back (through the loader the
/// sources use) as exactly the inferred schema, and returns its path.
fn written(inferred: &InferredSchema, dir: &Path) -> PathBuf {
    let path = dir.join("schema.toml");
    std::fs::write(&path, inferred.to_toml()).unwrap();
    let spec = CsvSpec::from_file(&path).unwrap_or_else(|e| panic!("{e}\n{}", inferred.to_toml()));
    assert_eq!(spec, inferred.spec(), "{}", inferred.to_toml());
    path
}

/// Loads `data` as train and test with the csv source and the written schema.
fn load_csv(inferred: &InferredSchema, data: &Path) -> PreparedData {
    let dir = tempfile::tempdir().unwrap();
    let schema = written(inferred, dir.path());
    load(&DataConfig::Csv(Csv {
        train: data.to_owned(),
        valid: None,
        test: data.to_owned(),
        schema,
    }))
    .unwrap_or_else(|e| panic!("{e}\n{}", inferred.to_toml()))
}

fn load_parquet(inferred: &InferredSchema, data: &Path) -> PreparedData {
    let dir = tempfile::tempdir().unwrap();
    let schema = written(inferred, dir.path());
    load(&DataConfig::Parquet(Parquet {
        train: data.to_owned(),
        valid: None,
        test: data.to_owned(),
        schema,
    }))
    .unwrap_or_else(|e| panic!("{e}\n{}", inferred.to_toml()))
}

fn kind(inferred: &InferredSchema, name: &str) -> FieldKind {
    match &inferred
        .column(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .role
    {
        Role::Field(spec) => spec.kind.clone(),
        other => panic!(
            "{name} is {other:?}: {}",
            inferred.column(name).unwrap().why
        ),
    }
}

fn left_out_why(inferred: &InferredSchema, name: &str) -> String {
    let column = inferred.column(name).unwrap();
    assert!(
        matches!(column.role, Role::LeftOut(_)),
        "{name} kept: {}",
        column.why
    );
    column.why.clone()
}

fn text_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn criteo_samples_have_numeric_counts_and_categorical_ids() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    for (file, rows) in [
        ("samples/deepctr/criteo_sample.txt", 200),
        ("samples/torch-rechub/criteo_sample.csv", 115),
    ] {
        let path = root.join(file);
        let inferred = infer(&path, &["label"]);
        let FileFormat::Csv(dialect) = &inferred.format else {
            panic!("{file} is text")
        };
        assert_eq!((dialect.delimiter, dialect.has_header), (',', true));
        assert_eq!(inferred.labels, ["label"]);
        assert!(inferred.size.whole_file);
        for i in 1..=13 {
            let name = format!("I{i}");
            assert_eq!(kind(&inferred, &name), FieldKind::Numeric, "{file} {name}");
            let spec = inferred.column(&name).unwrap().spec().unwrap();
            assert_eq!(spec.normalisation, Normalisation::Log1p, "{file} {name}");
        }
        for i in 1..=26 {
            let name = format!("C{i}");
            assert_eq!(
                kind(&inferred, &name),
                FieldKind::Categorical,
                "{file} {name}"
            );
        }
        let i10 = &inferred.column("I10").unwrap().why;
        assert!(
            i10.contains("written as decimals ('0.0')") && i10.contains("4 distinct, 0..3"),
            "{i10}"
        );
        let c3 = &inferred.column("C3").unwrap().why;
        assert!(
            c3.contains("text values") && c3.contains("distinct in"),
            "{c3}"
        );

        let data = load_csv(&inferred, &path);
        assert_eq!(data.layout.numeric.len(), 13, "{file}");
        assert_eq!(data.layout.categorical.len(), 26, "{file}");
        assert_eq!(data.layout.tasks, ["label"]);
        assert_eq!(data.test.num_rows, rows, "{file}");
    }
}

#[test]
fn avazu_sample_leaves_out_the_row_id_and_the_constant_hour() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let path = root.join("samples/deepctr/avazu_sample.txt");
    let inferred = infer(&path, &["click"]);
    let id = left_out_why(&inferred, "id");
    assert!(
        id.contains("100 distinct in 100 rows") && id.contains("unique per row"),
        "{id}"
    );
    let hour = left_out_why(&inferred, "hour");
    assert!(
        hour.contains("one value ('14102100') in all 100 rows"),
        "{hour}"
    );
    for name in [
        "site_id",
        "app_id",
        "device_ip",
        "device_model",
        "C1",
        "banner_pos",
        "C21",
    ] {
        assert_eq!(kind(&inferred, name), FieldKind::Categorical, "{name}");
    }
    // 98 device_ips in 100 rows, nearly all seen once: no vocabulary to learn.
    let device_ip = inferred.column("device_ip").unwrap();
    assert_eq!(
        device_ip.spec().unwrap().encoding,
        Encoding::Vocab { min_count: 2 },
        "{}",
        device_ip.why
    );
    // The left-out columns are in the file, commented out.
    let toml = inferred.to_toml();
    assert!(toml.contains("# [[fields]]\n# name = \"id\""), "{toml}");
    // C14's 39 integers spread over 4,687..21,691 read as an amount; only
    // knowing Avazu says it is an anonymised category (the one miss).
    assert_eq!(kind(&inferred, "C14"), FieldKind::Numeric);
    let data = load_csv(&inferred, &path);
    assert_eq!(
        (data.layout.categorical.len(), data.layout.numeric.len()),
        (20, 1)
    );
    assert_eq!(data.train.num_rows + data.valid.num_rows, 100);
}

#[test]
fn movielens_genres_are_a_sequence_and_the_timestamp_is_left_out() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let path = root.join("samples/deepctr/movielens_sample.txt");
    let inferred = infer(&path, &["rating"]);
    assert_eq!(
        kind(&inferred, "genres"),
        FieldKind::Sequence {
            max_len: 4,
            separator: '|'
        }
    );
    let genres = &inferred.column("genres").unwrap().why;
    assert!(
        genres.contains("'|' in 140 of 200 non-empty cells (70%)"),
        "{genres}"
    );
    let timestamp = left_out_why(&inferred, "timestamp");
    assert!(
        timestamp.contains("epoch seconds from 2000-04-26")
            && timestamp.contains("looks like a timestamp"),
        "{timestamp}"
    );
    assert_eq!(kind(&inferred, "user_id"), FieldKind::Categorical);
    assert_eq!(
        kind(&inferred, "title"),
        FieldKind::Categorical,
        "words, not a list"
    );
    assert_eq!(
        inferred.group_by.as_ref().map(|g| g.0.as_str()),
        Some("user_id")
    );
    // A 1..5 rating loads, with a warning that it is no 0/1 label.
    let rating = inferred.column("rating").unwrap();
    assert!(rating.warnings[0].contains("not 0/1"), "{rating:?}");
    assert!(
        inferred
            .to_toml()
            .contains("# warning: values 1..5, not 0/1")
    );
    let data = load_csv(&inferred, &path);
    assert_eq!(data.layout.sequences[0].0, "genres");
    assert!(data.train.groups.is_some());
}

#[test]
fn census_and_ali_ccp_agree_with_the_hand_written_schemas() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/schemas");
    // (file, schema, labels, fields the sample lets us compare)
    for (file, schema, labels, comparable) in [
        (
            "samples/torch-rechub/census_income_train_sample.csv",
            "census_income.toml",
            &["income", "marital status"][..],
            39,
        ),
        // 18 Ali-CCP columns hold one value in this sample: left out.
        (
            "samples/torch-rechub/ali_ccp_train_sample.csv",
            "ali_ccp.toml",
            &["click", "purchase"][..],
            13,
        ),
    ] {
        let inferred = infer(&root.join(file), labels);
        let by_hand = CsvSpec::from_file(&schemas.join(schema)).unwrap().schema;
        assert_eq!(inferred.labels, by_hand.labels);
        let mut compared = 0;
        for field in &by_hand.fields {
            let column = inferred.column(&field.name).unwrap();
            // The sample holds a single value in some Ali-CCP columns.
            if let Role::Field(spec) = &column.role {
                assert_eq!(
                    spec.kind, field.kind,
                    "{file} {}: {}",
                    field.name, column.why
                );
                compared += 1;
            }
        }
        assert_eq!(compared, comparable, "{file}");
        load_csv(&inferred, &root.join(file));
    }
}

#[test]
fn tiny_parquet_sample_loads_with_its_inferred_schema() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let path = root.join("samples/fuxictr/tiny_parquet_train.parquet");
    let inferred = infer(&path, &["clk"]);
    assert_eq!(inferred.format, FileFormat::Parquet);
    assert_eq!(
        inferred.group_by.as_ref().map(|g| g.0.as_str()),
        Some("userid")
    );
    let schema = inferred.schema();
    assert_eq!(schema.fields.len(), 14);
    assert!(
        schema
            .fields
            .iter()
            .all(|f| f.kind == FieldKind::Categorical)
    );
    assert!(
        !inferred.to_toml().contains("delimiter"),
        "no delimiter for Parquet"
    );
    let data = load_parquet(&inferred, &path);
    assert_eq!(data.layout.categorical.len(), 14);
}

fn write_parquet(path: &Path, batch: &arrow::record_batch::RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

/// 60 rows: ids, a price, a 4-float embedding, an item history, a
/// timestamp, a string tag list and a click; `null_embedding` nulls one.
fn feature_batch(null_embedding: bool) -> arrow::record_batch::RecordBatch {
    use arrow::array::{
        ArrayRef, Float64Array, Int64Array, ListArray, StringArray, TimestampSecondArray,
    };
    use arrow::datatypes::{Float32Type, Int64Type};
    let n = 60;
    let embedding = ListArray::from_iter_primitive::<Float32Type, _, _>((0..n).map(|r| {
        (!(null_embedding && r == 7)).then(|| {
            (0..4)
                .map(|k| Some(r as f32 * 0.1 + k as f32))
                .collect::<Vec<_>>()
        })
    }));
    let history = ListArray::from_iter_primitive::<Int64Type, _, _>((0..n).map(|r| {
        Some(
            (0..1 + r % 5)
                .map(|k| Some((r * 7 + k) % 23))
                .collect::<Vec<_>>(),
        )
    }));
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "user_id",
            Arc::new(Int64Array::from_iter_values((0..n).map(|r| r % 9))),
        ),
        (
            "price",
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|r| 1.5 + r as f64 * 0.37),
            )),
        ),
        ("embedding", Arc::new(embedding)),
        ("history", Arc::new(history)),
        (
            "seen_at",
            Arc::new(TimestampSecondArray::from_iter_values(
                (0..n).map(|r| 1_700_000_000 + r * 60),
            )),
        ),
        (
            "tags",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|r| ["a|b", "b|c|d", "a|d"][r as usize % 3]),
            )),
        ),
        (
            "click",
            Arc::new(Int64Array::from_iter_values((0..n).map(|r| r % 2))),
        ),
    ];
    arrow::record_batch::RecordBatch::try_from_iter(columns).unwrap()
}

#[test]
fn parquet_float_lists_become_dense_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("features.parquet");
    write_parquet(&path, &feature_batch(false));
    let inferred = infer(&path, &["click"]);
    assert_eq!(
        kind(&inferred, "embedding"),
        FieldKind::Dense {
            dim: 4,
            separator: '|'
        }
    );
    let embedding = &inferred.column("embedding").unwrap().why;
    assert!(
        embedding.contains("a list of 4 numbers in each of 60 rows"),
        "{embedding}"
    );
    assert!(matches!(
        kind(&inferred, "history"),
        FieldKind::Sequence { max_len: 5, .. }
    ));
    assert_eq!(kind(&inferred, "price"), FieldKind::Numeric);
    assert_eq!(kind(&inferred, "user_id"), FieldKind::Categorical);
    assert!(matches!(
        kind(&inferred, "tags"),
        FieldKind::Sequence { separator: '|', .. }
    ));
    let seen_at = left_out_why(&inferred, "seen_at");
    assert!(seen_at.contains("looks like a timestamp"), "{seen_at}");
    assert_eq!(
        inferred.column("seen_at").unwrap().spec(),
        None,
        "ember cannot read it"
    );
    let data = load_parquet(&inferred, &path);
    assert_eq!(data.layout.dense, [("embedding".to_string(), 4)]);
    assert_eq!(data.layout.sequences.len(), 2);

    // A null vector cannot be read: left out, with the reason.
    write_parquet(&path, &feature_batch(true));
    let inferred = infer(&path, &["click"]);
    let why = left_out_why(&inferred, "embedding");
    assert!(why.contains("null lists"), "{why}");
    load_parquet(&inferred, &path);
}

#[test]
fn text_vectors_and_headerless_files() {
    // Tab-delimited, no header, labels first: every column is kept, by position.
    let mut text = String::new();
    for r in 0..40 {
        text.push_str(&format!(
            "{}\tcity{}\t{:.2};{:.2};{:.2}\t{}\n",
            r % 2,
            r % 5,
            r as f64 * 0.5,
            1.0 - r as f64 * 0.01,
            r as f64 * 0.25,
            10_000 + r
        ));
    }
    let f = text_file(&text);
    let inferred = infer(f.path(), &["c1"]);
    let FileFormat::Csv(dialect) = &inferred.format else {
        panic!("text")
    };
    assert_eq!((dialect.delimiter, dialect.has_header), ('\t', false));
    assert_eq!(
        kind(&inferred, "c3"),
        FieldKind::Dense {
            dim: 3,
            separator: ';'
        }
    );
    // A row id would be left out, but position matters without a header.
    let c4 = &inferred.column("c4").unwrap();
    assert!(
        matches!(c4.role, Role::Field(_)) && c4.why.contains("kept anyway"),
        "{c4:?}"
    );
    let toml = inferred.to_toml();
    assert!(
        toml.contains("has_header = false") && toml.contains("delimiter = \"\\t\""),
        "{toml}"
    );
    let data = load_csv(&inferred, f.path());
    assert_eq!(data.layout.dense, [("c3".to_string(), 3)]);
    assert_eq!(data.layout.categorical.len(), 2);

    // The labels of a headerless file must lead.
    let err = error(f.path(), &["c2"]);
    assert!(
        err.contains("field 'c2'") && err.contains("labels first"),
        "{err}"
    );
}

#[test]
fn cardinality_is_extrapolated_to_the_whole_file() {
    // 1,000,000 rows; the first 20,000 are read. `item` repeats little, so
    // its distinct count grows with the file (~127,000 estimated): hash buckets.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(out, "click,item,shop").unwrap();
    for r in 0u64..1_000_000 {
        let item = if r % 10 == 0 {
            0
        } else {
            r.wrapping_mul(2_654_435_761) % 1_000_003
        };
        writeln!(out, "{},i{item},s{}", r % 2, r % 40).unwrap();
    }
    drop(out);
    let inferred = infer_schema(
        &path,
        &InferOptions {
            labels: vec!["click".into()],
            sample_rows: 20_000,
        },
    )
    .unwrap();
    assert_eq!(inferred.size.rows, 20_000);
    assert!(!inferred.size.whole_file);
    let file_rows = inferred.size.file_rows as f64;
    assert!((file_rows / 1e6 - 1.0).abs() < 0.05, "{file_rows}");
    let item = inferred.column("item").unwrap();
    let Encoding::Hash { buckets } = item.spec().unwrap().encoding else {
        panic!("{}", item.why)
    };
    assert!(buckets.is_power_of_two() && buckets >= 1 << 17, "{buckets}");
    assert!(
        item.why.contains("estimated in the whole file"),
        "{}",
        item.why
    );
    assert!(inferred.to_toml().contains("estimated from the file size"));
    let shop = inferred.column("shop").unwrap();
    assert_eq!(
        shop.spec().unwrap().encoding,
        Encoding::Vocab { min_count: 1 }
    );
}

#[test]
fn bad_input_is_named_by_file_and_line() {
    let err = error(Path::new("/no/such/file.csv"), &[]);
    assert!(err.contains("/no/such/file.csv"), "{err}");

    let empty = text_file("");
    let err = error(empty.path(), &[]);
    assert!(
        err.contains(&empty.path().display().to_string()) && err.contains("empty file"),
        "{err}"
    );

    let header_only = text_file("a,b,c\n");
    let err = error(header_only.path(), &[]);
    assert!(err.contains("no data rows"), "{err}");

    let ragged = text_file("a,b,c\n1,2,3\n4,5\n6,7,8\n");
    let err = error(ragged.path(), &[]);
    assert!(
        err.contains(&ragged.path().display().to_string())
            && err.contains("line 3")
            && err.contains("2 columns, but the header has 3"),
        "{err}"
    );

    let f = text_file("click,city\n1,paris\n0,rome\n");
    let err = error(f.path(), &["clicked"]);
    assert!(
        err.contains("field 'clicked'") && err.contains("columns: click, city"),
        "{err}"
    );

    let mut not_parquet = tempfile::Builder::new()
        .suffix(".parquet")
        .tempfile()
        .unwrap();
    not_parquet.write_all(b"a,b\n1,2\n").unwrap();
    let err = error(not_parquet.path(), &[]);
    assert!(err.contains("not a readable Parquet file"), "{err}");
}

#[test]
fn labels_that_will_not_train_are_flagged_in_the_file() {
    let f = text_file("bought,city\nyes,paris\nno,rome\n,paris\n");
    let inferred = infer(f.path(), &["bought"]);
    let toml = inferred.to_toml();
    assert!(
        toml.contains("# warning: 'no' is not a number")
            && toml.contains("# warning: 1 of 3 cells are empty"),
        "{toml}"
    );
    // Without --label, 0/1 columns are suggested.
    let f = text_file("click,city\n1,paris\n0,rome\n");
    let toml = infer(f.path(), &[]).to_toml();
    assert!(
        toml.contains("labels = []") && toml.contains("could be one: click"),
        "{toml}"
    );
}
