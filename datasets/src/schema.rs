//! The feature schema: which fields a dataset has and how each is encoded.
//!
//! A schema is serialised into every artifact, so serving extracts features
//! exactly as training did.

use serde::{Deserialize, Serialize};

/// What kind of value a field holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    /// One token per row (user id, app category, ...).
    Categorical,
    /// One real number per row.
    Numeric,
    /// A variable-length list of tokens (multi-hot genres, behaviour history),
    /// truncated to the `max_len` most recent / first entries and pooled.
    Sequence {
        max_len: usize,
        #[serde(default = "default_separator")]
        separator: char,
    },
    /// A pretrained dense vector of fixed dimension (e.g. a multimodal embedding).
    Dense {
        dim: usize,
        #[serde(default = "default_separator")]
        separator: char,
    },
}

fn default_separator() -> char {
    '|'
}

/// How tokens of a categorical or sequence field become ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Encoding {
    /// A vocabulary built on the training split; tokens seen fewer than
    /// `min_count` times, and tokens never seen, map to the field's OOV id 0.
    Vocab {
        #[serde(default = "one")]
        min_count: u32,
    },
    /// `1 + hash(token) % buckets`: no vocabulary to store, for huge or
    /// open-ended id spaces. Id 0 stays reserved (padding / missing).
    Hash { buckets: u32 },
}

fn one() -> u32 {
    1
}

impl Default for Encoding {
    fn default() -> Self {
        Encoding::Vocab { min_count: 1 }
    }
}

/// How a numeric field is normalised, with statistics fitted on the training split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// Use the value as it is.
    #[default]
    None,
    /// (x - mean) / std.
    Standard,
    /// (x - min) / (max - min).
    MinMax,
    /// ln(1 + max(x, 0)), the usual transform for heavy-tailed counts (Criteo).
    Log1p,
}

/// One input field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSpec {
    pub name: String,
    #[serde(flatten)]
    pub kind: FieldKind,
    /// Categorical and sequence fields only.
    #[serde(default)]
    pub encoding: Encoding,
    /// Numeric fields only.
    #[serde(default)]
    pub normalisation: Normalisation,
    /// Numeric fields only: the value used when the cell is empty.
    #[serde(default)]
    pub fill: f32,
}

impl FieldSpec {
    pub fn categorical(name: &str) -> Self {
        Self::new(name, FieldKind::Categorical)
    }

    pub fn numeric(name: &str, normalisation: Normalisation) -> Self {
        Self {
            normalisation,
            ..Self::new(name, FieldKind::Numeric)
        }
    }

    pub fn sequence(name: &str, max_len: usize) -> Self {
        Self::new(
            name,
            FieldKind::Sequence {
                max_len,
                separator: default_separator(),
            },
        )
    }

    pub fn dense(name: &str, dim: usize) -> Self {
        Self::new(
            name,
            FieldKind::Dense {
                dim,
                separator: default_separator(),
            },
        )
    }

    pub fn with_encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    fn new(name: &str, kind: FieldKind) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            encoding: Encoding::default(),
            normalisation: Normalisation::None,
            fill: 0.0,
        }
    }
}

/// The fields and label columns of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    pub fields: Vec<FieldSpec>,
    /// Label column names, one per task.
    pub labels: Vec<String>,
    /// Optional column whose value groups rows for gAUC (usually the user id).
    #[serde(default)]
    pub group_by: Option<String>,
    /// Labels that are real-valued targets (regression tasks). Every other
    /// label feeds a binary cross-entropy and must lie in [0, 1]: readers
    /// reject a row whose label does not, naming file, line and label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regression_labels: Vec<String>,
}

impl Schema {
    /// Checks what serde cannot: names used once, labels that are not also
    /// fields, regression labels that are labels. The error names the field.
    pub fn validate(&self) -> std::result::Result<(), (String, String)> {
        let mut seen = std::collections::HashSet::new();
        for f in &self.fields {
            if f.name.trim().is_empty() {
                return Err((f.name.clone(), "a field without a name".into()));
            }
            if !seen.insert(f.name.as_str()) {
                return Err((f.name.clone(), "named by two [[fields]] blocks".into()));
            }
        }
        let mut labels = std::collections::HashSet::new();
        for l in &self.labels {
            if !labels.insert(l.as_str()) {
                return Err((l.clone(), "listed twice in labels".into()));
            }
            if seen.contains(l.as_str()) {
                return Err((l.clone(), "both a label and a field".into()));
            }
        }
        if let Some(r) = self
            .regression_labels
            .iter()
            .find(|r| !labels.contains(r.as_str()))
        {
            return Err((r.clone(), "in regression_labels but not in labels".into()));
        }
        Ok(())
    }

    /// Whether label `name` must lie in [0, 1].
    pub fn is_binary_label(&self, name: &str) -> bool {
        !self.regression_labels.iter().any(|l| l == name)
    }
}

impl Schema {
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Fields of one kind, in schema order, with their schema index.
    pub fn fields_where(
        &self,
        pred: impl Fn(&FieldKind) -> bool,
    ) -> impl Iterator<Item = (usize, &FieldSpec)> {
        self.fields
            .iter()
            .enumerate()
            .filter(move |(_, f)| pred(&f.kind))
    }
}
