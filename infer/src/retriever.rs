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

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use ember_ann::{HnswIndex, Neighbour, VectorSet, exact_top_k};
use ember_datasets::registry::DataConfig;
use ember_datasets::{EncodedData, RawTable};
use ember_models::artifact::{MANIFEST, Manifest, PREPROCESSOR, load_bpk, schema_hash};
use ember_models::device::{DeviceChoice, select_device};
use ember_models::retrieval::UserTower;
use ember_models::{Batch, TwoTowerConfig};
use ember_train::retrieval::export::{
    CORPUS, Corpus, INDEX, ITEM_VECTORS, TowerPreprocessors, USER_TOWER,
};

/// How to search the item vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    /// The HNSW index saved with the model.
    Ann,
    /// A scan of every item vector.
    Exact,
}

/// One recommended item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recommendation {
    /// The raw item id (as in the data files).
    pub item: u32,
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
    pub user_tower: UserTower,
    pub items: VectorSet,
    /// `None` when loaded for exact search only.
    pub index: Option<HnswIndex>,
    pub device: Device,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<(String, T)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read {what}", path.display()))?;
    let value = serde_json::from_str(&text)
        .with_context(|| format!("{}: invalid {what}", path.display()))?;
    Ok((text, value))
}

impl Retriever {
    /// Loads `dir` on the device `choice` names; with `mode` Exact the index
    /// file is not read (so a damaged index does not block exact search).
    pub fn load(dir: &Path, choice: DeviceChoice, mode: SearchMode) -> Result<Self> {
        if !dir.join(MANIFEST).exists() {
            bail!(
                "{}: not an ember artifact (no {MANIFEST}; a run writes one under runs/<name>/artifact)",
                dir.display()
            );
        }
        let manifest = Manifest::read(dir)?;
        if manifest.family != "retrieval" {
            bail!(
                "{}: a '{}' model, but this command needs a retrieval (two-tower) model",
                dir.display(),
                manifest.family
            );
        }
        let (pre_text, preprocessors): (String, TowerPreprocessors) =
            read_json(&dir.join(PREPROCESSOR), "preprocessors")?;
        if schema_hash(&pre_text) != manifest.schema_hash {
            bail!(
                "{}: does not match the manifest's schema hash (files from different runs?)",
                dir.join(PREPROCESSOR).display()
            );
        }
        let (_, corpus): (String, Corpus) = read_json(&dir.join(CORPUS), "corpus")?;
        let config: TwoTowerConfig = serde_json::from_value(manifest.model.clone())
            .with_context(|| format!("{}: invalid model config", dir.join(MANIFEST).display()))?;
        let data_config: DataConfig = serde_json::from_value(manifest.data.clone())
            .with_context(|| format!("{}: invalid data config", dir.join(MANIFEST).display()))?;

        let items = VectorSet::load(&dir.join(ITEM_VECTORS))?;
        let vectors_path = dir.join(ITEM_VECTORS);
        if items.dim() != config.output_dim || items.len() != corpus.item_ids.len() {
            bail!(
                "{}: {} vectors of dimension {}, but the model outputs dimension {} for {} items",
                vectors_path.display(),
                items.len(),
                items.dim(),
                config.output_dim,
                corpus.item_ids.len()
            );
        }
        let index = match mode {
            SearchMode::Exact => None,
            SearchMode::Ann => {
                let path = dir.join(INDEX);
                let index = HnswIndex::load(&path).with_context(|| {
                    "the ANN index cannot be used (search with --exact, or retrain to rebuild it)"
                })?;
                if index.dim() != items.dim() || index.len() != items.len() {
                    bail!(
                        "{}: indexes {} vectors of dimension {}, the item vectors are {} of dimension {}",
                        path.display(),
                        index.len(),
                        index.dim(),
                        items.len(),
                        items.dim()
                    );
                }
                Some(index)
            }
        };
        let (device, _) = select_device(choice);
        let tower =
            UserTower::new(&config, &manifest.layout, &device).map_err(anyhow::Error::msg)?;
        let user_tower = load_bpk(tower, &dir.join(USER_TOWER))?;
        Ok(Self {
            dir: dir.to_owned(),
            manifest,
            config,
            data_config,
            preprocessors,
            corpus,
            user_tower,
            items,
            index,
            device,
        })
    }

    /// Corpus row of a raw item id.
    pub fn item_row(&self, item: u32) -> Option<u32> {
        self.corpus
            .item_ids
            .binary_search(&item)
            .ok()
            .map(|r| r as u32)
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
                item: self.corpus.item_ids[n.id as usize],
                score: n.score,
            })
            .collect())
    }

    /// Top-`k` for one user-tower row whose history (raw item ids) is
    /// `history`; the history's items are excluded from the answer.
    pub fn retrieve(
        &self,
        raw_query: &RawTable,
        history: &[u32],
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
        for &item in history {
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
