//! Preprocessing: vocabularies, OOV, hash buckets, normalisation, sequences,
//! serialisation.

use ember_datasets::hashing::token_hash;
use ember_datasets::{
    Encoding, FieldSpec, Normalisation, Preprocessor, RawColumn, RawTable, Schema,
};

fn table(columns: Vec<RawColumn>, rows: usize) -> RawTable {
    RawTable {
        columns,
        labels: vec![0.0; rows],
        num_tasks: 1,
        ..Default::default()
    }
}

#[test]
fn min_count_oov_and_hash_range() {
    let schema = Schema {
        fields: vec![
            FieldSpec::categorical("c").with_encoding(Encoding::Vocab { min_count: 2 }),
            FieldSpec::categorical("h").with_encoding(Encoding::Hash { buckets: 10 }),
        ],
        labels: vec!["y".into()],
        group_by: None,
        regression_labels: Vec::new(),
    };
    let tok = |t: &[u8]| Some(token_hash(0, t));
    let train = table(
        vec![
            RawColumn::Tokens(vec![tok(b"a"), tok(b"a"), tok(b"b"), None]),
            RawColumn::Tokens((0..4).map(|i| Some(token_hash(1, &[i]))).collect()),
        ],
        4,
    );
    let pre = Preprocessor::fit(&schema, &train).unwrap();
    let layout = pre.layout();
    assert_eq!(layout.categorical, vec![("c".into(), 2), ("h".into(), 11)]);
    let test = table(
        vec![
            RawColumn::Tokens(vec![tok(b"a"), tok(b"b"), tok(b"zzz"), None]),
            RawColumn::Tokens((100..104).map(|i| Some(token_hash(1, &[i]))).collect()),
        ],
        4,
    );
    let enc = pre.transform(&test).unwrap();
    let c: Vec<u32> = enc.categorical.chunks(2).map(|r| r[0]).collect();
    assert_eq!(
        c,
        vec![1, 0, 0, 0],
        "b is below min_count, zzz unseen, None missing"
    );
    for row in enc.categorical.chunks(2) {
        assert!((1..=10).contains(&row[1]));
    }
}

#[test]
fn normalisations_fill_before_fitting() {
    let schema = Schema {
        fields: vec![
            FieldSpec::numeric("mm", Normalisation::MinMax),
            FieldSpec::numeric("log", Normalisation::Log1p),
            FieldSpec {
                fill: 10.0,
                ..FieldSpec::numeric("std", Normalisation::Standard)
            },
            FieldSpec::numeric("const", Normalisation::Standard),
        ],
        labels: vec!["y".into()],
        group_by: None,
        regression_labels: Vec::new(),
    };
    let train = table(
        vec![
            RawColumn::Numeric(vec![2.0, 4.0, 6.0]),
            RawColumn::Numeric(vec![0.0, f32::NAN, -5.0]),
            RawColumn::Numeric(vec![f32::NAN, 0.0, 20.0]),
            RawColumn::Numeric(vec![3.0, 3.0, 3.0]),
        ],
        3,
    );
    let pre = Preprocessor::fit(&schema, &train).unwrap();
    let test = table(
        vec![
            RawColumn::Numeric(vec![4.0]),
            RawColumn::Numeric(vec![std::f32::consts::E - 1.0]),
            RawColumn::Numeric(vec![f32::NAN]),
            RawColumn::Numeric(vec![5.0]),
        ],
        1,
    );
    let enc = pre.transform(&test).unwrap();
    assert!((enc.numeric[0] - 0.5).abs() < 1e-6, "min-max");
    assert!((enc.numeric[1] - 1.0).abs() < 1e-6, "log1p");
    assert!(
        enc.numeric[2].abs() < 1e-6,
        "NaN → fill 10 = the mean of [10, 0, 20]"
    );
    assert!(
        (enc.numeric[3] - 2.0).abs() < 1e-6,
        "constant column: scale 1"
    );
    let enc = pre.transform(&train).unwrap();
    assert!(enc.numeric.iter().all(|x| x.is_finite()));
}

#[test]
fn sequences_keep_the_first_max_len_and_pad_with_zero() {
    let schema = Schema {
        fields: vec![FieldSpec::sequence("s", 3)],
        labels: vec!["y".into()],
        group_by: None,
        regression_labels: Vec::new(),
    };
    let t = |x: u8| token_hash(0, &[x]);
    let train = table(
        vec![RawColumn::TokenLists {
            offsets: vec![0, 5, 5, 6],
            tokens: vec![t(1), t(2), t(3), t(4), t(1), t(2)],
        }],
        3,
    );
    let pre = Preprocessor::fit(&schema, &train).unwrap();
    assert_eq!(pre.layout().sequences, vec![("s".into(), 5, 3)]);
    let enc = pre.transform(&train).unwrap();
    let s = &enc.sequences[0];
    assert_eq!(s.lengths, vec![3, 0, 1]);
    // ids by frequency: tokens 1 and 2 (count 2) get ids 1 and 2 (ties by
    // hash), token 3 id 3; token 4 was cut by max_len.
    let mut top = [s.ids[0], s.ids[1]];
    top.sort_unstable();
    assert_eq!(top, [1, 2]);
    assert_eq!(&s.ids[2..6], &[3, 0, 0, 0]);
    assert_eq!(&s.ids[6..], &[s.ids[1], 0, 0]);
}

#[test]
fn preprocessor_round_trips_through_json() {
    let schema = Schema {
        fields: vec![
            FieldSpec::categorical("c"),
            FieldSpec::numeric("x", Normalisation::Standard),
            FieldSpec::categorical("h").with_encoding(Encoding::Hash { buckets: 7 }),
            FieldSpec::sequence("s", 2),
            FieldSpec::dense("d", 2),
        ],
        labels: vec!["y".into(), "z".into()],
        group_by: Some("c".into()),
        regression_labels: Vec::new(),
    };
    let train = RawTable {
        columns: vec![
            RawColumn::Tokens(vec![Some(1), Some(2)]),
            RawColumn::Numeric(vec![1.0, 2.0]),
            RawColumn::Tokens(vec![Some(3), None]),
            RawColumn::TokenLists {
                offsets: vec![0, 1, 2],
                tokens: vec![5, 6],
            },
            RawColumn::Vectors {
                dim: 2,
                values: vec![0.1, 0.2, 0.3, 0.4],
            },
        ],
        labels: vec![1.0, 0.0, 0.0, 1.0],
        num_tasks: 2,
        groups: Some(vec![9, 8]),
        skipped_rows: 0,
    };
    let pre = Preprocessor::fit(&schema, &train).unwrap();
    let json = serde_json::to_string(&pre).unwrap();
    let back: Preprocessor = serde_json::from_str(&json).unwrap();
    assert_eq!(pre, back);
    assert_eq!(
        pre.transform(&train).unwrap(),
        back.transform(&train).unwrap()
    );
    let enc = back.transform(&train).unwrap();
    assert_eq!(enc.task_labels(1), vec![0.0, 1.0]);
    assert_eq!(enc.dense[0].values, vec![0.1, 0.2, 0.3, 0.4]);
    // A table that does not match the schema is refused, not mis-encoded.
    let mut short = train.clone();
    short.columns.pop();
    assert!(pre.transform(&short).is_err());
}
