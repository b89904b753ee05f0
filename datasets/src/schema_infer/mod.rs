//! `ember schema infer`: a first schema file for a CSV or Parquet file,
//! inferred from a sample of it and commented for a person to edit.
//!
//! The file written is the schema format the csv and parquet sources read
//! ([`CsvSpec`]: `delimiter`, `labels`, `group_by`, `[[fields]]`), so it
//! loads as it is. Every column gets a one-line `# why` comment with the
//! numbers behind its decision; columns left out are written commented out.
//!
//! - sampling: `csv_sample` (delimiter and header sniffed by `sniff`) and
//!   `parquet_sample` turn the first rows into column profiles (`profile`);
//! - deciding: `rules`, with `cardinality` for vocabulary vs hash;
//! - writing: `render`.

mod cardinality;
mod csv_sample;
mod parquet_sample;
mod profile;
mod render;
mod rules;
mod sniff;
mod text;

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use cardinality::HASH_ABOVE;
pub use rules::{CODE_REPEATS, ColumnDecision, FEW_CODES, Role};
pub use sniff::Dialect;

use crate::error::{DataError, Result};
use crate::readers::CsvSpec;
use crate::schema::Schema;

/// Rows sampled unless told otherwise: enough to tell codes from amounts
/// and to extrapolate cardinality, read in well under a second.
pub const DEFAULT_SAMPLE_ROWS: usize = 10_000;

/// What to infer from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferOptions {
    /// Label columns, one per task, in task order.
    pub labels: Vec<String>,
    /// Rows read from the start of the file.
    pub sample_rows: usize,
}

impl Default for InferOptions {
    fn default() -> Self {
        Self {
            labels: Vec::new(),
            sample_rows: DEFAULT_SAMPLE_ROWS,
        }
    }
}

/// How much of the file the sample is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleSize {
    /// Data rows sampled.
    pub rows: u64,
    /// Data rows in the file: exact for Parquet (its footer) and for a text
    /// file read to the end, else extrapolated from the file size.
    pub file_rows: u64,
    /// The sample is the whole file.
    pub whole_file: bool,
}

/// How the file is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileFormat {
    Csv(Dialect),
    Parquet,
}

/// The schema inferred for a file, with the reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct InferredSchema {
    pub path: PathBuf,
    pub format: FileFormat,
    pub size: SampleSize,
    /// One per column, in file order (labels included).
    pub columns: Vec<ColumnDecision>,
    /// Label columns in task order.
    pub labels: Vec<String>,
    /// The gAUC group column and why.
    pub group_by: Option<(String, String)>,
    /// Without labels: the 0/1 columns that could be one.
    pub label_candidates: Vec<String>,
    /// Labels whose sampled values leave [0, 1]: written as the schema's
    /// `regression_labels`, so the readers accept them as real targets.
    pub regression_labels: Vec<String>,
}

impl InferredSchema {
    /// The schema the written file holds.
    pub fn schema(&self) -> Schema {
        Schema {
            fields: self
                .columns
                .iter()
                .filter_map(|c| match &c.role {
                    Role::Field(spec) => Some(spec.clone()),
                    _ => None,
                })
                .collect(),
            labels: self.labels.clone(),
            group_by: self.group_by.as_ref().map(|(name, _)| name.clone()),
            regression_labels: self.regression_labels.clone(),
        }
    }

    /// The schema file as the csv and parquet sources read it.
    pub fn spec(&self) -> CsvSpec {
        let (delimiter, has_header) = match &self.format {
            FileFormat::Csv(d) => (d.delimiter, d.has_header),
            FileFormat::Parquet => (',', true),
        };
        CsvSpec {
            delimiter,
            has_header,
            quoting: true,
            schema: self.schema(),
        }
    }

    /// The commented schema file.
    pub fn to_toml(&self) -> String {
        render::render(self)
    }

    pub fn column(&self, name: &str) -> Option<&ColumnDecision> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Infers a schema for a CSV (any of `,` tab `|` `;`, with or without a
/// header) or Parquet file from its first `options.sample_rows` rows.
///
/// Errors name the file (and line): missing or empty files, rows with the
/// wrong number of columns, label columns the file lacks.
pub fn infer_schema(path: &Path, options: &InferOptions) -> Result<InferredSchema> {
    let sample_rows = options.sample_rows.max(1);
    let (profiles, size, format) = if is_parquet(path)? {
        let (profiles, size) = parquet_sample::sample_parquet(path, sample_rows)?;
        (profiles, size, FileFormat::Parquet)
    } else {
        let (profiles, size, dialect) = csv_sample::sample_csv(path, sample_rows)?;
        (profiles, size, FileFormat::Csv(dialect))
    };
    let position = |name: &str| profiles.iter().position(|p| p.name == name);
    let mut labels: Vec<String> = Vec::new();
    for label in &options.labels {
        if position(label).is_none() {
            let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
            return Err(DataError::malformed(
                path,
                None,
                Some(label),
                format!(
                    "--label names a column the file does not have (its columns: {})",
                    names.join(", ")
                ),
            ));
        }
        if !labels.contains(label) {
            labels.push(label.clone());
        }
    }
    let headerless = matches!(&format, FileFormat::Csv(d) if !d.has_header);
    if headerless {
        // Without a header the reader takes the labels, then the fields,
        // by position: the labels must be the leading columns.
        labels.sort_by_key(|l| position(l));
        if let Some(late) = labels.iter().find(|l| position(l) >= Some(labels.len())) {
            return Err(DataError::malformed(
                path,
                None,
                Some(late),
                format!(
                    "a file without a header is read by position, labels first: the labels must be its first {} column(s); add a header row or move the label columns first",
                    labels.len()
                ),
            ));
        }
    }
    let ctx = rules::Context {
        size,
        delimiter: match &format {
            FileFormat::Csv(d) => Some(d.delimiter),
            FileFormat::Parquet => None,
        },
    };
    let mut names = HashSet::new();
    let columns = profiles
        .iter()
        .map(|p| {
            let first = names.insert(p.name.as_str());
            if labels.contains(&p.name) {
                rules::label(p)
            } else if headerless {
                keep_in_place(rules::field(p, &ctx))
            } else if p.name.is_empty() {
                ColumnDecision::left_out(
                    "",
                    None,
                    "the header gives this column no name, and the reader finds columns by name"
                        .into(),
                )
            } else if !first {
                ColumnDecision::left_out(
                    &p.name,
                    None,
                    "an earlier column has the same name, and the reader finds columns by name"
                        .into(),
                )
            } else {
                rules::field(p, &ctx)
            }
        })
        .collect();
    let group_by = (!headerless)
        .then(|| {
            profiles
                .iter()
                .find(|p| !labels.contains(&p.name) && rules::looks_like_user(&p.name))
        })
        .flatten()
        .map(|p| {
            (
                p.name.clone(),
                format!(
                    "'{}' is named like a user id: gAUC averages the AUC of each user's rows",
                    p.name
                ),
            )
        });
    let label_candidates = if labels.is_empty() {
        profiles
            .iter()
            .filter(|p| {
                p.distinct() == 2
                    && p.empty == 0
                    && p.values
                        .keys()
                        .all(|v| v.parse::<f64>().is_ok_and(|x| x == 0.0 || x == 1.0))
            })
            .map(|p| p.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    let regression_labels = profiles
        .iter()
        .filter(|p| labels.contains(&p.name))
        .filter(|p| {
            p.values.keys().any(|v| {
                v.trim()
                    .parse::<f64>()
                    .is_ok_and(|x| !(0.0..=1.0).contains(&x))
            })
        })
        .map(|p| p.name.clone())
        .collect();
    Ok(InferredSchema {
        path: path.to_owned(),
        format,
        size,
        columns,
        labels,
        group_by,
        label_candidates,
        regression_labels,
    })
}

/// A headerless file is read by position, so every column stays: one the
/// rules would leave out is kept as the field it would have been.
fn keep_in_place(decision: ColumnDecision) -> ColumnDecision {
    match decision.role {
        Role::LeftOut(Some(spec)) => ColumnDecision {
            role: Role::Field(spec),
            why: format!(
                "{}; kept anyway: a file without a header is read by position, so every column must be listed",
                decision.why
            ),
            ..decision
        },
        _ => decision,
    }
}

/// Parquet by its magic bytes (`PAR1`) or its extension.
fn is_parquet(path: &Path) -> Result<bool> {
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut magic = [0u8; 4];
    let read = file.read(&mut magic).map_err(|e| DataError::io(path, e))?;
    let by_extension = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("parq"));
    Ok(by_extension || &magic[..read] == b"PAR1")
}
