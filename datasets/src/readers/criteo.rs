//! Criteo's TSV (the Kaggle / Terabyte layout): no header; a 0/1 label, 13
//! integer count fields I1..I13 and 26 hashed categorical fields C1..C26
//! (8 hex digits each). Empty integer cells read as NaN (then the field's
//! `fill`, 0), empty categorical cells as "no token" (id 0).

use std::path::Path;

use super::columns::ReadOptions;
use super::csv_schema::{CsvSpec, read_csv};
use crate::error::Result;
use crate::raw::RawTable;
use crate::schema::{Encoding, FieldSpec, Normalisation, Schema};

/// The Criteo schema. Counts are heavy-tailed, hence `Log1p` (the usual
/// `ln(1 + max(x, 0))`); categorical fields use vocabularies with
/// `min_count` (Criteo papers use 10 on the full data; pass 1 for samples).
pub fn criteo_schema(min_count: u32) -> Schema {
    let mut fields: Vec<FieldSpec> = (1..=13)
        .map(|i| FieldSpec::numeric(&format!("I{i}"), Normalisation::Log1p))
        .collect();
    fields.extend((1..=26).map(|i| {
        FieldSpec::categorical(&format!("C{i}")).with_encoding(Encoding::Vocab { min_count })
    }));
    Schema {
        fields,
        labels: vec!["label".into()],
        group_by: None,
        regression_labels: Vec::new(),
    }
}

/// The reader settings for Criteo TSV: tab separated, no header, no quoting.
pub fn criteo_spec(min_count: u32) -> CsvSpec {
    CsvSpec {
        delimiter: '\t',
        has_header: false,
        quoting: false,
        schema: criteo_schema(min_count),
    }
}

/// Reads a Criteo TSV file (every row must have exactly 40 columns).
pub fn read_criteo(path: &Path, min_count: u32, options: ReadOptions) -> Result<RawTable> {
    read_csv(path, &criteo_spec(min_count), options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::RawColumn;

    fn row(label: &str, i1: &str, c1: &str) -> String {
        let mut cols = vec![label.to_owned(), i1.to_owned()];
        cols.extend((2..=13).map(|i| i.to_string()));
        cols.push(c1.to_owned());
        cols.extend((2..=26).map(|i| format!("{i:08x}")));
        cols.join("\t") + "\n"
    }

    #[test]
    fn reads_empty_cells_as_missing() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            f.path(),
            row("1", "", "68fd1e64") + &row("0", "5", "") + &row("0", "7", "\"x"),
        )
        .unwrap();
        let t = read_criteo(f.path(), 1, ReadOptions::default()).unwrap();
        assert_eq!(t.num_rows(), 3);
        assert_eq!(t.labels, vec![1.0, 0.0, 0.0]);
        let RawColumn::Numeric(i1) = &t.columns[0] else {
            panic!()
        };
        assert!(i1[0].is_nan());
        assert_eq!(i1[1], 5.0);
        let RawColumn::Tokens(c1) = &t.columns[13] else {
            panic!()
        };
        assert!(c1[0].is_some() && c1[1].is_none() && c1[2].is_some());
    }

    #[test]
    fn wrong_column_count_and_bad_number_name_line_and_field() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let short = "1\t2\t3\n";
        std::fs::write(f.path(), row("1", "", "a") + short).unwrap();
        let err = read_criteo(f.path(), 1, ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("field 'I3'") && err.contains("expected 40"),
            "{err}"
        );
        std::fs::write(f.path(), row("1", "abc", "a") + &row("0", "1", "b")).unwrap();
        let err = read_criteo(f.path(), 1, ReadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 1") && err.contains("field 'I1'") && err.contains("'abc'"),
            "{err}"
        );
        let t = read_criteo(f.path(), 1, ReadOptions::skipping()).unwrap();
        assert_eq!((t.num_rows(), t.skipped_rows), (1, 1));
    }
}
