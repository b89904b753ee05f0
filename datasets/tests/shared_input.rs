//! A distributed job's ranks each read their share of the input files and
//! fit the same preprocessor from their merged statistics: the shares in
//! rank order are the whole split, and every rank's preprocessor is the one
//! fitting on all of train gives. Ranks are threads here, exchanging bytes
//! through a barrier as MPI's all-gather would.

use std::sync::{Arc, Barrier, Mutex};

use ember_datasets::fit_stats::FitStats;
use ember_datasets::preprocess::FieldEncoder;
use ember_datasets::readers::csv_schema::{CsvSpec, read_csv};
use ember_datasets::readers::{FileShard, ReadOptions, read_parquet};
use ember_datasets::registry::{self, InputShare};
use ember_datasets::sources::{Csv, Parquet};
use ember_datasets::{DataConfig, EncodedData, PreparedData, Preprocessor};

const SCHEMA: &str = r#"
labels = ["click"]
[[fields]]
name = "user"
kind = "categorical"
encoding = { type = "vocab", min_count = 2 }
[[fields]]
name = "price"
kind = "numeric"
normalisation = "standard"
[[fields]]
name = "age"
kind = "numeric"
normalisation = "min_max"
[[fields]]
name = "tags"
kind = "sequence"
max_len = 3
"#;

/// `n` rows of a CSV in [`SCHEMA`], varied in length so that byte shares
/// hold different row counts.
fn csv_text(n: usize, seed: usize) -> String {
    let mut text = String::from("click,user,price,age,tags\r\n");
    for i in 0..n {
        let k = i * 7 + seed;
        text += &format!(
            "{},u{},{}.{},{},{}\r\n",
            u8::from(k.is_multiple_of(3)),
            (k * 13) % 41,
            k % 97,
            k % 10,
            k % 60,
            (0..k % 5)
                .map(|j| format!("t{}", (k + j) % 17))
                .collect::<Vec<_>>()
                .join("|")
        );
    }
    text
}

/// Runs `load` on `ranks` threads, each with its share and an exchange
/// that gathers every rank's bytes in rank order.
fn load_on_ranks(
    ranks: usize,
    load: impl Fn(InputShare<'_>) -> PreparedData + Sync,
) -> Vec<PreparedData> {
    let barrier = Arc::new(Barrier::new(ranks));
    let slots: Arc<Mutex<Vec<Vec<u8>>>> = Arc::new(Mutex::new(vec![Vec::new(); ranks]));
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..ranks)
            .map(|rank| {
                let (barrier, slots, load) = (barrier.clone(), slots.clone(), &load);
                scope.spawn(move || {
                    let exchange = move |bytes: Vec<u8>| {
                        slots.lock().unwrap()[rank] = bytes;
                        barrier.wait();
                        let all = slots.lock().unwrap().clone();
                        barrier.wait();
                        Ok(all)
                    };
                    load(InputShare {
                        shard: FileShard::new(rank, ranks),
                        exchange: &exchange,
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Asserts two preprocessors encode alike: the same vocabularies, and
/// numeric statistics equal up to the order the values were summed in.
fn assert_same_preprocessor(a: &Preprocessor, b: &Preprocessor) {
    assert_eq!(a.schema, b.schema);
    for (x, y) in a.encoders.iter().zip(&b.encoders) {
        match (x, y) {
            (
                FieldEncoder::Numeric { shift, scale },
                FieldEncoder::Numeric {
                    shift: s2,
                    scale: c2,
                },
            ) => {
                assert!(
                    (shift - s2).abs() <= 1e-5 * shift.abs().max(1.0),
                    "{x:?} {y:?}"
                );
                assert!(
                    (scale - c2).abs() <= 1e-5 * scale.abs().max(1.0),
                    "{x:?} {y:?}"
                );
            }
            _ => assert_eq!(x, y),
        }
    }
}

/// The rows of `parts`, one after the other, as one split.
fn concatenated(parts: &[&EncodedData]) -> (Vec<u32>, Vec<f32>, Vec<f32>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for p in parts {
        out.0.extend(&p.categorical);
        out.1.extend(&p.numeric);
        out.2.extend(&p.labels);
    }
    out
}

fn assert_shares_make_the_whole(whole: &EncodedData, parts: &[&EncodedData]) {
    let (cat, num, labels) = concatenated(parts);
    assert_eq!(cat, whole.categorical);
    assert_eq!(labels, whole.labels);
    assert_eq!(num.len(), whole.numeric.len());
    for (a, b) in num.iter().zip(&whole.numeric) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
    let seq = |d: &EncodedData| d.sequences[0].ids.clone();
    let joined: Vec<u32> = parts.iter().flat_map(|p| seq(p)).collect();
    assert_eq!(joined, seq(whole));
}

#[test]
fn csv_shares_are_the_file_and_every_rank_fits_the_whole_files_preprocessor() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("schema.toml"), SCHEMA).unwrap();
    std::fs::write(d.join("train.csv"), csv_text(1000, 0)).unwrap();
    std::fs::write(d.join("valid.csv"), csv_text(101, 1)).unwrap();
    std::fs::write(d.join("test.csv"), csv_text(203, 2)).unwrap();
    let config: DataConfig = Csv {
        train: d.join("train.csv"),
        valid: Some(d.join("valid.csv")),
        test: d.join("test.csv"),
        schema: d.join("schema.toml"),
    }
    .into();
    let whole = registry::load(&config).unwrap();
    for ranks in [1, 2, 3] {
        let shares = load_on_ranks(ranks, |share| registry::load_share(&config, share).unwrap());
        for share in &shares {
            assert_same_preprocessor(
                share.preprocessor.as_ref().unwrap(),
                whole.preprocessor.as_ref().unwrap(),
            );
        }
        let rows: Vec<usize> = shares.iter().map(|s| s.train.num_rows).collect();
        assert!(
            rows.iter()
                .all(|&r| r.abs_diff(1000 / ranks) < 1000 / ranks / 5),
            "each rank reads about its share: {rows:?}"
        );
        for k in 0..3 {
            let parts: Vec<&EncodedData> = shares.iter().map(|s| splits(s)[k]).collect();
            assert_shares_make_the_whole(splits(&whole)[k], &parts);
        }
    }
}

fn splits(p: &PreparedData) -> [&EncodedData; 3] {
    [&p.train, &p.valid, &p.test]
}

#[test]
fn a_bad_row_in_a_later_share_is_named_by_its_line_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.csv");
    let mut text = csv_text(300, 0);
    // Line 251 of the file (the header is line 1): a price that is no number.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[250] = "1,u1,cheap,3,t1".into();
    text = lines.join("\n") + "\n";
    std::fs::write(&path, text).unwrap();
    let spec: CsvSpec = toml::from_str(SCHEMA).unwrap();
    let whole = read_csv(&path, &spec, ReadOptions::default()).unwrap_err();
    let options = ReadOptions {
        shard: Some(FileShard::new(2, 3)),
        ..ReadOptions::default()
    };
    let shared = read_csv(&path, &spec, options).unwrap_err();
    assert_eq!(shared.to_string(), whole.to_string());
    assert!(whole.to_string().contains("line 251"), "{whole}");
    assert!(whole.to_string().contains("price"), "{whole}");
    // The first share holds no bad row.
    let options = ReadOptions {
        shard: Some(FileShard::new(0, 3)),
        ..ReadOptions::default()
    };
    assert!(read_csv(&path, &spec, options).is_ok());
}

#[test]
fn parquet_shares_are_row_ranges_read_from_their_row_groups() {
    use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
    let n = 1000;
    let batch = arrow::record_batch::RecordBatch::try_from_iter(vec![
        (
            "click",
            Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 2))) as ArrayRef,
        ),
        (
            "user",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("u{}", (i * 13) % 41)),
            )) as ArrayRef,
        ),
        (
            "price",
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| i as f64 * 0.5),
            )) as ArrayRef,
        ),
        (
            "age",
            Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 60))) as ArrayRef,
        ),
        (
            "tags",
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("t{}|t{}", i % 7, i % 5)),
            )) as ArrayRef,
        ),
    ])
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train.parquet");
    // Row groups of 128 rows: shares start and end inside groups.
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_size(128)
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let schema = toml::from_str::<CsvSpec>(SCHEMA).unwrap().schema;
    let whole = read_parquet(&path, &schema, ReadOptions::default()).unwrap();
    for ranks in [2, 3, 7] {
        let mut labels = Vec::new();
        let mut merged: Option<FitStats> = None;
        for rank in 0..ranks {
            let options = ReadOptions {
                shard: Some(FileShard::new(rank, ranks)),
                ..ReadOptions::default()
            };
            let share = read_parquet(&path, &schema, options).unwrap();
            assert_eq!(
                share.num_rows(),
                n as usize * (rank + 1) / ranks - n as usize * rank / ranks
            );
            labels.extend(share.labels.clone());
            let stats = FitStats::of(&schema, &share).unwrap();
            match &mut merged {
                None => merged = Some(stats),
                Some(m) => m.merge(&stats).unwrap(),
            }
        }
        assert_eq!(labels, whole.labels);
        let from_shares = Preprocessor::from_stats(&schema, &merged.unwrap()).unwrap();
        assert_same_preprocessor(&from_shares, &Preprocessor::fit(&schema, &whole).unwrap());
    }
    // The parquet source's shares through the registry, too.
    let schema_path = dir.path().join("schema.toml");
    std::fs::write(&schema_path, SCHEMA).unwrap();
    let config: DataConfig = Parquet {
        train: path.clone(),
        valid: Some(path.clone()),
        test: path.clone(),
        schema: schema_path,
    }
    .into();
    let shares = load_on_ranks(2, |share| registry::load_share(&config, share).unwrap());
    assert_eq!(
        shares[0].train.num_rows + shares[1].train.num_rows,
        n as usize
    );
    assert_eq!(shares[0].preprocessor, shares[1].preprocessor);
}

#[test]
fn sources_without_files_deal_their_rows_round_robin() {
    let Some(root) = ember_datasets::shared_data_dir() else {
        return;
    };
    let config: DataConfig = ember_datasets::sources::FrappeCtr { root }.into();
    let whole = registry::load(&config).unwrap();
    let shares = load_on_ranks(2, |share| registry::load_share(&config, share).unwrap());
    assert_eq!(
        shares[0].train.num_rows + shares[1].train.num_rows,
        whole.train.num_rows
    );
    assert_eq!(shares[0].preprocessor, whole.preprocessor);
}
