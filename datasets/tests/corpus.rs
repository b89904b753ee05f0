//! The malformed-input corpus: one small bad file per row, each through the
//! reader that would meet it, each expected to fail with an error naming
//! the file, the line where there is one, and the field where there is one.
//! Nothing may panic, hang or read as data. `cargo test --test corpus --
//! --nocapture` prints the table (file, reader, first line of the error).

use std::io::Write;
use std::path::{Path, PathBuf};

use ember_datasets::readers::{
    CsvSpec, RatingLabel, ReadOptions, read_criteo, read_csv, read_libfm, read_movielens,
    read_parquet,
};
use ember_datasets::{DataConfig, Result, Schema, shared_data_dir};

mod support;
use support::{SCHEMA, parquet_bytes};

/// Which reader a corpus file goes through.
#[derive(Clone, Copy, Debug)]
enum Reader {
    /// CSV with the corpus schema below (header `y,x,c,s`).
    Csv,
    /// libFM with 2 fields.
    Libfm,
    /// Criteo TSV (label, 13 integers, 26 hex ids).
    Criteo,
    /// A schema file.
    SchemaFile,
    /// MovieLens ratings (`u.data` layout) against ml-100k's users and items.
    MovieLens,
    /// Parquet with the corpus schema.
    Parquet,
    /// An interaction log's events file (`user,item,time,event`, positives
    /// are clicks), as `source = "interaction-log"` reads it.
    InteractionLog,
}

/// A corpus entry: name, reader, bytes, the line and field the error must
/// name (None: none expected), and a phrase the message must contain.
struct Case {
    name: &'static str,
    reader: Reader,
    bytes: Vec<u8>,
    line: Option<u64>,
    field: Option<&'static str>,
    says: &'static str,
}

fn case(
    name: &'static str,
    reader: Reader,
    text: &str,
    line: Option<u64>,
    field: Option<&'static str>,
    says: &'static str,
) -> Case {
    Case {
        name,
        reader,
        bytes: text.as_bytes().to_vec(),
        line,
        field,
        says,
    }
}

fn spec() -> CsvSpec {
    toml::from_str(SCHEMA).unwrap()
}

/// A Criteo TSV line with `label` and integer 1 set to `i1`.
fn criteo_line(label: &str, i1: &str) -> String {
    let ints = std::iter::once(i1.to_owned()).chain((0..12).map(|_| "1".to_owned()));
    let cats = (0..26).map(|_| "68fd1e64".to_owned());
    std::iter::once(label.to_owned())
        .chain(ints)
        .chain(cats)
        .collect::<Vec<_>>()
        .join("\t")
}

fn corpus() -> Vec<Case> {
    use Reader::*;
    let h = "y,x,c,s\n";
    let good = "1,0.5,a,p|q\n";
    let mut cases = vec![
        case("empty.csv", Csv, "", None, None, "empty file"),
        case("header_only.csv", Csv, h, None, None, "no data rows"),
        case(
            "short_row.csv",
            Csv,
            &format!("{h}{good}1,0.5\n"),
            Some(3),
            Some("c"),
            "2 columns, expected 4",
        ),
        case(
            "long_row.csv",
            Csv,
            &format!("{h}{good}1,0.5,a,p,extra\n"),
            Some(3),
            None,
            "5 columns, expected 4",
        ),
        case(
            "missing_column.csv",
            Csv,
            "y,x,s\n1,0.5,p\n",
            Some(1),
            Some("c"),
            "missing from the header",
        ),
        case(
            "duplicate_column.csv",
            Csv,
            "y,x,c,c,s\n1,0.5,a,b,p\n",
            Some(1),
            Some("c"),
            "twice",
        ),
        case(
            "not_a_number.csv",
            Csv,
            &format!("{h}{good}1,abc,a,p\n"),
            Some(3),
            Some("x"),
            "not a number",
        ),
        case(
            "nan.csv",
            Csv,
            &format!("{h}{good}1,nan,a,p\n"),
            Some(3),
            Some("x"),
            "not a finite number",
        ),
        case(
            "inf.csv",
            Csv,
            &format!("{h}{good}0,-inf,a,p\n"),
            Some(3),
            Some("x"),
            "not a finite number",
        ),
        case(
            "overflow.csv",
            Csv,
            &format!("{h}{good}0,1e39,a,p\n"),
            Some(3),
            Some("x"),
            "not a finite number",
        ),
        case(
            "label_2.csv",
            Csv,
            &format!("{h}{good}2,0.5,a,p\n"),
            Some(3),
            Some("y"),
            "outside [0, 1]",
        ),
        case(
            "label_negative.csv",
            Csv,
            &format!("{h}{good}-1,0.5,a,p\n"),
            Some(3),
            Some("y"),
            "outside [0, 1]",
        ),
        case(
            "label_empty.csv",
            Csv,
            &format!("{h}{good},0.5,a,p\n"),
            Some(3),
            Some("y"),
            "label is empty",
        ),
        case(
            "label_text.csv",
            Csv,
            &format!("{h}{good}yes,0.5,a,p\n"),
            Some(3),
            Some("y"),
            "not a number",
        ),
        case(
            "label_nan.csv",
            Csv,
            &format!("{h}{good}nan,0.5,a,p\n"),
            Some(3),
            Some("y"),
            "not a finite number",
        ),
        case(
            "open_quote_at_end.csv",
            Csv,
            &format!("{h}{good}1,0.5,a,\"p\n"),
            Some(3),
            None,
            "never closed",
        ),
        case(
            "open_quote_inside.csv",
            Csv,
            &format!("{h}1,0.5,\"a,p\n{good}"),
            Some(2),
            None,
            "columns",
        ),
        case(
            "stray_quote_row.csv",
            Csv,
            &format!("{h}{good}1,0.5,\"a\"b,p\n\"\n"),
            Some(4),
            None,
            "columns",
        ),
        case(
            "crlf_short_row.csv",
            Csv,
            "y,x,c,s\r\n1,0.5,a,p\r\n1,0.5\r\n",
            Some(3),
            Some("c"),
            "2 columns",
        ),
        case(
            "bom_then_bad_row.csv",
            Csv,
            &format!("\u{feff}{h}{good}1,x1,a,p\n"),
            Some(3),
            Some("x"),
            "not a number",
        ),
        case(
            "libfm_bad_pair.libfm",
            Libfm,
            "1 3:1 7:1\n0 3:1 seven\n",
            Some(2),
            Some("f1"),
            "not idx:value",
        ),
        case(
            "libfm_too_many.libfm",
            Libfm,
            "1 3:1 7:1 9:1\n",
            Some(1),
            Some("f2"),
            "more than 2",
        ),
        case(
            "libfm_too_few.libfm",
            Libfm,
            "1 3:1\n",
            Some(1),
            Some("f1"),
            "1 features, expected 2",
        ),
        case(
            "libfm_bad_label.libfm",
            Libfm,
            "x 3:1 7:1\n",
            Some(1),
            Some("label"),
            "not a number",
        ),
        case(
            "libfm_nan_value.libfm",
            Libfm,
            "1 3:nan 7:1\n",
            Some(1),
            Some("f0"),
            "not a finite number",
        ),
        case("libfm_empty.libfm", Libfm, "\n\n", None, None, "empty file"),
        case(
            "criteo_short.tsv",
            Criteo,
            "1\t5\t6\n",
            Some(1),
            None,
            "columns, expected 40",
        ),
        case(
            "criteo_label_2.tsv",
            Criteo,
            &format!("{}\n", criteo_line("2", "5")),
            Some(1),
            Some("label"),
            "outside [0, 1]",
        ),
        case(
            "criteo_inf.tsv",
            Criteo,
            &format!("{}\n", criteo_line("1", "inf")),
            Some(1),
            Some("I1"),
            "not a finite number",
        ),
        case(
            "criteo_text_int.tsv",
            Criteo,
            &format!("{}\n", criteo_line("1", "five")),
            Some(1),
            Some("I1"),
            "not a number",
        ),
        case(
            "schema_unknown_kind.toml",
            SchemaFile,
            "labels = [\"y\"]\n[[fields]]\nname = \"a\"\nkind = \"nonsense\"\n",
            None,
            None,
            "invalid schema",
        ),
        case(
            "schema_unknown_key.toml",
            SchemaFile,
            "labels = [\"y\"]\nlables = [\"z\"]\n[[fields]]\nname = \"a\"\nkind = \"numeric\"\n",
            None,
            None,
            "unknown key 'lables'",
        ),
        case(
            "schema_field_twice.toml",
            SchemaFile,
            "labels = [\"y\"]\n[[fields]]\nname = \"a\"\nkind = \"numeric\"\n[[fields]]\nname = \"a\"\nkind = \"categorical\"\n",
            None,
            Some("a"),
            "two [[fields]]",
        ),
        case(
            "schema_label_is_field.toml",
            SchemaFile,
            "labels = [\"a\"]\n[[fields]]\nname = \"a\"\nkind = \"numeric\"\n",
            None,
            Some("a"),
            "both a label and a field",
        ),
        case(
            "schema_regression_not_label.toml",
            SchemaFile,
            "labels = [\"y\"]\nregression_labels = [\"z\"]\n[[fields]]\nname = \"a\"\nkind = \"numeric\"\n",
            None,
            Some("z"),
            "not in labels",
        ),
        case(
            "schema_not_toml.toml",
            SchemaFile,
            "labels = [\"y\"\n",
            None,
            None,
            "invalid schema",
        ),
        case(
            "movielens_short.data",
            MovieLens,
            "1\t2\t3\t881250949\n196\t242\n",
            Some(2),
            None,
            "",
        ),
        case(
            "movielens_text_user.data",
            MovieLens,
            "abc\t242\t3\t881250949\n",
            Some(1),
            None,
            "",
        ),
        case(
            "movielens_text_rating.data",
            MovieLens,
            "196\t242\tfive\t881250949\n",
            Some(1),
            None,
            "",
        ),
        case(
            "schema_misspelt_key.toml",
            SchemaFile,
            "labels = [\"y\"]\n[[fields]]\nname = \"a\"\nkind = \"numeric\"\nnormalization = \"standard\"\n",
            None,
            Some("a"),
            "unknown key 'normalization'",
        ),
    ];
    // Bytes that are not text, in a CSV header and in a schema file.
    let mut latin1 = b"y,x,c,s\n1,0.5,caf".to_vec();
    latin1.extend_from_slice(&[
        0xe9, b',', b'p', b'\n', b'2', b',', b'1', b',', b'a', b',', b'p', b'\n',
    ]);
    cases.push(Case {
        name: "latin1_then_bad_label.csv",
        reader: Csv,
        bytes: latin1,
        line: Some(3),
        field: Some("y"),
        says: "outside [0, 1]",
    });
    cases.push(Case {
        name: "schema_not_utf8.toml",
        reader: SchemaFile,
        bytes: vec![b'l', b'a', 0xff, 0xfe, b'\n'],
        line: None,
        field: None,
        says: "",
    });
    // Parquet: cut short, and its magic bytes corrupted.
    let parquet = parquet_bytes();
    cases.push(Case {
        name: "truncated.parquet",
        reader: Parquet,
        bytes: parquet[..parquet.len() / 2].to_vec(),
        line: None,
        field: None,
        says: "",
    });
    let mut corrupted = parquet.clone();
    let n = corrupted.len();
    corrupted[n - 2] ^= 0xff;
    cases.push(Case {
        name: "bad_magic.parquet",
        reader: Parquet,
        bytes: corrupted,
        line: None,
        field: None,
        says: "",
    });
    // Bytes the parquet crate (55) panics on instead of failing, found by
    // tests/fuzz.rs: an unknown page type, an empty index, a bit width
    // beyond the value type.
    for (name, at, value) in [
        ("unknown_page_type.parquet", 5, 0x6e),
        ("empty_index.parquet", 12, 0x00),
        ("bit_width.parquet", 77, 0xff),
    ] {
        let mut bytes = parquet.clone();
        bytes[at] = value;
        cases.push(Case {
            name,
            reader: Parquet,
            bytes,
            line: None,
            field: None,
            says: "corrupt file",
        });
    }
    cases.push(Case {
        name: "not_parquet.parquet",
        reader: Parquet,
        bytes: b"y,x,c,s\n1,0.5,a,p\n".to_vec(),
        line: None,
        field: None,
        says: "",
    });
    // Interaction logs: the events file of `source = "interaction-log"`.
    let log_header = "user,item,time,event\n";
    let log_good = "u1,i1,2024-03-01T10:00:00Z,click\nu2,i2,2024-03-01T11:00:00Z,click\n";
    for (name, text, line, field, says) in [
        ("log_empty.csv", String::new(), None, None, "empty"),
        (
            "log_header_only.csv",
            log_header.to_owned(),
            None,
            None,
            "no events",
        ),
        (
            "log_missing_column.csv",
            format!("user,item,time\n{}", "u1,i1,2024-03-01T10:00:00Z\n"),
            None,
            Some("event"),
            "no such column",
        ),
        (
            "log_bad_time.csv",
            format!("{log_header}{log_good}u3,i3,yesterday,click\n"),
            Some(4),
            Some("time"),
            "yesterday",
        ),
        (
            "log_short_row.csv",
            format!("{log_header}{log_good}u3,i3\n"),
            Some(4),
            None,
            "",
        ),
        (
            "log_unclosed_quote.csv",
            format!("{log_header}{log_good}u3,i3,2024-03-01T10:00:00Z,\"click\n"),
            Some(4),
            None,
            "never closed",
        ),
        (
            "log_crlf_bad_time.csv",
            format!("{log_header}{log_good}u3,i3,soon,click\n").replace('\n', "\r\n"),
            Some(4),
            Some("time"),
            "soon",
        ),
        (
            "log_empty_user.csv",
            format!("{log_header}{log_good},i3,2024-03-01T10:00:00Z,click\n"),
            Some(4),
            Some("user"),
            "empty",
        ),
    ] {
        cases.push(Case {
            name,
            reader: InteractionLog,
            bytes: text.into_bytes(),
            line,
            field,
            says,
        });
    }
    let mut not_utf8 = format!("{log_header}{log_good}").into_bytes();
    not_utf8.extend_from_slice(b"u\xff3,i3,2024-03-01T10:00:00Z,click\n");
    cases.push(Case {
        name: "log_not_utf8.csv",
        reader: InteractionLog,
        bytes: not_utf8,
        line: Some(4),
        field: None,
        says: "UTF-8",
    });
    cases
}

fn read(
    reader: Reader,
    path: &Path,
    ml_root: Option<&Path>,
) -> Option<std::result::Result<usize, String>> {
    let rows =
        |r: Result<ember_datasets::RawTable>| r.map(|t| t.num_rows()).map_err(|e| e.to_string());
    let options = ReadOptions::default();
    Some(match reader {
        Reader::Csv => rows(read_csv(path, &spec(), options)),
        Reader::Libfm => rows(read_libfm(path, 2, options)),
        Reader::Criteo => rows(read_criteo(path, 1, options)),
        Reader::SchemaFile => CsvSpec::from_file(path)
            .map(|s| s.schema.fields.len())
            .map_err(|e| e.to_string()),
        Reader::MovieLens => read_movielens(ml_root?, path, &[RatingLabel::AtLeast4], options)
            .map(|t| t.user.len())
            .map_err(|e| e.to_string()),
        Reader::Parquet => {
            let schema: Schema = spec().schema;
            rows(read_parquet(path, &schema, options))
        }
        Reader::InteractionLog => {
            let config: DataConfig = toml::from_str(&format!(
                "source = \"interaction-log\"\npositives = [\"click\"]\n\
                 [events]\npath = {:?}\nuser = \"user\"\nitem = \"item\"\ntime = \"time\"\nevent = \"event\"\n",
                path.display().to_string()
            ))
            .unwrap();
            let log = config.log_dataset().expect("an interaction log");
            log.map(|l| l.log.events.len()).map_err(|e| e.to_string())
        }
    })
}

#[test]
fn every_malformed_file_gets_an_error_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let ml_root: Option<PathBuf> = shared_data_dir().map(|d| d.join("ml-100k"));
    let cases = corpus();
    assert!(cases.len() >= 40, "{} files", cases.len());
    let mut table = String::from("| file | reader | first line of the error |\n|---|---|---|\n");
    let mut problems = Vec::new();
    for c in &cases {
        let path = dir.path().join(c.name);
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&c.bytes))
            .unwrap();
        let Some(outcome) = read(c.reader, &path, ml_root.as_deref()) else {
            continue; // MovieLens cases need the shared data
        };
        let err = match outcome {
            Ok(rows) => {
                problems.push(format!("{}: read as {rows} rows of data", c.name));
                continue;
            }
            Err(e) => e,
        };
        table.push_str(&format!(
            "| {} | {:?} | {} |\n",
            c.name,
            c.reader,
            err.lines()
                .next()
                .unwrap_or("")
                .replace(&dir.path().display().to_string(), "…")
                .replace('|', "\\|")
        ));
        let mut check = |ok: bool, what: String| {
            if !ok {
                problems.push(format!("{}: {what} in: {err}", c.name));
            }
        };
        check(err.contains(c.name), "no file name".into());
        if let Some(line) = c.line {
            check(
                err.contains(&format!("line {line}")),
                format!("no line {line}"),
            );
        }
        if let Some(field) = c.field {
            check(
                err.contains(&format!("field '{field}'")),
                format!("no field '{field}'"),
            );
        }
        check(err.contains(c.says), format!("no '{}'", c.says));
    }
    println!("{table}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn skipping_counts_the_bad_rows_and_keeps_the_good_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.csv");
    std::fs::write(
        &path,
        "y,x,c,s\n1,0.5,a,p\n2,0.5,a,p\n1,nan,a,p\n0,1.5,b,q\n1,0.5\n",
    )
    .unwrap();
    let t = read_csv(&path, &spec(), ReadOptions::skipping()).unwrap();
    assert_eq!((t.num_rows(), t.skipped_rows), (2, 3));
    assert_eq!(t.labels, vec![1.0, 0.0]);
}
