//! The interaction log in memory: events, and the user and item tables.

use super::ids::IdSpace;
use crate::schema::FieldSpec;

/// One side table (users or items): an id space and, per feature field,
/// the cell of every row as the file wrote it (bytes, so every model's
/// feature hashing sees exactly what its training saw). Rows without a line
/// in the table (an id met only in the events) have empty cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SideTable {
    pub ids: IdSpace,
    /// The feature fields, in the order the models' schemas take them.
    pub fields: Vec<FieldSpec>,
    /// `cells[f][row]`.
    cells: Vec<Vec<Vec<u8>>>,
    /// Rows the table's file gave (the others came from events only).
    pub listed: usize,
}

impl SideTable {
    pub fn new(fields: Vec<FieldSpec>) -> Self {
        Self {
            cells: vec![Vec::new(); fields.len()],
            fields,
            ..Self::default()
        }
    }

    /// Adds a listed row; `None` when the id is already in the table.
    pub fn insert(&mut self, id: &str, cells: impl Iterator<Item = Vec<u8>>) -> Option<u32> {
        let (row, new) = self.ids.intern(id);
        if !new {
            return None;
        }
        for (column, cell) in self.cells.iter_mut().zip(cells) {
            column.push(cell);
        }
        for column in &mut self.cells {
            column.resize(row as usize + 1, Vec::new());
        }
        self.listed += 1;
        Some(row)
    }

    /// The row of `id`, adding an unlisted row with empty cells if new.
    pub fn row_or_add(&mut self, id: &str) -> u32 {
        let (row, new) = self.ids.intern(id);
        if new {
            for column in &mut self.cells {
                column.push(Vec::new());
            }
        }
        row
    }

    /// Field `f`'s cell of `row`.
    pub fn cell(&self, f: usize, row: u32) -> &[u8] {
        &self.cells[f][row as usize]
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// Events, column-wise: who did what to which item, when.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Events {
    /// User-table row of each event.
    pub user: Vec<u32>,
    /// Item-table row of each event.
    pub item: Vec<u32>,
    /// Milliseconds since the Unix epoch.
    pub time: Vec<u64>,
    /// Index into [`Interactions::event_types`].
    pub kind: Vec<u16>,
}

impl Events {
    pub fn len(&self) -> usize {
        self.user.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }
}

/// Content vectors of the items (from an image or text model), one per
/// item-table row; rows the file did not cover are zeros and counted.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemVectors {
    pub dim: usize,
    /// Row-major `[items, dim]`.
    pub values: Vec<f32>,
    /// Items that got no vector.
    pub missing: usize,
}

impl ItemVectors {
    pub fn of(&self, row: u32) -> &[f32] {
        &self.values[row as usize * self.dim..(row as usize + 1) * self.dim]
    }
}

/// A whole interaction log: the general shape every interaction source
/// (a configured set of files, or a preset such as MovieLens) reads into.
#[derive(Debug, Clone, PartialEq)]
pub struct Interactions {
    /// Where it came from, for messages.
    pub name: String,
    pub users: SideTable,
    pub items: SideTable,
    pub events: Events,
    /// Event type names; a log without an event column has one, `""`.
    pub event_types: Vec<String>,
    /// Whether each event type counts as a positive (two-tower targets,
    /// ranker positives, histories).
    pub positive: Vec<bool>,
    pub item_vectors: Option<ItemVectors>,
    /// The item field whose tokens are an item's categories (re-ranking
    /// and diversity metrics).
    pub categories: Option<usize>,
    /// Events left out because they named an id their side table lacks
    /// (`unknown_ids = "skip"`).
    pub skipped_events: u64,
}

impl Interactions {
    /// Whether event `e` is a positive.
    pub fn is_positive(&self, e: usize) -> bool {
        self.positive[self.events.kind[e] as usize]
    }

    /// Positive events per item row.
    pub fn positives_per_item(&self, events: &[usize]) -> Vec<u64> {
        let mut counts = vec![0u64; self.items.len()];
        for &e in events {
            counts[self.events.item[e] as usize] += 1;
        }
        counts
    }
}
