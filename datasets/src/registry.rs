//! The datasets a run config can name (`[data] source = ...`), and loading
//! one into encoded train / validation / test splits.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::paths::shared_data_dir;

use crate::encoded::{EncodedData, FeatureLayout};
use crate::error::{DataError, Result};
use crate::preprocess::Preprocessor;
use crate::raw::RawTable;
use crate::readers::ReadOptions;
use crate::readers::criteo::{criteo_schema, read_criteo};
use crate::readers::csv_schema::{CsvSpec, read_csv};
use crate::readers::libfm::read_libfm;
use crate::readers::movielens::{RatingLabel, read_movielens};
use crate::readers::parquet::read_parquet;
use crate::splits;
use crate::synthetic::{click_conversion, criteo_synth, known_ctr, mmoe_synthetic};

fn default_root() -> PathBuf {
    PathBuf::from("../shared/data")
}
fn default_id_min_count() -> u32 {
    1
}
fn default_labels() -> Vec<RatingLabel> {
    vec![RatingLabel::AtLeast4]
}
fn default_rows() -> [usize; 3] {
    known_ctr::DEFAULT_ROWS
}
fn default_seed() -> u64 {
    known_ctr::DEFAULT_SEED
}
fn criteo_synth_rows() -> [usize; 3] {
    [criteo_synth::DEFAULT_ROWS, 1 << 16, 1 << 16]
}
fn criteo_synth_seed() -> u64 {
    criteo_synth::DEFAULT_SEED
}
fn mmoe_rows() -> [usize; 3] {
    mmoe_synthetic::DEFAULT_ROWS
}
fn mmoe_alpha_scale() -> f64 {
    1.0
}
fn click_conversion_rows() -> [usize; 3] {
    click_conversion::DEFAULT_ROWS
}
fn click_conversion_seed() -> u64 {
    click_conversion::DEFAULT_SEED
}
fn one() -> u32 {
    1
}
fn implicit_negatives() -> usize {
    4
}
fn implicit_eval_negatives() -> usize {
    99
}
fn implicit_history_len() -> usize {
    20
}
fn implicit_seed() -> u64 {
    42
}
fn frappe_fields() -> usize {
    10
}
fn history_len() -> usize {
    50
}

/// Where a run's data comes from (the `[data]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DataConfig {
    /// PROTOCOLS.md frappe-ctr.
    FrappeCtr {
        #[serde(default = "default_root")]
        root: PathBuf,
    },
    /// PROTOCOLS.md ml100k-ctr; `labels` adds tasks (e.g. `["at_least4", "equals5"]`).
    #[serde(rename = "ml100k-ctr")]
    Ml100kCtr {
        #[serde(default = "default_root")]
        root: PathBuf,
        #[serde(default = "default_labels")]
        labels: Vec<RatingLabel>,
        /// Users and items with fewer training rows share the OOV id
        /// (see [`crate::readers::movielens::movielens_schema`]).
        #[serde(default = "default_id_min_count")]
        id_min_count: u32,
    },
    /// PROTOCOLS.md ml100k-retrieval: every rating a positive, leave-last-out
    /// per user; the user tower sees the `history_len` most recent train items.
    /// Loaded with [`crate::retrieval::load_retrieval`] (two-tower models).
    #[serde(rename = "ml100k-retrieval")]
    Ml100kRetrieval {
        #[serde(default = "default_root")]
        root: PathBuf,
        #[serde(default = "history_len")]
        history_len: usize,
    },
    /// MovieLens-100K as implicit feedback for rankers ([`crate::implicit`]):
    /// ml100k-ctr's fields, ml100k-retrieval's leave-last-out split, every
    /// rating a positive beside sampled unrated items.
    #[serde(rename = "ml100k-implicit")]
    Ml100kImplicit {
        #[serde(default = "default_root")]
        root: PathBuf,
        /// Unrated items per training positive.
        #[serde(default = "implicit_negatives")]
        negatives: usize,
        /// Unrated items per validation / test positive (NCF: 99).
        #[serde(default = "implicit_eval_negatives")]
        eval_negatives: usize,
        /// Recent train items in the `history` field (0: none).
        #[serde(default = "implicit_history_len")]
        history_len: usize,
        /// Negatives ∝ (train count + 1)^this; 0 draws uniformly.
        #[serde(default)]
        popularity_power: f64,
        #[serde(default = "implicit_seed")]
        seed: u64,
    },
    /// Generated rows with known click probabilities (no files);
    /// `rows` = [train, valid, test].
    SyntheticCtr {
        #[serde(default = "default_rows")]
        rows: [usize; 3],
        #[serde(default = "default_seed")]
        seed: u64,
    },
    /// The criteo-synth throughput workload (spec: 1,048,576 train rows,
    /// seed 42); valid and test are further rows of the same ground truth.
    CriteoSynth {
        #[serde(default = "criteo_synth_rows")]
        rows: [usize; 3],
        #[serde(default = "criteo_synth_seed")]
        seed: u64,
    },
    /// PROTOCOLS.md mmoe-synthetic: two regression tasks (`y1`, `y2`) whose
    /// weight vectors have cosine `correlation`; one dense field `x`.
    MmoeSynthetic {
        correlation: f64,
        /// Sine frequencies `α_k = alpha_scale·k`; PROTOCOLS.md's is 1.
        #[serde(default = "mmoe_alpha_scale")]
        alpha_scale: f64,
        #[serde(default = "mmoe_rows")]
        rows: [usize; 3],
        #[serde(default)]
        seed: u64,
    },
    /// Impressions with labels `click` and `purchase` (= click ∧ conversion)
    /// and known true CTR / CVR (ESMM's sample-selection-bias setting).
    ClickConversion {
        #[serde(default = "click_conversion_rows")]
        rows: [usize; 3],
        #[serde(default = "click_conversion_seed")]
        seed: u64,
    },
    /// CSV with a schema file; without `valid`, a seeded 10 % of train.
    Csv {
        train: PathBuf,
        valid: Option<PathBuf>,
        test: PathBuf,
        schema: PathBuf,
    },
    /// libFM files, the k-th feature being field k.
    Libfm {
        train: PathBuf,
        valid: Option<PathBuf>,
        test: PathBuf,
        #[serde(default = "frappe_fields")]
        num_fields: usize,
    },
    /// Criteo TSV (label, I1..I13, C1..C26); `min_count` for the vocabularies.
    CriteoTsv {
        train: PathBuf,
        valid: Option<PathBuf>,
        test: PathBuf,
        #[serde(default = "one")]
        min_count: u32,
    },
    /// Parquet with a schema file naming its columns.
    Parquet {
        train: PathBuf,
        valid: Option<PathBuf>,
        test: PathBuf,
        schema: PathBuf,
    },
}

/// Encoded splits and what encoded them.
#[derive(Debug, Clone)]
pub struct PreparedData {
    /// Fitted on the training split; `None` for generated data that is born encoded.
    pub preprocessor: Option<Preprocessor>,
    pub layout: FeatureLayout,
    pub train: EncodedData,
    pub valid: EncodedData,
    pub test: EncodedData,
    /// One line on what was loaded (source and split sizes), for logs.
    pub description: String,
}

fn fit_and_encode(schema: &crate::schema::Schema, splits: [RawTable; 3]) -> Result<PreparedData> {
    let pre = Preprocessor::fit(schema, &splits[0])?;
    let [train, valid, test] = splits.map(|s| pre.transform(&s));
    Ok(PreparedData {
        layout: pre.layout(),
        preprocessor: Some(pre),
        train: train?,
        valid: valid?,
        test: test?,
        description: String::new(),
    })
}

fn born_encoded(
    layout: FeatureLayout,
    train: EncodedData,
    valid: EncodedData,
    test: EncodedData,
) -> PreparedData {
    PreparedData {
        preprocessor: None,
        layout,
        train,
        valid,
        test,
        description: String::new(),
    }
}

impl DataConfig {
    /// The source name as written in configs (`frappe-ctr`, `csv`, ...).
    pub fn source_name(&self) -> &'static str {
        match self {
            DataConfig::FrappeCtr { .. } => "frappe-ctr",
            DataConfig::Ml100kCtr { .. } => "ml100k-ctr",
            DataConfig::Ml100kRetrieval { .. } => "ml100k-retrieval",
            DataConfig::Ml100kImplicit { .. } => "ml100k-implicit",
            DataConfig::SyntheticCtr { .. } => "synthetic-ctr",
            DataConfig::CriteoSynth { .. } => "criteo-synth",
            DataConfig::MmoeSynthetic { .. } => "mmoe-synthetic",
            DataConfig::ClickConversion { .. } => "click-conversion",
            DataConfig::Csv { .. } => "csv",
            DataConfig::Libfm { .. } => "libfm",
            DataConfig::CriteoTsv { .. } => "criteo-tsv",
            DataConfig::Parquet { .. } => "parquet",
        }
    }

    /// Makes relative paths relative to `base` (the directory of the config
    /// file that named them), leaving absolute paths alone.
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        match self {
            DataConfig::FrappeCtr { root }
            | DataConfig::Ml100kCtr { root, .. }
            | DataConfig::Ml100kRetrieval { root, .. }
            | DataConfig::Ml100kImplicit { root, .. } => fix(root),
            DataConfig::Csv {
                train,
                valid,
                test,
                schema,
            }
            | DataConfig::Parquet {
                train,
                valid,
                test,
                schema,
            } => {
                fix(train);
                valid.as_mut().map(fix);
                fix(test);
                fix(schema);
            }
            DataConfig::Libfm {
                train, valid, test, ..
            }
            | DataConfig::CriteoTsv {
                train, valid, test, ..
            } => {
                fix(train);
                valid.as_mut().map(fix);
                fix(test);
            }
            DataConfig::SyntheticCtr { .. }
            | DataConfig::CriteoSynth { .. }
            | DataConfig::MmoeSynthetic { .. }
            | DataConfig::ClickConversion { .. } => {}
        }
    }
}

/// Reads train (and valid, or a seeded 10 % of train) and test with `read`.
fn from_files(
    train: &Path,
    valid: Option<&Path>,
    test: &Path,
    read: impl Fn(&Path) -> Result<RawTable>,
) -> Result<[RawTable; 3]> {
    let all_train = read(train)?;
    let (train_t, valid_t) = match valid {
        Some(v) => (all_train, read(v)?),
        None => {
            let (t, v) = splits::random_split(all_train.num_rows(), 0.1, 42);
            (all_train.take(&t), all_train.take(&v))
        }
    };
    Ok([train_t, valid_t, read(test)?])
}

/// Loads and encodes the splits a config names: the preprocessor is fitted
/// on the training split only. Relative paths are taken from the current
/// directory (see [`DataConfig::resolve_paths`]).
pub fn load(config: &DataConfig) -> Result<PreparedData> {
    let mut data = load_splits(config)?;
    data.description = format!(
        "{}: train {} rows, valid {}, test {}; {} categorical, {} numeric, {} sequence, {} dense fields; tasks {}",
        config.source_name(),
        data.train.num_rows,
        data.valid.num_rows,
        data.test.num_rows,
        data.layout.categorical.len(),
        data.layout.numeric.len(),
        data.layout.sequences.len(),
        data.layout.dense.len(),
        data.layout.tasks.join(", ")
    );
    tracing::info!("{}", data.description);
    Ok(data)
}

fn load_splits(config: &DataConfig) -> Result<PreparedData> {
    let options = ReadOptions::default();
    match config {
        DataConfig::FrappeCtr { root } => {
            let dir = root.join("frappe");
            let all = read_libfm(&dir.join("frappe.validation.libfm"), 10, options)?;
            let (train, valid) = splits::frappe_split(all.num_rows());
            let test = read_libfm(&dir.join("frappe.test.libfm"), 10, options)?;
            fit_and_encode(
                &crate::readers::libfm::libfm_schema(10),
                [all.take(&train), all.take(&valid), test],
            )
        }
        DataConfig::Ml100kCtr {
            root,
            labels,
            id_min_count,
        } => {
            let dir = root.join("ml-100k");
            let ml = read_movielens(&dir, &dir.join("u.data"), labels, options)?;
            let parts = splits::time_split(&ml.timestamp, &ml.user, &ml.item);
            let schema = crate::readers::movielens::movielens_schema(labels, *id_min_count);
            fit_and_encode(&schema, parts.map(|rows| ml.table.take(&rows)))
        }
        DataConfig::Ml100kImplicit {
            root,
            negatives,
            eval_negatives,
            history_len,
            popularity_power,
            seed,
        } => {
            let sampling = crate::implicit::ImplicitOptions {
                negatives: *negatives,
                eval_negatives: *eval_negatives,
                history_len: *history_len,
                popularity_power: *popularity_power,
                seed: *seed,
            };
            let splits =
                crate::implicit::read_ml100k_implicit(&root.join("ml-100k"), sampling, options)?;
            fit_and_encode(&crate::implicit::implicit_schema(*history_len), splits)
        }
        DataConfig::Ml100kRetrieval { .. } => Err(DataError::Invalid(
            "ml100k-retrieval is a retrieval source: train it with a two-tower model (configs/ml100k-retrieval/)".to_owned(),
        )),
        DataConfig::SyntheticCtr { rows, seed } => {
            let g = known_ctr::generate(*rows, *seed);
            Ok(born_encoded(
                g.layout,
                g.train.data,
                g.valid.data,
                g.test.data,
            ))
        }
        DataConfig::CriteoSynth { rows, seed } => {
            let model = criteo_synth::CriteoSynthModel::new(*seed);
            Ok(born_encoded(
                criteo_synth::layout(),
                model.generate(rows[0], 0),
                model.generate(rows[1], 1),
                model.generate(rows[2], 2),
            ))
        }
        DataConfig::MmoeSynthetic {
            correlation,
            alpha_scale,
            rows,
            seed,
        } => {
            let (_, [train, valid, test]) =
                mmoe_synthetic::generate(*correlation, *alpha_scale, *rows, *seed)?;
            Ok(born_encoded(mmoe_synthetic::layout(), train, valid, test))
        }
        DataConfig::ClickConversion { rows, seed } => {
            let g = click_conversion::generate(*rows, *seed);
            Ok(born_encoded(
                g.layout,
                g.train.data,
                g.valid.data,
                g.test.data,
            ))
        }
        DataConfig::Csv {
            train,
            valid,
            test,
            schema,
        } => {
            let spec = CsvSpec::from_file(schema)?;
            let parts = from_files(train, valid.as_deref(), test, |p| {
                read_csv(p, &spec, options)
            })?;
            fit_and_encode(&spec.schema, parts)
        }
        DataConfig::Libfm {
            train,
            valid,
            test,
            num_fields,
        } => {
            let parts = from_files(train, valid.as_deref(), test, |p| {
                read_libfm(p, *num_fields, options)
            })?;
            fit_and_encode(&crate::readers::libfm::libfm_schema(*num_fields), parts)
        }
        DataConfig::CriteoTsv {
            train,
            valid,
            test,
            min_count,
        } => {
            let parts = from_files(train, valid.as_deref(), test, |p| {
                read_criteo(p, *min_count, options)
            })?;
            fit_and_encode(&criteo_schema(*min_count), parts)
        }
        DataConfig::Parquet {
            train,
            valid,
            test,
            schema,
        } => {
            let spec = CsvSpec::from_file(schema)?;
            let parts = from_files(train, valid.as_deref(), test, |p| {
                read_parquet(p, &spec.schema, options)
            })?;
            fit_and_encode(&spec.schema, parts)
        }
    }
}

/// Reads a new file in the format a model was trained on, for scoring: a
/// libFM file for frappe-ctr / libfm, a u.data-format ratings file (joined
/// with `u.user` / `u.item` under the stored root) for ml100k-ctr, a file
/// matching the stored schema for csv / parquet, Criteo TSV for criteo-tsv.
/// Encode the result with the stored [`Preprocessor`].
pub fn read_for_prediction(
    config: &DataConfig,
    path: &Path,
    skip_bad_rows: bool,
) -> Result<RawTable> {
    let options = ReadOptions { skip_bad_rows };
    match config {
        DataConfig::FrappeCtr { .. } => read_libfm(path, 10, options),
        DataConfig::Libfm { num_fields, .. } => read_libfm(path, *num_fields, options),
        DataConfig::Ml100kCtr { root, labels, .. } => {
            Ok(read_movielens(&root.join("ml-100k"), path, labels, options)?.table)
        }
        // Scored pairs in the u.data layout (the rating is not a label
        // here), with the users' train histories from the source's files.
        DataConfig::Ml100kImplicit {
            root, history_len, ..
        } => crate::implicit::read_implicit_for_prediction(
            &root.join("ml-100k"),
            path,
            *history_len,
            options,
        ),
        DataConfig::Csv { schema, .. } => read_csv(path, &CsvSpec::from_file(schema)?, options),
        DataConfig::CriteoTsv { min_count, .. } => read_criteo(path, *min_count, options),
        DataConfig::Parquet { schema, .. } => {
            read_parquet(path, &CsvSpec::from_file(schema)?.schema, options)
        }
        DataConfig::SyntheticCtr { .. }
        | DataConfig::CriteoSynth { .. }
        | DataConfig::MmoeSynthetic { .. }
        | DataConfig::ClickConversion { .. } => Err(DataError::Invalid(format!(
            "a model trained on {} (generated data) has no file format to read",
            config.source_name()
        ))),
        DataConfig::Ml100kRetrieval { .. } => Err(DataError::Invalid(
            "a retrieval model answers `ember retrieve`, not file scoring".to_owned(),
        )),
    }
}

/// The built-in sources with one line each, for `ember datasets`.
pub fn list_builtin() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "frappe-ctr",
            "Frappe app usage, libFM, 10 categorical fields; PROTOCOLS.md split (51,950 / 5,772 / 28,860)",
        ),
        (
            "ml100k-ctr",
            "MovieLens-100K ratings joined with users and items; label rating>=4; time split 80/10/10",
        ),
        (
            "ml100k-retrieval",
            "MovieLens-100K, every rating a positive; leave-last-out per user (943 test users, 1,682 items); two-tower",
        ),
        (
            "ml100k-implicit",
            "MovieLens-100K as implicit feedback for rankers: every rating a positive plus 4 sampled unrated items; leave-last-out, test = 1 held-out + 99 unrated per user",
        ),
        (
            "synthetic-ctr",
            "generated CTR rows with known true click probabilities (no files); default 20k/5k/5k",
        ),
        (
            "criteo-synth",
            "the criteo-synth throughput workload (13 numeric + 26 categorical fields, 1,048,576 train rows, seed 42)",
        ),
        (
            "mmoe-synthetic",
            "two regression tasks of controlled correlation p (MMoE paper); 10k/1k/1k rows, one dense field",
        ),
        (
            "click-conversion",
            "impressions -> clicks -> purchases with known true CTR and CVR (ESMM); 200k/20k/50k",
        ),
        (
            "csv",
            "any CSV described by a schema file (configs/schemas/*.toml)",
        ),
        ("libfm", "libFM files, k-th feature = field k"),
        (
            "criteo-tsv",
            "Criteo TSV: label, 13 integer and 26 categorical fields",
        ),
        (
            "parquet",
            "Parquet read through arrow, columns named by a schema file",
        ),
    ]
}

/// Loads a built-in source and says what it holds.
pub fn describe(name: &str, root: Option<&Path>) -> Result<String> {
    let root = root.map_or_else(default_root, Path::to_owned);
    let config = match name {
        "frappe-ctr" => DataConfig::FrappeCtr { root },
        "ml100k-ctr" => DataConfig::Ml100kCtr {
            root,
            labels: default_labels(),
            id_min_count: default_id_min_count(),
        },
        "ml100k-retrieval" => {
            let config = DataConfig::Ml100kRetrieval {
                root,
                history_len: history_len(),
            };
            return Ok(crate::retrieval::load_retrieval(&config)?.describe());
        }
        "ml100k-implicit" => DataConfig::Ml100kImplicit {
            root,
            negatives: implicit_negatives(),
            eval_negatives: implicit_eval_negatives(),
            history_len: implicit_history_len(),
            popularity_power: 0.0,
            seed: implicit_seed(),
        },
        "synthetic-ctr" => DataConfig::SyntheticCtr {
            rows: default_rows(),
            seed: default_seed(),
        },
        "criteo-synth" => DataConfig::CriteoSynth {
            rows: criteo_synth_rows(),
            seed: criteo_synth_seed(),
        },
        "mmoe-synthetic" => DataConfig::MmoeSynthetic {
            correlation: 0.5,
            alpha_scale: mmoe_alpha_scale(),
            rows: mmoe_rows(),
            seed: 0,
        },
        "click-conversion" => DataConfig::ClickConversion {
            rows: click_conversion_rows(),
            seed: click_conversion_seed(),
        },
        other => {
            return Err(DataError::Invalid(format!(
                "'{other}' is not a built-in dataset that can be described without files; try `ember datasets`"
            )));
        }
    };
    let data = load(&config)?;
    let rate = |d: &EncodedData| d.task_labels(0).iter().sum::<f32>() / d.num_rows.max(1) as f32;
    let mut text = format!(
        "{name}: train {} rows (positive rate {:.3}), valid {}, test {}\nfields:\n",
        data.train.num_rows,
        rate(&data.train),
        data.valid.num_rows,
        data.test.num_rows
    );
    for (f, card) in &data.layout.categorical {
        text.push_str(&format!("  {f:<12} categorical, {card} ids (incl. OOV)\n"));
    }
    for (f, card, len) in &data.layout.sequences {
        text.push_str(&format!(
            "  {f:<12} sequence, {card} ids, max length {len}\n"
        ));
    }
    for f in &data.layout.numeric {
        text.push_str(&format!("  {f:<12} numeric\n"));
    }
    text.push_str(&format!("tasks: {}", data.layout.tasks.join(", ")));
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frappe_and_ml100k_protocol_sizes() {
        let Some(root) = shared_data_dir() else {
            return;
        };
        let f = load(&DataConfig::FrappeCtr { root: root.clone() }).unwrap();
        assert_eq!(
            (f.train.num_rows, f.valid.num_rows, f.test.num_rows),
            (51_950, 5_772, 28_860)
        );
        assert_eq!(f.layout.categorical.len(), 10);
        let m = load(&DataConfig::Ml100kCtr {
            root,
            labels: default_labels(),
            id_min_count: 1,
        })
        .unwrap();
        assert_eq!(
            (m.train.num_rows, m.valid.num_rows, m.test.num_rows),
            (80_000, 10_000, 10_000)
        );
        assert_eq!(m.layout.sequences.len(), 1);
        assert!(m.train.groups.is_some());
    }

    #[test]
    fn config_parses_from_toml() {
        let c: DataConfig = toml::from_str("source = \"frappe-ctr\"\nroot = \"/x\"").unwrap();
        assert_eq!(c, DataConfig::FrappeCtr { root: "/x".into() });
        let c: DataConfig = toml::from_str("source = \"ml100k-ctr\"").unwrap();
        assert!(matches!(c, DataConfig::Ml100kCtr { .. }));
        assert!(toml::from_str::<DataConfig>("source = \"nope\"").is_err());
        let c: DataConfig = toml::from_str(
            "source = \"csv\"\ntrain = \"a.csv\"\ntest = \"b.csv\"\nschema = \"s.toml\"",
        )
        .unwrap();
        assert!(matches!(c, DataConfig::Csv { valid: None, .. }));
        let c: DataConfig = toml::from_str("source = \"criteo-synth\"").unwrap();
        assert_eq!(
            c,
            DataConfig::CriteoSynth {
                rows: [1 << 20, 1 << 16, 1 << 16],
                seed: 42
            }
        );
        let c: DataConfig =
            toml::from_str("source = \"ml100k-ctr\"\nlabels = [\"like\", \"love\"]").unwrap();
        assert!(
            matches!(c, DataConfig::Ml100kCtr { ref labels, .. } if labels == &[RatingLabel::AtLeast4, RatingLabel::Equals5])
        );
        // Every built-in name is a source a config can name.
        for (name, _) in list_builtin() {
            let ok = [
                "",
                "train = \"a\"\ntest = \"b\"",
                "train = \"a\"\ntest = \"b\"\nschema = \"s\"",
                "correlation = 0.5",
            ]
            .iter()
            .any(|rest| {
                toml::from_str::<DataConfig>(&format!("source = \"{name}\"\n{rest}")).is_ok()
            });
            assert!(ok, "{name}");
        }
        // Round trip through TOML, as run configs are exported.
        let mut c = DataConfig::Csv {
            train: "a.csv".into(),
            valid: None,
            test: "b.csv".into(),
            schema: "s.toml".into(),
        };
        let back: DataConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        c.resolve_paths(Path::new("/cfg"));
        assert!(matches!(c, DataConfig::Csv { ref train, .. } if train == Path::new("/cfg/a.csv")));
    }

    #[test]
    fn generated_sources_load_without_files() {
        let d = load(&DataConfig::CriteoSynth {
            rows: [5000, 1000, 1000],
            seed: 42,
        })
        .unwrap();
        assert!(d.preprocessor.is_none());
        assert_eq!(d.layout.num_fields(), 39);
        assert_eq!(d.valid.num_rows, 1000);
        assert_ne!(d.valid.categorical, d.test.categorical);
        let d = load(&DataConfig::SyntheticCtr {
            rows: [300, 100, 100],
            seed: 1,
        })
        .unwrap();
        assert_eq!(d.train.num_rows, 300);
        assert!(d.description.starts_with("synthetic-ctr"));
    }
}
