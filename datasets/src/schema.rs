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
    /// Categorical and sequence fields: another such field whose tokens
    /// these are (a behaviour history of item ids shares `item_id`'s): the
    /// same text hashes alike in both, one vocabulary is fitted on both
    /// fields' tokens, and models look both up in one embedding table, as
    /// DIN shares the item embeddings between the behaviours and the
    /// candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocab_of: Option<String>,
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
            vocab_of: None,
        }
    }

    /// This field's tokens are field `other`'s ([`FieldSpec::vocab_of`]).
    pub fn sharing_vocab_of(mut self, other: &str) -> Self {
        self.vocab_of = Some(other.to_owned());
        self
    }

    fn has_tokens(&self) -> bool {
        matches!(
            self.kind,
            FieldKind::Categorical | FieldKind::Sequence { .. }
        )
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
        for f in &self.fields {
            let Some(other) = &f.vocab_of else { continue };
            let target = self.fields.iter().find(|t| &t.name == other);
            let problem = match target {
                None => Some(format!("vocab_of names '{other}', which is not a field")),
                Some(t) if t.name == f.name => Some("vocab_of names the field itself".into()),
                Some(t) if !f.has_tokens() || !t.has_tokens() => Some(format!(
                    "vocab_of joins categorical and sequence fields only ('{other}' is {:?})",
                    t.kind
                )),
                Some(t) if t.vocab_of.is_some() => Some(format!(
                    "vocab_of names '{other}', which shares another field's vocabulary itself: name that one"
                )),
                Some(t) if t.encoding != f.encoding => Some(format!(
                    "vocab_of needs the same encoding as '{other}' ({:?}), not {:?}",
                    t.encoding, f.encoding
                )),
                Some(_) => None,
            };
            if let Some(problem) = problem {
                return Err((f.name.clone(), problem));
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

    /// The field whose index seeds field `i`'s token hashes: the field it
    /// shares a vocabulary with ([`FieldSpec::vocab_of`]), else `i`.
    pub fn hash_field(&self, i: usize) -> u32 {
        let shared = self.fields[i]
            .vocab_of
            .as_deref()
            .and_then(|name| self.field_index(name));
        shared.unwrap_or(i) as u32
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
