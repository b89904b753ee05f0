//! An interaction log laid out as files: an events table, optional user
//! and item tables (CSV or Parquet, any column order, columns named by the
//! config), and optional item vectors.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::log::{Events, Interactions, ItemVectors, SideTable};
use super::tables::{for_each_row, for_each_vector};
use super::timestamps::{TimeFormat, parse_time};
use super::vectors::read_safetensors_vectors;
use crate::error::{DataError, Result};
use crate::readers::csv_schema::CsvSpec;
use crate::schema::{FieldKind, FieldSpec};

/// `[data.events]`: one row per event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsFile {
    pub path: PathBuf,
    /// Column names.
    pub user: String,
    pub item: String,
    pub time: String,
    #[serde(default)]
    pub time_format: TimeFormat,
    /// The event type column (`click`, `like`, ...); without it every
    /// event is of one type, and a positive.
    #[serde(default)]
    pub event: Option<String>,
    /// CSV only (default: tab for `.tsv`, else comma).
    #[serde(default)]
    pub delimiter: Option<char>,
}

/// `[data.users]` / `[data.items]`: one row per id, feature columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SideFile {
    pub path: PathBuf,
    /// The id column.
    pub id: String,
    /// A schema file (as `ember schema infer` writes) whose fields are the
    /// features taken from this table; its labels are ignored, and a field
    /// named like the id or vector column is left out.
    #[serde(default)]
    pub schema: Option<PathBuf>,
    /// Or the fields inline (`fields = [{ name = "genres", kind = "sequence", max_len = 6 }]`).
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    /// Items only: a list column of content vectors (Parquet).
    #[serde(default)]
    pub vector: Option<String>,
    /// Items only: the field whose tokens are the item's categories (for
    /// re-ranking and diversity metrics).
    #[serde(default)]
    pub categories: Option<String>,
    #[serde(default)]
    pub delimiter: Option<char>,
}

/// What an event naming an id its side table lacks does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownIds {
    /// An error naming the file, line and column.
    #[default]
    Error,
    /// The event is left out and counted (logged once, and in the
    /// source's description).
    Skip,
}

/// Everything that says how to read a log's files.
#[derive(Debug, Clone, Copy)]
pub struct LogFiles<'a> {
    pub events: &'a EventsFile,
    pub users: Option<&'a SideFile>,
    pub items: Option<&'a SideFile>,
    /// A safetensors file of item vectors ([`read_safetensors_vectors`]).
    pub item_vectors: Option<&'a Path>,
    /// Event types that are positives (empty: every event).
    pub positives: &'a [String],
    pub unknown_ids: UnknownIds,
}

impl LogFiles<'_> {
    pub fn read(&self) -> Result<Interactions> {
        if self
            .users
            .is_some_and(|u| u.vector.is_some() || u.categories.is_some())
        {
            return Err(DataError::Invalid(
                "[data.users]: `vector` and `categories` are item-table keys".to_owned(),
            ));
        }
        let mut users = match self.users {
            Some(f) => read_side_table(f)?,
            None => SideTable::default(),
        };
        let mut items = match self.items {
            Some(f) => read_side_table(f)?,
            None => SideTable::default(),
        };
        check_field_names(&users, &items)?;
        let (events, event_types, skipped) = self.read_events(&mut users, &mut items)?;
        let positive = self.positive_types(&event_types)?;
        let categories = self
            .items
            .and_then(|f| f.categories.as_deref())
            .map(|name| categories_field(&items, name))
            .transpose()?;
        let mut item_vectors = None;
        if let Some(f) = self.items
            && let Some(column) = &f.vector
        {
            item_vectors = Some(read_vector_column(f, column, &items)?);
        }
        if let Some(path) = self.item_vectors {
            if item_vectors.is_some() {
                return Err(DataError::Invalid(
                    "item vectors given twice: `items.vector` and `item_vectors`".to_owned(),
                ));
            }
            item_vectors = Some(read_safetensors_vectors(path, &items)?);
        }
        if let Some(v) = &item_vectors
            && v.missing > 0
        {
            tracing::warn!(
                items = v.missing,
                "items without a content vector get zeros"
            );
        }
        if skipped > 0 {
            tracing::warn!(
                file = %self.events.path.display(),
                events = skipped,
                "events naming an id missing from its side table skipped"
            );
        }
        Ok(Interactions {
            name: self.events.path.display().to_string(),
            users,
            items,
            events,
            event_types,
            positive,
            item_vectors,
            categories,
            skipped_events: skipped,
        })
    }

    fn read_events(
        &self,
        users: &mut SideTable,
        items: &mut SideTable,
    ) -> Result<(Events, Vec<String>, u64)> {
        let f = self.events;
        let mut columns = vec![f.user.as_str(), f.item.as_str(), f.time.as_str()];
        columns.extend(f.event.as_deref());
        let mut events = Events::default();
        let mut types = super::ids::IdSpace::default();
        if f.event.is_none() {
            types.intern("");
        }
        let mut skipped = 0u64;
        for_each_row(&f.path, f.delimiter, &columns, |line, cells| {
            let at = |field: &str, message: String| {
                DataError::malformed(&f.path, Some(line), Some(field), message)
            };
            let text = |i: usize| {
                std::str::from_utf8(cells[i].trim_ascii())
                    .map_err(|_| at(columns[i], "not UTF-8 text".to_owned()))
            };
            let (user, item) = (text(0)?, text(1)?);
            for (i, id) in [user, item].into_iter().enumerate() {
                if id.is_empty() {
                    return Err(at(columns[i], "empty id".to_owned()));
                }
            }
            let time = parse_time(text(2)?, f.time_format).map_err(|m| at(&f.time, m))?;
            let lookup =
                |table: &mut SideTable, given: Option<&SideFile>, id: &str, i: usize| match given {
                    None => Ok(Some(table.row_or_add(id))),
                    Some(file) => match (table.ids.row(id), self.unknown_ids) {
                        (Some(row), _) => Ok(Some(row)),
                        (None, UnknownIds::Skip) => Ok(None),
                        (None, UnknownIds::Error) => Err(at(
                            columns[i],
                            format!(
                                "'{id}' is not in {} (or set unknown_ids = \"skip\")",
                                file.path.display()
                            ),
                        )),
                    },
                };
            let (Some(u), Some(i)) = (
                lookup(users, self.users, user, 0)?,
                lookup(items, self.items, item, 1)?,
            ) else {
                skipped += 1;
                return Ok(());
            };
            let kind = match &f.event {
                Some(_) => types.intern(text(3)?).0,
                None => 0,
            };
            let kind = u16::try_from(kind)
                .map_err(|_| at(columns[3], "more than 65,536 event types".to_owned()))?;
            events.user.push(u);
            events.item.push(i);
            events.time.push(time);
            events.kind.push(kind);
            Ok(())
        })?;
        if events.is_empty() {
            return Err(DataError::malformed(
                &f.path,
                None,
                None,
                format!("no events ({skipped} skipped for unknown ids)"),
            ));
        }
        Ok((events, types.ids().to_vec(), skipped))
    }

    fn positive_types(&self, types: &[String]) -> Result<Vec<bool>> {
        if self.positives.is_empty() {
            return Ok(vec![true; types.len()]);
        }
        if self.events.event.is_none() {
            return Err(DataError::Invalid(
                "`positives` names event types, but [data.events] has no `event` column".to_owned(),
            ));
        }
        if let Some(bad) = self.positives.iter().find(|p| !types.contains(p)) {
            return Err(DataError::Invalid(format!(
                "positives: no event of type '{bad}' in {} (types: {})",
                self.events.path.display(),
                types.join(", ")
            )));
        }
        Ok(types.iter().map(|t| self.positives.contains(t)).collect())
    }
}

/// The feature fields a side file names (its schema file's, or inline).
fn side_fields(f: &SideFile) -> Result<Vec<FieldSpec>> {
    let mut fields = f.fields.clone();
    if let Some(path) = &f.schema {
        if !fields.is_empty() {
            return Err(DataError::Invalid(format!(
                "{}: give `schema` or `fields`, not both",
                f.path.display()
            )));
        }
        fields = CsvSpec::from_file(path)?.schema.fields;
    }
    fields.retain(|field| field.name != f.id && Some(&field.name) != f.vector.as_ref());
    if let Some(dense) = fields
        .iter()
        .find(|field| matches!(field.kind, FieldKind::Dense { .. }))
    {
        return Err(DataError::Invalid(format!(
            "{}: field '{}' is a dense vector; name an item table's vector column with `vector`",
            f.path.display(),
            dense.name
        )));
    }
    Ok(fields)
}

fn read_side_table(f: &SideFile) -> Result<SideTable> {
    let fields = side_fields(f)?;
    let names: Vec<String> = fields.iter().map(|field| field.name.clone()).collect();
    let mut columns = vec![f.id.as_str()];
    columns.extend(names.iter().map(String::as_str));
    let mut table = SideTable::new(fields);
    for_each_row(&f.path, f.delimiter, &columns, |line, cells| {
        let id = std::str::from_utf8(cells[0].trim_ascii()).map_err(|_| {
            DataError::malformed(&f.path, Some(line), Some(&f.id), "not UTF-8 text")
        })?;
        if id.is_empty() {
            return Err(DataError::malformed(
                &f.path,
                Some(line),
                Some(&f.id),
                "empty id",
            ));
        }
        if id.contains('|') {
            // Histories join item ids with '|' (a sequence cell).
            return Err(DataError::malformed(
                &f.path,
                Some(line),
                Some(&f.id),
                format!("id '{id}' contains '|', which separates the ids of a history"),
            ));
        }
        match table.insert(id, cells[1..].iter().map(|c| c.trim_ascii().to_vec())) {
            Some(_) => Ok(()),
            None => Err(DataError::malformed(
                &f.path,
                Some(line),
                Some(&f.id),
                format!("duplicate id '{id}'"),
            )),
        }
    })?;
    if table.is_empty() {
        return Err(DataError::malformed(&f.path, None, None, "no rows"));
    }
    Ok(table)
}

/// The user and item fields become one ranker schema beside `user_id`,
/// `item_id` and `history`: their names must not collide.
fn check_field_names(users: &SideTable, items: &SideTable) -> Result<()> {
    let mut seen: Vec<&str> = vec![super::USER_ID, super::ITEM_ID, super::HISTORY];
    for field in users.fields.iter().chain(&items.fields) {
        if seen.contains(&field.name.as_str()) {
            return Err(DataError::Invalid(format!(
                "feature '{}' is named twice (or like a built-in field: user_id, item_id, history); rename a column",
                field.name
            )));
        }
        seen.push(&field.name);
    }
    Ok(())
}

fn categories_field(items: &SideTable, name: &str) -> Result<usize> {
    let f = items.field_index(name).ok_or_else(|| {
        DataError::Invalid(format!("items.categories: '{name}' is not an item field"))
    })?;
    match items.fields[f].kind {
        FieldKind::Categorical | FieldKind::Sequence { .. } => Ok(f),
        _ => Err(DataError::Invalid(format!(
            "items.categories: '{name}' must be categorical or a sequence"
        ))),
    }
}

/// Checks one vector and stores it at `row`.
pub(super) fn put_vector(
    out: &mut ItemVectors,
    seen: &mut [bool],
    row: u32,
    values: &[f32],
    at: impl Fn(String) -> DataError,
) -> Result<()> {
    if out.dim == 0 {
        if values.is_empty() {
            return Err(at("an empty vector".to_owned()));
        }
        out.dim = values.len();
        out.values = vec![0.0; seen.len() * out.dim];
    }
    if values.len() != out.dim {
        return Err(at(format!(
            "{} values, but the first vector had {}",
            values.len(),
            out.dim
        )));
    }
    if let Some(j) = values.iter().position(|v| !v.is_finite()) {
        return Err(at(format!("component {j} is {}", values[j])));
    }
    if std::mem::replace(&mut seen[row as usize], true) {
        return Err(at("a second vector for this item".to_owned()));
    }
    out.values[row as usize * out.dim..(row as usize + 1) * out.dim].copy_from_slice(values);
    Ok(())
}

/// Finishes vectors read into `out`: counts the items that got none.
pub(super) fn finish_vectors(
    mut out: ItemVectors,
    seen: &[bool],
    origin: &Path,
) -> Result<ItemVectors> {
    if out.dim == 0 {
        return Err(DataError::malformed(origin, None, None, "no item vectors"));
    }
    out.missing = seen.iter().filter(|&&s| !s).count();
    out.values.resize(seen.len() * out.dim, 0.0);
    Ok(out)
}

fn read_vector_column(f: &SideFile, column: &str, items: &SideTable) -> Result<ItemVectors> {
    let mut out = ItemVectors {
        dim: 0,
        values: Vec::new(),
        missing: 0,
    };
    let mut seen = vec![false; items.len()];
    for_each_vector(&f.path, &f.id, column, |line, id, vector| {
        let Some(values) = vector else {
            return Ok(());
        };
        let row = items
            .ids
            .row(id)
            .expect("the item table was read from this file");
        put_vector(&mut out, &mut seen, row, values, |m| {
            DataError::malformed(&f.path, Some(line), Some(column), m)
        })
    })?;
    finish_vectors(out, &seen, &f.path)
}
