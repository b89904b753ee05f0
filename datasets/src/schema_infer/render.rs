//! Writing the inferred schema as the commented TOML file a person edits.
//!
//! Keys and layout follow `configs/schemas/*.toml`: top-level `delimiter`,
//! `labels`, `group_by`, then one `[[fields]]` block per column, with only
//! the keys that differ from their defaults. Values go through the `toml`
//! serializer, so names with quotes or spaces stay valid TOML.

use std::fmt::Write;

use serde::Serialize;

use super::text::{char_name, count};
use super::{FileFormat, InferredSchema, Role};
use crate::schema::{Encoding, FieldKind, FieldSpec, Normalisation};

/// Label candidates named in the comment (a file of flags has dozens).
const MAX_CANDIDATES_SHOWN: usize = 8;

/// A value in TOML syntax (`"I1"`, `"\t"`, `{ type = "hash", buckets = 1024 }`).
fn toml_value(value: &impl Serialize) -> String {
    let mut out = String::new();
    value
        .serialize(toml::ser::ValueSerializer::new(&mut out))
        .expect("schema values are strings, numbers and tables");
    out
}

/// The `[[fields]]` block of one field.
fn field_block(spec: &FieldSpec) -> Vec<String> {
    let mut lines = vec![
        "[[fields]]".to_owned(),
        format!("name = {}", toml_value(&spec.name)),
    ];
    let separator = |lines: &mut Vec<String>, separator: char| {
        if separator != '|' {
            lines.push(format!("separator = {}", toml_value(&separator)));
        }
    };
    match spec.kind {
        FieldKind::Categorical => lines.push(r#"kind = "categorical""#.into()),
        FieldKind::Numeric => lines.push(r#"kind = "numeric""#.into()),
        FieldKind::Sequence {
            max_len,
            separator: s,
        } => {
            lines.push(r#"kind = "sequence""#.into());
            lines.push(format!("max_len = {max_len}"));
            separator(&mut lines, s);
        }
        FieldKind::Dense { dim, separator: s } => {
            lines.push(r#"kind = "dense""#.into());
            lines.push(format!("dim = {dim}"));
            separator(&mut lines, s);
        }
    }
    if spec.encoding != Encoding::default() {
        lines.push(format!("encoding = {}", toml_value(&spec.encoding)));
    }
    if spec.normalisation != Normalisation::None {
        lines.push(format!(
            "normalisation = {}",
            toml_value(&spec.normalisation)
        ));
    }
    lines
}

pub fn render(s: &InferredSchema) -> String {
    let mut out = String::new();
    // One line each: a line break inside a comment would end it. Writing
    // to a String cannot fail.
    let mut line = |text: &str| {
        let _ = writeln!(out, "{}", text.replace(['\n', '\r'], " "));
    };
    let file = s.path.file_name().map_or_else(
        || s.path.display().to_string(),
        |f| f.to_string_lossy().into(),
    );
    line(&format!(
        "# Schema for {file}, inferred by `ember schema infer`"
    ));
    if s.size.whole_file {
        line(&format!(
            "# from all {} rows of the file.",
            count(s.size.rows)
        ));
    } else {
        let how = match s.format {
            FileFormat::Parquet => "as its footer says",
            FileFormat::Csv(_) => "estimated from the file size",
        };
        line(&format!(
            "# from its first {} rows of ~{} ({how}); \"in the whole file\" counts are estimates.",
            count(s.size.rows),
            count(s.size.file_rows)
        ));
    }
    line("# Each choice says why. It is a starting point: check it and edit it; a");
    line("# column left out is commented out, uncomment its [[fields]] block to use it.");
    line("");
    match &s.format {
        FileFormat::Csv(d) => {
            line(&format!(
                "# delimiter {}: {}",
                char_name(d.delimiter),
                d.delimiter_why
            ));
            line(&format!("delimiter = {}", toml_value(&d.delimiter)));
            let answer = if d.has_header { "yes" } else { "no" };
            line(&format!("# header: {answer}: {}", d.header_why));
            if !d.has_header {
                line("# Without one, columns are read by position (named c1, c2, ... here),");
                line("# labels first, and every column must be listed.");
                line("has_header = false");
            }
        }
        FileFormat::Parquet => {
            line("# Parquet: columns are found by name, lists and numbers read as stored.");
        }
    }
    for decision in s.labels.iter().filter_map(|l| s.column(l)) {
        line(&format!("# label {}: {}", decision.name, decision.why));
        for warning in &decision.warnings {
            line(&format!("# warning: {warning}"));
        }
    }
    if s.labels.is_empty() {
        line("# labels: none given (--label COL); name the label column(s) here.");
        if !s.label_candidates.is_empty() {
            let shown = s.label_candidates.len().min(MAX_CANDIDATES_SHOWN);
            let more = if shown < s.label_candidates.len() {
                ", ..."
            } else {
                ""
            };
            line(&format!(
                "# 0/1 columns that could be one: {}{more}",
                s.label_candidates[..shown].join(", ")
            ));
        }
    }
    line(&format!("labels = {}", toml_value(&s.labels)));
    if !s.regression_labels.is_empty() {
        line("# Real-valued targets (values outside 0/1): the readers accept them for");
        line("# a regression task; a click or conversion loss needs a 0/1 label.");
        line(&format!(
            "regression_labels = {}",
            toml_value(&s.regression_labels)
        ));
    }
    match &s.group_by {
        Some((name, why)) => {
            line(&format!("# group_by: {why}"));
            line(&format!("group_by = {}", toml_value(name)));
        }
        None => line(
            "# group_by: no column is named like a user id (user, user_id, uid); name one here for gAUC",
        ),
    }
    for decision in &s.columns {
        let block = match &decision.role {
            Role::Label => continue,
            Role::Field(spec) => field_block(spec),
            Role::LeftOut(fallback) => fallback
                .iter()
                .flat_map(field_block)
                .map(|l| format!("# {l}"))
                .collect(),
        };
        line("");
        let kept = if let Role::LeftOut(_) = decision.role {
            " (left out)"
        } else {
            ""
        };
        line(&format!("# {}{kept}: {}", decision.name, decision.why));
        for l in block {
            line(&l);
        }
    }
    out
}
