//! Recall sources: each proposes up to its quota of corpus rows the user
//! has not seen, best first.
//!
//! - `two_tower`: the user tower's vector searched in the item vectors
//!   (HNSW index, or an exact scan with `exact = true`);
//! - `most_popular`: train interaction counts;
//! - `co_occurrence`: items that appear near the user's most recent items
//!   in other users' histories (within `window` positions), built from the
//!   catalog's train histories when the pipeline loads.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Result, bail};
use ember_models::device::DeviceChoice;
use serde::{Deserialize, Serialize};

use crate::features::Catalog;
use crate::{Retriever, SearchMode};

fn default_window() -> usize {
    5
}
fn default_recent() -> usize {
    10
}
fn default_neighbours() -> usize {
    100
}

/// One `[[recall]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RecallConfig {
    TwoTower {
        artifact: PathBuf,
        quota: usize,
        #[serde(default)]
        exact: bool,
    },
    MostPopular {
        quota: usize,
    },
    CoOccurrence {
        quota: usize,
        /// Items at most this many positions apart in a history co-occur.
        #[serde(default = "default_window")]
        window: usize,
        /// The user's most recent items that seed the recall.
        #[serde(default = "default_recent")]
        recent: usize,
        /// Neighbours kept per item.
        #[serde(default = "default_neighbours")]
        neighbours: usize,
    },
}

impl RecallConfig {
    pub fn quota(&self) -> usize {
        match self {
            RecallConfig::TwoTower { quota, .. }
            | RecallConfig::MostPopular { quota }
            | RecallConfig::CoOccurrence { quota, .. } => *quota,
        }
    }
}

/// A loaded recall source.
pub enum RecallSource {
    TwoTower {
        retriever: Box<Retriever>,
        mode: SearchMode,
        quota: usize,
    },
    /// Corpus rows by descending train count.
    MostPopular { order: Vec<u32>, quota: usize },
    CoOccurrence {
        /// Per corpus row: (neighbour row, count), by descending count.
        neighbours: Vec<Vec<(u32, u32)>>,
        recent: usize,
        quota: usize,
    },
}

impl RecallSource {
    pub fn load(config: &RecallConfig, catalog: &Catalog, device: DeviceChoice) -> Result<Self> {
        if config.quota() == 0 {
            bail!("recall: quota 0 (a source must propose at least one item)");
        }
        Ok(match config {
            RecallConfig::TwoTower {
                artifact,
                quota,
                exact,
            } => {
                let mode = if *exact {
                    SearchMode::Exact
                } else {
                    SearchMode::Ann
                };
                let retriever = Retriever::load(artifact, device, mode)?;
                if retriever.corpus.item_ids != catalog.log().items.ids.ids() {
                    bail!(
                        "{}: its item corpus ({} items) is not the catalog's ({} items)",
                        artifact.display(),
                        retriever.corpus.item_ids.len(),
                        catalog.num_items()
                    );
                }
                RecallSource::TwoTower {
                    retriever: Box::new(retriever),
                    mode,
                    quota: *quota,
                }
            }
            RecallConfig::MostPopular { quota } => {
                let counts = catalog.item_counts();
                let mut order: Vec<u32> = (0..counts.len() as u32).collect();
                order.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
                RecallSource::MostPopular {
                    order,
                    quota: *quota,
                }
            }
            RecallConfig::CoOccurrence {
                quota,
                window,
                recent,
                neighbours,
            } => {
                if *window == 0 || *recent == 0 {
                    bail!("recall co_occurrence: window and recent must be ≥ 1");
                }
                RecallSource::CoOccurrence {
                    neighbours: co_occurrence(catalog, *window, *neighbours),
                    recent: *recent,
                    quota: *quota,
                }
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            RecallSource::TwoTower { .. } => "two_tower",
            RecallSource::MostPopular { .. } => "most_popular",
            RecallSource::CoOccurrence { .. } => "co_occurrence",
        }
    }

    /// Up to `quota` unseen item rows for the user row `user`, best first.
    /// `history` is the user's history (item rows, oldest first), `seen`
    /// the same rows sorted.
    pub fn recall(
        &self,
        catalog: &Catalog,
        user: u32,
        history: &[u32],
        seen: &[u32],
    ) -> Result<Vec<u32>> {
        let unseen = |row: &u32| seen.binary_search(row).is_err();
        Ok(match self {
            RecallSource::TwoTower {
                retriever,
                mode,
                quota,
            } => {
                let encoded = retriever.encode(&catalog.query_table(user)?)?;
                let vector = retriever.user_vectors(&encoded);
                // The corpus is the catalog's item table (checked at load).
                retriever
                    .search(&vector, *quota, seen, *mode)?
                    .into_iter()
                    .map(|r| r.row)
                    .collect()
            }
            RecallSource::MostPopular { order, quota } => {
                order.iter().copied().filter(unseen).take(*quota).collect()
            }
            RecallSource::CoOccurrence {
                neighbours,
                recent,
                quota,
            } => {
                let mut votes: HashMap<u32, u32> = HashMap::new();
                for &item in history.iter().rev().take(*recent) {
                    for &(other, count) in &neighbours[item as usize] {
                        *votes.entry(other).or_default() += count;
                    }
                }
                let mut ranked: Vec<(u32, u32)> =
                    votes.into_iter().filter(|(r, _)| unseen(r)).collect();
                ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                ranked.truncate(*quota);
                ranked.into_iter().map(|(r, _)| r).collect()
            }
        })
    }
}

/// Counts, over every train history, the pairs of items at most `window`
/// positions apart; keeps each item's `keep` most frequent partners.
fn co_occurrence(catalog: &Catalog, window: usize, keep: usize) -> Vec<Vec<(u32, u32)>> {
    let mut counts: Vec<HashMap<u32, u32>> = vec![HashMap::new(); catalog.num_items()];
    for history in catalog.histories() {
        for (i, &a) in history.iter().enumerate() {
            for &b in &history[i + 1..(i + 1 + window).min(history.len())] {
                if a != b {
                    *counts[a as usize].entry(b).or_default() += 1;
                    *counts[b as usize].entry(a).or_default() += 1;
                }
            }
        }
    }
    counts
        .into_iter()
        .map(|partners| {
            let mut list: Vec<(u32, u32)> = partners.into_iter().collect();
            list.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            list.truncate(keep);
            list
        })
        .collect()
}
