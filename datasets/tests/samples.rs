//! The example schema files under `configs/schemas/` against the sample files
//! in the shared data, and the protocol datasets end to end.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ember_datasets::readers::{CsvSpec, ReadOptions, read_csv, read_parquet};
use ember_datasets::registry::{DataConfig, load, read_for_prediction};
use ember_datasets::sources::{Csv, FrappeCtr, Ml100kCtr};
use ember_datasets::{Preprocessor, RawColumn, shared_data_dir, splits};

fn schema_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../configs/schemas")
        .join(name)
}

fn read_sample(schema: &str, file: &Path) -> ember_datasets::RawTable {
    let spec = CsvSpec::from_file(&schema_file(schema)).unwrap();
    read_csv(file, &spec, ReadOptions::default()).unwrap()
}

#[test]
fn every_schema_file_parses() {
    for entry in std::fs::read_dir(schema_file("")).unwrap() {
        let path = entry.unwrap().path();
        let spec = CsvSpec::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!spec.schema.fields.is_empty(), "{}", path.display());
    }
}

#[test]
fn criteo_and_avazu_samples() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let t = read_sample(
        "criteo_sample.toml",
        &root.join("samples/deepctr/criteo_sample.txt"),
    );
    assert_eq!(t.num_rows(), 200);
    assert_eq!(t.columns.len(), 39);
    let RawColumn::Numeric(i1) = &t.columns[0] else {
        panic!("I1 should be numeric")
    };
    assert!(i1.iter().any(|x| x.is_nan()), "empty I1 cells read as NaN");
    let pre = Preprocessor::fit(
        &CsvSpec::from_file(&schema_file("criteo_sample.toml"))
            .unwrap()
            .schema,
        &t,
    )
    .unwrap();
    let enc = pre.transform(&t).unwrap();
    assert_eq!((enc.num_categorical, enc.num_numeric), (26, 13));
    assert!(enc.numeric.iter().all(|x| x.is_finite() && *x >= 0.0));

    let t = read_sample(
        "avazu_sample.toml",
        &root.join("samples/deepctr/avazu_sample.txt"),
    );
    assert_eq!(t.num_rows(), 100);
    let spec = CsvSpec::from_file(&schema_file("avazu_sample.toml")).unwrap();
    let pre = Preprocessor::fit(&spec.schema, &t).unwrap();
    let layout = pre.layout();
    let device_ip = layout
        .categorical
        .iter()
        .find(|(n, _)| n == "device_ip")
        .unwrap();
    assert_eq!(device_ip.1, 1_000_001, "hash buckets + OOV id");
}

#[test]
fn multi_task_samples_through_the_registry() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let rechub = root.join("samples/torch-rechub");
    let data = load(&DataConfig::Csv(Csv {
        train: rechub.join("ali_ccp_train_sample.csv"),
        valid: Some(rechub.join("ali_ccp_val_sample.csv")),
        test: rechub.join("ali_ccp_test_sample.csv"),
        schema: schema_file("ali_ccp.toml"),
    }))
    .unwrap();
    assert_eq!(data.layout.tasks, vec!["click", "purchase"]);
    assert_eq!(data.train.num_tasks, 2);
    assert_eq!(data.train.num_rows, 100);
    assert_eq!(data.layout.numeric.len(), 8);
    assert!(data.train.groups.is_some());

    // Census without its validation file: a seeded 10 % of train.
    let config = DataConfig::Csv(Csv {
        train: rechub.join("census_income_train_sample.csv"),
        valid: None,
        test: rechub.join("census_income_test_sample.csv"),
        schema: schema_file("census_income.toml"),
    });
    let data = load(&config).unwrap();
    assert_eq!((data.train.num_rows, data.valid.num_rows), (72, 8));
    assert_eq!(data.test.num_rows, 20);
    assert_eq!(data.layout.tasks, vec!["income", "marital status"]);
    assert_eq!(data.layout.numeric.len(), 7);
    // Prediction reads the same format and encodes with the stored preprocessor.
    let raw =
        read_for_prediction(&config, &rechub.join("census_income_val_sample.csv"), false).unwrap();
    let enc = data.preprocessor.as_ref().unwrap().transform(&raw).unwrap();
    assert_eq!(enc.num_rows, 20);
}

#[test]
fn tiny_parquet_sample() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let spec = CsvSpec::from_file(&schema_file("tiny_parquet.toml")).unwrap();
    let path = root.join("samples/fuxictr/tiny_parquet_train.parquet");
    let t = read_parquet(&path, &spec.schema, ReadOptions::default()).unwrap();
    assert!(t.num_rows() > 10);
    assert_eq!(t.columns.len(), 14);
    assert!(t.labels.iter().all(|&l| l == 0.0 || l == 1.0));
    let pre = Preprocessor::fit(&spec.schema, &t).unwrap();
    for (name, card) in pre.layout().categorical {
        assert!(card >= 2, "{name} has no known tokens");
    }
    // A column the schema names but the file lacks.
    let mut bad = spec.schema.clone();
    bad.fields[0].name = "no_such_column".into();
    let err = read_parquet(&path, &bad, ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tiny_parquet_train.parquet") && err.contains("'no_such_column'"),
        "{err}"
    );
}

#[test]
fn protocol_datasets_load_fast_with_the_documented_sizes() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let start = Instant::now();
    let f = load(&DataConfig::FrappeCtr(FrappeCtr { root: root.clone() })).unwrap();
    let frappe_time = start.elapsed();
    assert_eq!(
        (f.train.num_rows, f.valid.num_rows, f.test.num_rows),
        (51_950, 5_772, 28_860)
    );
    assert_eq!(f.layout.categorical.len(), 10);
    let rate = f.train.task_labels(0).iter().sum::<f32>() / f.train.num_rows as f32;
    assert!((0.3..0.36).contains(&rate), "frappe positive rate {rate}");
    // Unseen test tokens are OOV, never out of range.
    for (r, ids) in f.test.categorical.chunks_exact(10).enumerate() {
        for (k, &id) in ids.iter().enumerate() {
            assert!(
                (id as usize) < f.layout.categorical[k].1,
                "row {r} field {k}"
            );
        }
    }

    let start = Instant::now();
    let config = DataConfig::Ml100kCtr(Ml100kCtr {
        root: root.clone(),
        labels: vec![
            ember_datasets::readers::RatingLabel::AtLeast4,
            ember_datasets::readers::RatingLabel::Equals5,
        ],
        id_min_count: 1,
        ..Default::default()
    });
    let m = load(&config).unwrap();
    let ml_time = start.elapsed();
    assert_eq!(
        (m.train.num_rows, m.valid.num_rows, m.test.num_rows),
        (80_000, 10_000, 10_000)
    );
    assert_eq!(m.layout.tasks, vec!["like", "love"]);
    assert_eq!(m.layout.categorical.len(), 6);
    let (name, _, max_len) = &m.layout.sequences[0];
    assert_eq!((name.as_str(), *max_len), ("genres", 6));
    assert!(m.train.groups.is_some());
    let like = m.train.task_labels(0).iter().sum::<f32>() / 80_000.0;
    assert!((0.5..0.6).contains(&like), "like rate {like}");
    eprintln!("frappe-ctr loaded in {frappe_time:?}, ml100k-ctr in {ml_time:?}");

    // Prediction input for ml100k-ctr: a u.data-format file.
    let raw = read_for_prediction(&config, &root.join("ml-100k/ua.test"), false).unwrap();
    assert_eq!(raw.num_rows(), 9430);
    let enc = m.preprocessor.as_ref().unwrap().transform(&raw).unwrap();
    assert_eq!(enc.num_tasks, 2);
}

#[test]
fn ml100k_leave_last_out_has_one_test_row_per_user() {
    let Some(root) = shared_data_dir() else {
        return;
    };
    let dir = root.join("ml-100k");
    let ml = ember_datasets::readers::read_movielens(
        &dir,
        &dir.join("u.data"),
        &[ember_datasets::readers::RatingLabel::AtLeast4],
        ReadOptions::default(),
    )
    .unwrap();
    let s = splits::leave_last_out(&ml.user, &ml.timestamp, &ml.item);
    assert_eq!((s.test.len(), s.valid.len()), (943, 943));
    assert_eq!(s.train.len(), 100_000 - 2 * 943);
}
