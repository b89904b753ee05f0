//! A retrieval artifact: what a server needs to answer top-N queries.
//!
//! ```text
//! manifest.json          family "retrieval", model + data config, user layout, metrics
//! preprocessor.json      {"user": ..., "item": ...}: both towers' schemas and vocabularies
//! user_tower.bpk         user tower weights (+ .safetensors), all a server needs per request
//! item_tower.bpk         item tower weights, to embed new items later
//! retrieval.json         corpus: raw item id and train count per row, item layout, index params
//! item_vectors.bin       the unit item vectors, [items, d] (ember-ann envelope, checksummed)
//! index.hnsw             HNSW index over them (ember-ann envelope, checksummed)
//! config.toml            the run config as trained
//! ```

use std::path::Path;

use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use ember_ann::{HnswIndex, HnswParams, VectorSet};
use ember_datasets::registry::DataConfig;
use ember_datasets::{FeatureLayout, Preprocessor};
use serde::{Deserialize, Serialize};

use super::manifest::Family;
use super::reader::ArtifactDir;
use crate::retrieval::{TwoTowerConfig, UserTower};

pub const USER_TOWER: &str = "user_tower";
pub const ITEM_TOWER: &str = "item_tower";
pub const CORPUS: &str = "retrieval.json";
pub const ITEM_VECTORS: &str = "item_vectors.bin";
pub const INDEX: &str = "index.hnsw";

/// `retrieval.json`: what maps vector rows back to items.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Corpus {
    /// The item id of each vector row, as the data writes it (artifacts
    /// written before ids were text hold integers, read as their text).
    #[serde(deserialize_with = "ember_datasets::interactions::id_texts")]
    pub item_ids: Vec<String>,
    /// Train positives of each row (the most-popular fallback).
    pub item_counts: Vec<u64>,
    pub item_layout: FeatureLayout,
    /// Dimension of user and item vectors.
    pub dim: usize,
    pub index: HnswParams,
}

/// Both preprocessors, as `preprocessor.json` holds them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TowerPreprocessors {
    pub user: Preprocessor,
    pub item: Preprocessor,
}

pub struct RetrievalArtifact {
    pub artifact: ArtifactDir,
    pub config: TwoTowerConfig,
    pub data: DataConfig,
    pub preprocessors: TowerPreprocessors,
    pub corpus: Corpus,
    pub user_tower: UserTower,
    pub items: VectorSet,
    /// `None` when loaded without the index (exact search only, so a
    /// damaged index does not block it).
    pub index: Option<HnswIndex>,
}

impl RetrievalArtifact {
    pub fn load(dir: &Path, device: &Device, with_index: bool) -> Result<Self> {
        let artifact = ArtifactDir::open(dir, Family::Retrieval)?;
        let preprocessors: TowerPreprocessors = artifact.preprocessor()?;
        let corpus: Corpus = artifact.json(CORPUS, "corpus")?;
        let config: TwoTowerConfig = artifact.model_entry()?;
        let data: DataConfig = artifact.data_entry()?;

        let vectors_path = artifact.path(ITEM_VECTORS);
        let items = VectorSet::load(&vectors_path)?;
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
        let index = if with_index {
            let path = artifact.path(INDEX);
            let index = HnswIndex::load(&path).with_context(
                || "the ANN index cannot be used (search with --exact, or retrain to rebuild it)",
            )?;
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
        } else {
            None
        };
        let tower = UserTower::new(&config, &artifact.manifest.layout, device)
            .map_err(anyhow::Error::msg)?;
        let user_tower = artifact.weights(USER_TOWER, tower)?;
        Ok(Self {
            artifact,
            config,
            data,
            preprocessors,
            corpus,
            user_tower,
            items,
            index,
        })
    }
}
