//! What a finished retrieval run reports (the artifact's metrics too).

use std::path::PathBuf;

use ember_models::device::DeviceChoice;
use ember_models::metrics::RetrievalMetrics;
use serde::{Deserialize, Serialize};

/// Retrieval of cold items: the model against most-popular, which can
/// never rank an item without train positives above one with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColdItemMetrics {
    pub queries: usize,
    pub model: RetrievalMetrics,
    pub popular: RetrievalMetrics,
}

/// What a finished retrieval run reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetrievalSummary {
    pub name: String,
    pub model: String,
    pub device: DeviceChoice,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub valid: RetrievalMetrics,
    pub test: RetrievalMetrics,
    /// The most-popular baseline on the same queries.
    pub popular_valid: RetrievalMetrics,
    pub popular_test: RetrievalMetrics,
    /// Share of the exact top-K (largest K) of the test users that the ANN
    /// index returns, seen items not excluded; `None` for an unfinished run.
    pub index_recall: Option<f64>,
    /// The test queries whose item no training event names (released
    /// later, say): only the item tower's features can place it.
    #[serde(default)]
    pub cold_test: Option<ColdItemMetrics>,
    pub train_seconds: f64,
    pub train_samples_per_second: f64,
    pub artifact: PathBuf,
    pub finished: bool,
}
