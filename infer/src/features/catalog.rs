//! The serving-side view of the data: who the users are, what they have
//! seen, and what the items are.
//!
//! Built once per pipeline version from the MovieLens-100K files the models
//! were trained on (the retrieval protocol's train histories, so offline
//! evaluation never leaks a held-out item into a history). Attribute bytes
//! are kept as read, so every ranking model's encoder hashes them exactly
//! as its own training did, whatever its schema's field order.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use ember_datasets::implicit::history_cell;
use ember_datasets::readers::{User, read_items, read_users};
use ember_datasets::sources::Ml100kRetrieval;
use ember_datasets::{DataConfig, RetrievalData, load_retrieval};

use crate::rerank::Categories;

/// Number of MovieLens genres (the categories of the diversity metrics).
pub const GENRES: usize = 19;

/// Users, their train histories, and items with their genres.
pub struct Catalog {
    /// Everything the two-tower user encoder needs (profiles, histories).
    pub retrieval: RetrievalData,
    profiles: HashMap<u32, User>,
    /// Genre bytes per corpus row (`"0|7|12"`, as the readers hash them).
    genre_bytes: Vec<Vec<u8>>,
    /// The `history` cell per known user: all their train items' raw ids,
    /// most recent first. A ranker's sequence field keeps its first
    /// `max_len`, so every ranker reads the cell its training built
    /// (ml100k-implicit), whatever the catalog's own `history_len`.
    history_bytes: HashMap<u32, Vec<u8>>,
    /// Genre indices per corpus row.
    pub categories: Categories,
    /// Multi-hot genre vectors per corpus row, unit length (`[items, 19]`):
    /// the item similarity when no two-tower model gives item vectors.
    pub genre_vectors: Vec<f32>,
}

impl Catalog {
    /// Reads `root/ml-100k` (the retrieval protocol, histories of up to
    /// `history_len` items).
    pub fn load_ml100k(root: &Path, history_len: usize) -> Result<Self> {
        let retrieval = load_retrieval(&DataConfig::Ml100kRetrieval(Ml100kRetrieval {
            root: root.to_owned(),
            history_len,
        }))
        .with_context(|| format!("catalog: loading ml-100k from {}", root.display()))?;
        let dir = root.join("ml-100k");
        let profiles = read_users(&dir.join("u.user"))?;
        let genres = read_items(&dir.join("u.item"))?;
        let mut genre_bytes = Vec::with_capacity(retrieval.item_ids.len());
        let mut lists = Vec::with_capacity(retrieval.item_ids.len());
        for id in &retrieval.item_ids {
            let bytes = genres.get(id).cloned().unwrap_or_default();
            let mut list = Vec::new();
            for token in bytes.split(|&b| b == b'|').filter(|t| !t.is_empty()) {
                let genre: u32 = std::str::from_utf8(token)
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .filter(|&g: &u32| (g as usize) < GENRES)
                    .with_context(|| format!("u.item: item {id} has a bad genre index"))?;
                list.push(genre);
            }
            lists.push(list);
            genre_bytes.push(bytes);
        }
        let categories = Categories::from_lists(lists);
        let mut genre_vectors = vec![0f32; categories.len() * GENRES];
        for (row, v) in genre_vectors.chunks_exact_mut(GENRES).enumerate() {
            for &g in categories.of(row) {
                v[g as usize] = 1.0;
            }
            ember_ann::vectors::normalise(v);
        }
        if retrieval.item_ids.is_empty() {
            bail!("catalog: {} has no items", dir.display());
        }
        let history_bytes = retrieval
            .train_histories
            .iter()
            .map(|(&user, rows)| {
                let ids: Vec<u32> = rows
                    .iter()
                    .map(|&r| retrieval.item_ids[r as usize])
                    .collect();
                let mut cell = Vec::new();
                history_cell(&ids, usize::MAX, &mut cell);
                (user, cell)
            })
            .collect();
        Ok(Self {
            retrieval,
            profiles,
            genre_bytes,
            history_bytes,
            categories,
            genre_vectors,
        })
    }

    pub fn num_items(&self) -> usize {
        self.retrieval.item_ids.len()
    }

    /// Raw item id of a corpus row.
    pub fn item_id(&self, row: u32) -> u32 {
        self.retrieval.item_ids[row as usize]
    }

    /// Corpus row of a raw item id.
    pub fn item_row(&self, item: u32) -> Option<u32> {
        self.retrieval.item_row(item)
    }

    /// A known user's train history (corpus rows, oldest first), or `None`
    /// for a user the catalog does not know.
    pub fn history(&self, user: u32) -> Option<&[u32]> {
        if !self.retrieval.knows_user(user) {
            return None;
        }
        Some(
            self.retrieval
                .train_histories
                .get(&user)
                .map_or(&[][..], Vec::as_slice),
        )
    }

    pub fn profile(&self, user: u32) -> Option<&User> {
        self.profiles.get(&user)
    }

    /// The `history` cell of `user` (empty for an unknown user).
    pub fn history_bytes(&self, user: u32) -> &[u8] {
        self.history_bytes.get(&user).map_or(&[], Vec::as_slice)
    }

    pub fn genre_bytes(&self, row: u32) -> &[u8] {
        &self.genre_bytes[row as usize]
    }

    /// Train positives per corpus row.
    pub fn item_counts(&self) -> &[u64] {
        &self.retrieval.item_counts
    }
}

/// Where a ranking model's field gets its bytes from, resolved once by
/// field name when the model is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellSource {
    UserId,
    ItemId,
    Age,
    Gender,
    Occupation,
    Zip,
    Genres,
    History,
}

impl CellSource {
    pub const NAMES: [&'static str; 8] = [
        "user_id",
        "item_id",
        "age",
        "gender",
        "occupation",
        "zip",
        "genres",
        "history",
    ];

    pub fn by_name(name: &str) -> Option<Self> {
        Some(match name {
            "user_id" => CellSource::UserId,
            "item_id" => CellSource::ItemId,
            "age" => CellSource::Age,
            "gender" => CellSource::Gender,
            "occupation" => CellSource::Occupation,
            "zip" => CellSource::Zip,
            "genres" => CellSource::Genres,
            "history" => CellSource::History,
            _ => return None,
        })
    }
}
