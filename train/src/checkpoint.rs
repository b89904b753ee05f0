//! Per-epoch checkpoints that survive a crash at any point.
//!
//! A checkpoint is a directory (`model.bpk`, `optimizer.bpk`, `state.json`,
//! and with row-sparse embeddings `row_sparse.bpk` + `row_sparse_tables.json`)
//! written under a temporary name and swapped in with renames, so there is
//! always one complete checkpoint on disk: `checkpoint/`, or during the swap
//! `checkpoint.old/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::Device;
use ember_models::artifact::{load_bpk, save_bpk, write_atomic};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::row_sparse::RowSparseOptimizer;

/// The row-sparse optimizer's state and the module paths of its tables.
const ROW_SPARSE_BPK: &str = "row_sparse.bpk";
const ROW_SPARSE_TABLES: &str = "row_sparse_tables.json";

/// The optimizers a run trains with, as the checkpoint saves them.
pub struct Optimizers<'a> {
    pub dense: &'a mut ModuleOptimizer,
    pub row_sparse: Option<&'a mut RowSparseOptimizer>,
}

impl<'a> Optimizers<'a> {
    /// A run whose every parameter gets a dense gradient.
    pub fn dense(optimizer: &'a mut ModuleOptimizer) -> Self {
        Self {
            dense: optimizer,
            row_sparse: None,
        }
    }
}

pub struct Checkpoint {
    dir: PathBuf,
}

impl Checkpoint {
    pub fn new(run_dir: &Path) -> Self {
        Self {
            dir: run_dir.join("checkpoint"),
        }
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.dir.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        self.dir.with_file_name(name)
    }

    /// Saves weights, optimizers and the loop's state.
    pub fn save<M: Module, S: Serialize>(
        &self,
        model: &M,
        optimizers: Optimizers<'_>,
        state: &S,
    ) -> Result<()> {
        let tmp = self.sibling(".tmp");
        let old = self.sibling(".old");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        save_bpk(model, &tmp.join("model.bpk"))?;
        let bytes = optimizers
            .dense
            .into_bytes()
            .map_err(|e| anyhow::anyhow!("serialising optimizer state: {e:?}"))?;
        write_atomic(&tmp.join("optimizer.bpk"), &bytes)?;
        if let Some(sparse) = optimizers.row_sparse {
            let (record, names) = sparse.record(model);
            save_bpk(&record, &tmp.join(ROW_SPARSE_BPK))?;
            write_atomic(
                &tmp.join(ROW_SPARSE_TABLES),
                serde_json::to_string_pretty(&names)?.as_bytes(),
            )?;
        }
        write_atomic(
            &tmp.join("state.json"),
            serde_json::to_string_pretty(state)?.as_bytes(),
        )?;
        if old.exists() {
            std::fs::remove_dir_all(&old)?;
        }
        if self.dir.exists() {
            std::fs::rename(&self.dir, &old)?;
        }
        std::fs::rename(&tmp, &self.dir)
            .with_context(|| format!("installing checkpoint {}", self.dir.display()))?;
        if old.exists() {
            std::fs::remove_dir_all(&old)?;
        }
        Ok(())
    }

    /// The newest complete checkpoint directory, if any.
    fn latest(&self) -> Option<PathBuf> {
        [self.dir.clone(), self.sibling(".old")]
            .into_iter()
            .find(|d| d.join("state.json").exists())
    }

    pub fn exists(&self) -> bool {
        self.latest().is_some()
    }

    /// The epochs the newest checkpoint completed, if there is a readable one.
    pub fn epochs_done(&self) -> Option<usize> {
        let text = std::fs::read_to_string(self.latest()?.join("state.json")).ok()?;
        let state: serde_json::Value = serde_json::from_str(&text).ok()?;
        state.get("epochs_done")?.as_u64().map(|e| e as usize)
    }

    /// Loads the newest checkpoint into `model` and the optimizers.
    pub fn load<M: Module, S: DeserializeOwned>(
        &self,
        model: M,
        optimizers: Optimizers<'_>,
        device: &Device,
    ) -> Result<(M, S)> {
        let dir = self
            .latest()
            .with_context(|| format!("no checkpoint under {}", self.dir.display()))?;
        let state_path = dir.join("state.json");
        let state: S = serde_json::from_str(
            &std::fs::read_to_string(&state_path)
                .with_context(|| format!("reading {}", state_path.display()))?,
        )
        .with_context(|| format!("{}: corrupt checkpoint state", state_path.display()))?;
        let model = load_bpk(model, &dir.join("model.bpk"))?;
        let optimizer_path = dir.join("optimizer.bpk");
        // Burn's optimizer loads by value; a throw-away Adam holds its place meanwhile.
        let dense = std::mem::replace(optimizers.dense, AdamConfig::new().init());
        *optimizers.dense = dense
            .load(&optimizer_path)
            .map_err(|e| anyhow::anyhow!("{}: {e:?}", optimizer_path.display()))?;
        if let Some(sparse) = optimizers.row_sparse {
            let names_path = dir.join(ROW_SPARSE_TABLES);
            let names: Vec<String> = serde_json::from_str(
                &std::fs::read_to_string(&names_path).with_context(|| {
                    format!(
                        "{}: the checkpoint has no row-sparse optimizer state (was it trained with dense embeddings?)",
                        names_path.display()
                    )
                })?,
            )
            .with_context(|| format!("{}: corrupt table list", names_path.display()))?;
            let record = RowSparseOptimizer::empty_record(&model, &names, device)?;
            let record = load_bpk(record, &dir.join(ROW_SPARSE_BPK))?;
            sparse.restore(&model, record, &names, device)?;
        }
        Ok((model, state))
    }
}
