//! Writing a trained two-tower model as a retrieval artifact (format and
//! loader: `ember_models::artifact::retrieval`).

use std::path::Path;

use anyhow::Result;
use ember_ann::{HnswIndex, VectorSet};
use ember_datasets::RetrievalData;
use ember_models::TwoTower;
use ember_models::artifact::retrieval::{
    CORPUS, Corpus, INDEX, ITEM_TOWER, ITEM_VECTORS, TowerPreprocessors, USER_TOWER,
};
use ember_models::artifact::{ArtifactWriter, Family, ManifestEntry};

use super::config::RetrievalRunConfig;
use super::summary::RetrievalSummary;

pub fn export_retrieval(
    dir: &Path,
    config: &RetrievalRunConfig,
    data: &RetrievalData,
    model: &TwoTower,
    items: &VectorSet,
    index: &HnswIndex,
    summary: &RetrievalSummary,
) -> Result<()> {
    let mut writer = ArtifactWriter::create(dir)?;
    writer.preprocessor(&TowerPreprocessors {
        user: data.user_preprocessor.clone(),
        item: data.item_preprocessor.clone(),
    })?;
    writer.weights(USER_TOWER, &model.user, true)?;
    writer.weights(ITEM_TOWER, &model.item, false)?;

    writer.bytes(INDEX, &index.to_bytes()?)?;
    writer.bytes(ITEM_VECTORS, &items.to_bytes())?;
    writer.json(
        CORPUS,
        &Corpus {
            item_ids: data.item_ids.clone(),
            item_counts: data.item_counts.clone(),
            item_layout: data.item_layout.clone(),
            dim: items.dim(),
            index: config.index,
        },
    )?;
    writer.run_config(config)?;
    writer.finish(ManifestEntry {
        family: Family::Retrieval,
        model: serde_json::to_value(&config.model)?,
        data: serde_json::to_value(&config.data)?,
        layout: data.user_layout.clone(),
        metrics: serde_json::to_value(summary)?,
        trained_on: summary.device.to_string(),
    })?;
    Ok(())
}
