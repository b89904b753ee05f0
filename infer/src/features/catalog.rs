//! The serving-side view of the data: who the users are, what they have
//! had, and what the items are.
//!
//! Built once per pipeline version from the interaction log the models
//! were trained on (any source that is one: `interaction-log`, or a preset
//! such as `ml100k-retrieval`), with the split's train histories, so
//! offline evaluation never leaks a held-out item into a history.
//! Attribute cells are kept as the files wrote them, so every ranking
//! model's encoder hashes them exactly as its own training did, whatever
//! its schema's field order.

use anyhow::{Context, Result, bail};
use ember_datasets::interactions::{HISTORY, ITEM_ID, Interactions, LogDataset, USER_ID};
use ember_datasets::retrieval::{held_out, query_table};
use ember_datasets::{DataConfig, RawTable};

use crate::rerank::Categories;

/// How many main interests a user has (their most frequent categories),
/// for the diversity metrics.
pub const MAIN_INTERESTS: usize = 3;

/// Users, their train histories, and items with their attributes.
pub struct Catalog {
    pub dataset: LogDataset,
    /// The `history` cell per user row: all their train items' ids, most
    /// recent first. A ranker's sequence field keeps its first `max_len`,
    /// so every ranker reads the cell its training built, whatever the
    /// catalog's own `history_len`.
    history_bytes: Vec<Vec<u8>>,
    /// Category indices per item row (the log's `categories` field).
    pub categories: Categories,
    /// Names of the category indices.
    pub category_names: Vec<String>,
    /// Unit vectors per item row (`[items, vector_dim]`), the item
    /// similarity when no two-tower model gives item vectors: the log's
    /// content vectors if it has them, else multi-hot categories.
    pub item_vectors: Vec<f32>,
    pub vector_dim: usize,
    /// Train positives per item row.
    item_counts: Vec<u64>,
}

impl Catalog {
    /// Reads the log `data` names; two-tower queries carry the last
    /// `history_len` train items (as the two-tower was trained).
    pub fn load(data: &DataConfig, history_len: usize) -> Result<Self> {
        let mut dataset = data
            .log_dataset()
            .with_context(|| {
                format!(
                    "catalog: '{}' is not an interaction log (use interaction-log or a preset such as ml100k-retrieval)",
                    data.source_name()
                )
            })?
            .context("catalog: reading the log")?;
        dataset.history_len = history_len;
        Self::new(dataset)
    }

    pub fn new(dataset: LogDataset) -> Result<Self> {
        let log = &dataset.log;
        if log.items.is_empty() {
            bail!("catalog: {} has no items", log.name);
        }
        let history_bytes = dataset
            .split
            .histories
            .iter()
            .map(|items| {
                let mut cell = Vec::new();
                dataset.history_cell(items, usize::MAX, &mut cell);
                cell
            })
            .collect();
        let (categories, category_names) = item_categories(log);
        let (item_vectors, vector_dim) = match &log.item_vectors {
            Some(v) => {
                let mut values = v.values.clone();
                for row in values.chunks_exact_mut(v.dim) {
                    ember_ann::vectors::normalise(row);
                }
                (values, v.dim)
            }
            None => {
                let dim = category_names.len().max(1);
                let mut values = vec![0f32; categories.len() * dim];
                for (row, v) in values.chunks_exact_mut(dim).enumerate() {
                    for &c in categories.of(row) {
                        v[c as usize] = 1.0;
                    }
                    ember_ann::vectors::normalise(v);
                }
                (values, dim)
            }
        };
        let item_counts = log.positives_per_item(&dataset.split.train);
        Ok(Self {
            history_bytes,
            categories,
            category_names,
            item_vectors,
            vector_dim,
            item_counts,
            dataset,
        })
    }

    pub fn log(&self) -> &Interactions {
        &self.dataset.log
    }

    pub fn num_items(&self) -> usize {
        self.log().items.len()
    }

    /// The id of an item row.
    pub fn item_id(&self, row: u32) -> &str {
        self.log().items.ids.id(row)
    }

    /// The row of an item id.
    pub fn item_row(&self, item: &str) -> Option<u32> {
        self.log().items.ids.row(item)
    }

    /// The row of a user id the log knows.
    pub fn user_row(&self, user: &str) -> Option<u32> {
        self.log().users.ids.row(user)
    }

    pub fn user_id(&self, row: u32) -> &str {
        self.log().users.ids.id(row)
    }

    /// A user's train history (item rows, oldest first).
    pub fn history(&self, user: u32) -> &[u32] {
        &self.dataset.split.histories[user as usize]
    }

    /// The `history` cell of a user.
    pub fn history_bytes(&self, user: u32) -> &[u8] {
        &self.history_bytes[user as usize]
    }

    /// Train positives per item row.
    pub fn item_counts(&self) -> &[u64] {
        &self.item_counts
    }

    /// Item popularity (train positives), for novelty and the long tail.
    pub fn popularity(&self) -> crate::diversity::Popularity {
        crate::diversity::Popularity::from_counts(&self.item_counts)
    }

    /// What the diversity metrics need of one list shown to `user` (`None`:
    /// a user the log does not know, with no history): item rows in list
    /// order, whether each was taken, and unit item vectors `[items, dim]`.
    pub fn list_view<'a>(
        &'a self,
        user: Option<u32>,
        rows: &[u32],
        clicked: Vec<bool>,
        vectors: &'a [f32],
        dim: usize,
    ) -> crate::diversity::ListView<'a> {
        let history = user.map_or(&[][..], |u| self.history(u));
        let history_categories = || history.iter().map(|&r| self.categories.of(r as usize));
        let mut all: Vec<u32> = history_categories().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        crate::diversity::ListView {
            items: rows.to_vec(),
            categories: rows
                .iter()
                .map(|&r| self.categories.of(r as usize))
                .collect(),
            vectors: rows
                .iter()
                .map(|&r| &vectors[r as usize * dim..(r as usize + 1) * dim])
                .collect(),
            clicked,
            interests: crate::diversity::main_interests(history_categories(), MAIN_INTERESTS),
            history: all,
        }
    }

    /// The two-tower query of a user: their side features and last
    /// `history_len` train items.
    pub fn query_table(&self, user: u32) -> Result<RawTable> {
        Ok(query_table(
            &self.dataset,
            self.user_id(user),
            self.history(user),
            self.dataset.history_len,
        )?)
    }

    /// Every user's train history (item rows, oldest first), by user row.
    pub fn histories(&self) -> &[Vec<u32>] {
        &self.dataset.split.histories
    }

    /// The test split's queries: (user row, held-out item row).
    pub fn test_queries(&self) -> Vec<(u32, u32)> {
        held_out(&self.dataset, &self.dataset.split.test)
    }

    /// Where a ranking model's field `name` gets its cells from; `None`
    /// for a field the log does not have.
    pub fn cell_source(&self, name: &str) -> Option<CellSource> {
        let log = self.log();
        Some(match name {
            USER_ID => CellSource::UserId,
            ITEM_ID => CellSource::ItemId,
            HISTORY => CellSource::History,
            _ => match log.users.field_index(name) {
                Some(f) => CellSource::User(f),
                None => CellSource::Item(log.items.field_index(name)?),
            },
        })
    }

    /// The fields [`Catalog::cell_source`] resolves.
    pub fn field_names(&self) -> Vec<String> {
        let log = self.log();
        [USER_ID, ITEM_ID, HISTORY]
            .into_iter()
            .map(str::to_owned)
            .chain(log.users.fields.iter().map(|f| f.name.clone()))
            .chain(log.items.fields.iter().map(|f| f.name.clone()))
            .collect()
    }

    /// Field `source`'s cell for (user row, item row).
    pub fn cell(&self, source: CellSource, user: u32, item: u32) -> &[u8] {
        let log = self.log();
        match source {
            CellSource::UserId => self.user_id(user).as_bytes(),
            CellSource::ItemId => self.item_id(item).as_bytes(),
            CellSource::User(f) => log.users.cell(f, user),
            CellSource::Item(f) => log.items.cell(f, item),
            CellSource::History => self.history_bytes(user),
        }
    }
}

/// The categories of every item: the tokens of the log's `categories`
/// field, numbered in sorted order (integers by value, so MovieLens genre
/// `g` is category `g`), which makes every tie broken by category id
/// independent of the order items are listed in.
fn item_categories(log: &Interactions) -> (Categories, Vec<String>) {
    let mut names = ember_datasets::interactions::IdSpace::default();
    let Some(f) = log.categories else {
        return (
            Categories::from_lists((0..log.items.len()).map(|_| std::iter::empty())),
            Vec::new(),
        );
    };
    let separator = match log.items.fields[f].kind {
        ember_datasets::FieldKind::Sequence { separator, .. } => Some(separator as u8),
        _ => None,
    };
    let lists: Vec<Vec<u32>> = (0..log.items.len() as u32)
        .map(|row| {
            let cell = log.items.cell(f, row);
            let tokens: Vec<&[u8]> = match separator {
                Some(sep) => cell.split(|&b| b == sep).collect(),
                None => vec![cell],
            };
            tokens
                .into_iter()
                .map(<[u8]>::trim_ascii)
                .filter(|t| !t.is_empty())
                .map(|t| names.intern(&String::from_utf8_lossy(t)).0)
                .collect()
        })
        .collect();
    let mut sorted: Vec<(u32, &String)> = (0..names.len() as u32).zip(names.ids()).collect();
    sorted.sort_by(|a, b| match (a.1.parse::<i64>(), b.1.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.1.cmp(b.1),
    });
    let mut rank = vec![0u32; sorted.len()];
    for (new, &(old, _)) in sorted.iter().enumerate() {
        rank[old as usize] = new as u32;
    }
    let categories = Categories::from_lists(
        lists
            .into_iter()
            .map(|list| list.into_iter().map(|c| rank[c as usize])),
    );
    (
        categories,
        sorted.into_iter().map(|(_, n)| n.clone()).collect(),
    )
}

/// Where a ranking model's field gets its cells from, resolved once by
/// field name when the model is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellSource {
    UserId,
    ItemId,
    /// A user-table field (its index).
    User(usize),
    /// An item-table field (its index).
    Item(usize),
    History,
}
