//! Loading a retrieval artifact and answering top-N queries with it.
//!
//! The user tower runs on any backend; the item vectors and the ANN index
//! are plain files (`ember-ann`), the same on every backend. Search is the
//! HNSW index by default, or an exact scan to measure the index against.
//!
//! Documented fallbacks (everything else is an error, never a panic):
//! - an empty history: the history pools to zeros and the user's side
//!   features alone place the user (a user with neither is an error);
//! - more seen items than the index returns (`ef_search`): when filtering
//!   them out leaves fewer than K, the query is answered by exact search.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
                let mut hits: Vec<Neighbour> = index
                    .search(user, k + exclude.len())?
                    .into_iter()
                    .filter(|n| !is_excluded(n.id))
                    .collect();
                let reachable = self.items.len().saturating_sub(exclude.len()).min(k);
                if hits.len() < reachable {
                    tracing::warn!(
                        found = hits.len(),
                        k,
                        excluded = exclude.len(),
                        ef_search = index.params().ef_search,
                        "the index returned too few unseen items; answering by exact search"
                    );
                    exact_top_k(&self.items, user, k, is_excluded)?
                } else {
                    hits.truncate(k);
                    hits
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
