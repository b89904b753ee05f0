//! Loading a retrieval artifact and answering top-N queries with it.
//!
//! The user tower runs on any backend; the item vectors and the ANN index
//! are plain files (`ember-ann`), the same on every backend. Search is the
//! HNSW index by default, or an exact scan to measure the index against.
//!
//! Documented fallbacks (everything else is an error, never a panic):
//! - an empty history: the history pools to zeros and the user's side
//!   features alone place the user (a user with neither is an error);
//! - fewer than K unseen items reachable in the HNSW graph: the index
//!   search walks through seen items without counting them against its
//!   width, so it comes back short only when the graph does not link
//!   enough unseen items to where it enters; that query is answered by
//!   exact search, and counted (`ember_ann_exact_fallbacks_total` in the
//!   server's `/metrics`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use ember_ann::{HnswIndex, Neighbour, VectorSet, exact_top_k};
use ember_datasets::registry::DataConfig;
use ember_datasets::{EncodedData, RawTable};
use ember_models::artifact::retrieval::{Corpus, TowerPreprocessors};
use ember_models::artifact::{Manifest, RetrievalArtifact};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::retrieval::UserTower;
use ember_models::{Batch, TwoTowerConfig};

/// How to search the item vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// The HNSW index saved with the model.
    Ann,
    /// A scan of every item vector.
    Exact,
}

/// How this process's index searches went, for `/metrics`. Process-wide
/// rather than per retriever: the server swaps pipelines (and with them
/// retrievers) while it runs, and a Prometheus counter never goes back.
pub static SEARCH_COUNTERS: SearchCounters = SearchCounters::new();

/// See [`SEARCH_COUNTERS`].
pub struct SearchCounters {
    ann_searches: AtomicU64,
    ann_visited: AtomicU64,
    exact_fallbacks: AtomicU64,
}

/// A reading of [`SearchCounters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchCounts {
    /// Queries searched in the HNSW index.
    pub ann_searches: u64,
    /// Item vectors those searches compared with the query (their cost:
    /// an exact scan compares every item).
    pub ann_visited: u64,
    /// Index searches that came back short and were answered by exact search.
    pub exact_fallbacks: u64,
}

impl SearchCounters {
    const fn new() -> Self {
        Self {
            ann_searches: AtomicU64::new(0),
            ann_visited: AtomicU64::new(0),
            exact_fallbacks: AtomicU64::new(0),
        }
    }

    fn record(&self, visited: usize, fell_back: bool) {
        self.ann_searches.fetch_add(1, Relaxed);
        self.ann_visited.fetch_add(visited as u64, Relaxed);
        if fell_back {
            self.exact_fallbacks.fetch_add(1, Relaxed);
        }
    }

    pub fn read(&self) -> SearchCounts {
        SearchCounts {
            ann_searches: self.ann_searches.load(Relaxed),
            ann_visited: self.ann_visited.load(Relaxed),
            exact_fallbacks: self.exact_fallbacks.load(Relaxed),
        }
    }
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// The item id (as in the data files).
    pub item: String,
    /// Its corpus row.
    pub row: u32,
    /// Cosine of user and item vectors (the model's score times τ).
    pub score: f32,
}

/// An exported two-tower model, ready to retrieve.
pub struct Retriever {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub config: TwoTowerConfig,
    pub data_config: DataConfig,
    pub preprocessors: TowerPreprocessors,
    pub corpus: Corpus,
    /// Corpus row per item id.
    item_rows: HashMap<String, u32>,
    pub user_tower: UserTower,
    pub items: VectorSet,
    /// `None` when loaded for exact search only.
    pub index: Option<HnswIndex>,
    pub device: Device,
}

impl Retriever {
    /// Loads `dir` on the device `choice` names; with `mode` Exact the index
    /// file is not read (so a damaged index does not block exact search).
    pub fn load(dir: &Path, choice: DeviceChoice, mode: SearchMode) -> Result<Self> {
        let (device, _) = select_device(choice);
        let loaded = RetrievalArtifact::load(dir, &device, mode == SearchMode::Ann)?;
        Ok(Self {
            dir: dir.to_owned(),
            manifest: loaded.artifact.manifest,
            config: loaded.config,
            data_config: loaded.data,
            preprocessors: loaded.preprocessors,
            item_rows: loaded
                .corpus
                .item_ids
                .iter()
                .enumerate()
                .map(|(r, id)| (id.clone(), r as u32))
                .collect(),
            corpus: loaded.corpus,
            user_tower: loaded.user_tower,
            items: loaded.items,
            index: loaded.index,
            device,
        })
    }

    /// Corpus row of an item id.
    pub fn item_row(&self, item: &str) -> Option<u32> {
        self.item_rows.get(item).copied()
    }

    /// Encodes raw user-tower rows with the artifact's preprocessor.
    pub fn encode(&self, raw: &RawTable) -> Result<EncodedData> {
        Ok(self.preprocessors.user.transform(raw)?)
    }

    /// Unit user vectors, row-major `[rows, d]`.
    pub fn user_vectors(&self, queries: &EncodedData) -> Vec<f32> {
        if queries.num_rows == 0 {
            return Vec::new();
        }
        let rows: Vec<usize> = (0..queries.num_rows).collect();
        let batch = Batch::from_rows(queries, &rows, &self.device);
        self.user_tower
            .forward(&batch)
            .into_data()
            .try_to_vec::<f32>()
            .expect("vectors are f32")
    }

    /// The `k` best items for a user vector, excluding the corpus rows in
    /// `exclude` (sorted), best first.
    pub fn search(
        &self,
        user: &[f32],
        k: usize,
        exclude: &[u32],
        mode: SearchMode,
    ) -> Result<Vec<Recommendation>> {
        self.items.check_query(user)?;
        let is_excluded = |row: u32| exclude.binary_search(&row).is_ok();
        let found: Vec<Neighbour> = match (mode, &self.index) {
            (SearchMode::Exact, _) => exact_top_k(&self.items, user, k, is_excluded)?,
            (SearchMode::Ann, None) => bail!("no ANN index loaded (load with SearchMode::Ann)"),
            (SearchMode::Ann, Some(index)) => {
                let found = index.search_filtered(user, k, is_excluded)?;
                let reachable = self.items.len().saturating_sub(exclude.len()).min(k);
                let short = found.neighbours.len() < reachable;
                SEARCH_COUNTERS.record(found.visited, short);
                if short {
                    // Counted, not a warning: the graph is what it is, and
                    // the answer is still the right one.
                    tracing::debug!(
                        found = found.neighbours.len(),
                        k,
                        excluded = exclude.len(),
                        "the index reaches too few unseen items; answering by exact search"
                    );
                    exact_top_k(&self.items, user, k, is_excluded)?
                } else {
                    found.neighbours
                }
            }
        };
        Ok(found
            .into_iter()
            .map(|n| Recommendation {
                item: self.corpus.item_ids[n.id as usize].clone(),
                row: n.id,
                score: n.score,
            })
            .collect())
    }

    /// Top-`k` for one user-tower row whose history (item ids) is
    /// `history`; the history's items are excluded from the answer.
    pub fn retrieve(
        &self,
        raw_query: &RawTable,
        history: &[String],
        k: usize,
        mode: SearchMode,
    ) -> Result<Vec<Recommendation>> {
        if raw_query.num_rows() != 1 {
            bail!("one query at a time, got {} rows", raw_query.num_rows());
        }
        let encoded = self.encode(raw_query)?;
        let informative = encoded.categorical.iter().any(|&id| id != 0)
            || encoded.sequences.iter().any(|s| s.lengths[0] > 0)
            || encoded.num_numeric > 0
            || !encoded.dense.is_empty();
        if !informative {
            bail!(
                "the query has no known feature and an empty history: nothing to retrieve from (give a history)"
            );
        }
        let mut exclude: Vec<u32> = Vec::with_capacity(history.len());
        for item in history {
            exclude
                .push(self.item_row(item).with_context(|| {
                    format!("history item {item} is not in the model's corpus")
                })?);
        }
        exclude.sort_unstable();
        exclude.dedup();
        let user = self.user_vectors(&encoded);
        self.search(&user, k, &exclude, mode)
    }
}
