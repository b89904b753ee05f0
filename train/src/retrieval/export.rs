//! Writing a trained two-tower model as a retrieval artifact:
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
//! The manifest goes last: its presence marks a complete artifact.

use std::path::Path;

use anyhow::{Context, Result};
use ember_ann::{HnswIndex, HnswParams, VectorSet, exact_top_k};
use ember_datasets::{FeatureLayout, RetrievalData};
use ember_models::TwoTower;
use ember_models::artifact::{
    FORMAT_VERSION, MANIFEST, Manifest, PREPROCESSOR, save_bpk, save_safetensors, schema_hash,
    write_atomic,
};
use serde::{Deserialize, Serialize};

use super::config::RetrievalRunConfig;
use super::trainer::RetrievalSummary;

pub const USER_TOWER: &str = "user_tower.bpk";
pub const USER_TOWER_SAFETENSORS: &str = "user_tower.safetensors";
pub const ITEM_TOWER: &str = "item_tower.bpk";
pub const CORPUS: &str = "retrieval.json";
pub const ITEM_VECTORS: &str = "item_vectors.bin";
pub const INDEX: &str = "index.hnsw";

/// `retrieval.json`: what maps vector rows back to items.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Corpus {
    /// Raw item id of each vector row.
    pub item_ids: Vec<u32>,
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
    pub user: ember_datasets::Preprocessor,
    pub item: ember_datasets::Preprocessor,
}

/// Share of `exact` top-`k` lists that the index finds.
fn index_recall(index: &HnswIndex, items: &VectorSet, users: &[f32], k: usize) -> Result<f64> {
    let d = items.dim();
    let (mut hits, mut total) = (0usize, 0usize);
    for q in users.chunks_exact(d) {
        let exact = exact_top_k(items, q, k, |_| false)?;
        let approx = index.search(q, k)?;
        hits += approx
            .iter()
            .filter(|a| exact.iter().any(|e| e.id == a.id))
            .count();
        total += exact.len();
    }
    Ok(hits as f64 / total.max(1) as f64)
}

pub fn export_retrieval(
    dir: &Path,
    config: &RetrievalRunConfig,
    data: &RetrievalData,
    model: &TwoTower,
    items: VectorSet,
    test_user_vectors: &[f32],
    summary: &mut RetrievalSummary,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let preprocessors = TowerPreprocessors {
        user: data.user_preprocessor.clone(),
        item: data.item_preprocessor.clone(),
    };
    let preprocessor = serde_json::to_string(&preprocessors)?;
    write_atomic(&dir.join(PREPROCESSOR), preprocessor.as_bytes())?;
    save_bpk(&model.user, &dir.join(USER_TOWER))?;
    save_safetensors(&model.user, &dir.join(USER_TOWER_SAFETENSORS))?;
    save_bpk(&model.item, &dir.join(ITEM_TOWER))?;

    let index = HnswIndex::build(&items, config.index, None);
    let k = config.train.ks.iter().copied().max().unwrap_or(10);
    summary.index_recall = Some(index_recall(&index, &items, test_user_vectors, k)?);
    write_atomic(&dir.join(INDEX), &index.to_bytes()?)?;
    write_atomic(&dir.join(ITEM_VECTORS), &items.to_bytes())?;
    let corpus = Corpus {
        item_ids: data.item_ids.clone(),
        item_counts: data.item_counts.clone(),
        item_layout: data.item_layout.clone(),
        dim: items.dim(),
        index: config.index,
    };
    write_atomic(
        &dir.join(CORPUS),
        serde_json::to_string(&corpus)?.as_bytes(),
    )?;
    write_atomic(
        &dir.join("config.toml"),
        toml::to_string_pretty(config)?.as_bytes(),
    )?;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        family: "retrieval".into(),
        model: serde_json::to_value(&config.model)?,
        data: serde_json::to_value(&config.data)?,
        layout: data.user_layout.clone(),
        schema_hash: schema_hash(&preprocessor),
        metrics: serde_json::to_value(&*summary)?,
        created_by: format!("ember {}", env!("CARGO_PKG_VERSION")),
        trained_on: summary.device.to_string(),
    };
    write_atomic(
        &dir.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
    )?;
    Ok(())
}
