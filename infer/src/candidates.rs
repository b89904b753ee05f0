//! What the recall stage hands the rankers, written down for training:
//! every user's top-N unseen items from a two-tower model, as a CSV of
//! `user,item,rank`. A ranker source reads it as hard negatives
//! (`hard_negatives` of `interaction-log` and `ml100k-implicit`), so the
//! rankers learn to order the candidates they will be given, not only to
//! tell a positive from a random item (the two are different questions: on
//! ml100k a ranker trained on random negatives cut the pipeline's
//! Recall@10 below its recall stage's).

use std::path::Path;

use anyhow::{Context, Result};

use crate::features::Catalog;
use crate::{Retriever, SearchMode};

/// Writes the top `top` unseen items of every user of `catalog` that has
/// train positives (exact search: the file is training data, not a latency
/// path). Returns the number of users written.
pub fn write_candidates(
    retriever: &Retriever,
    catalog: &Catalog,
    top: usize,
    path: &Path,
) -> Result<usize> {
    if retriever.corpus.item_ids != catalog.log().items.ids.ids() {
        anyhow::bail!(
            "{}: its item corpus is not the log's item table",
            retriever.dir.display()
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Written whole to a temporary file and renamed: a killed run leaves
    // no half-written candidates behind.
    let tmp = path.with_extension("csv.tmp");
    let mut out =
        csv::Writer::from_path(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    out.write_record(["user", "item", "rank"])?;
    let mut users = 0;
    for user in 0..catalog.log().users.len() as u32 {
        let history = catalog.history(user);
        if history.is_empty() {
            continue;
        }
        let mut seen = history.to_vec();
        seen.sort_unstable();
        seen.dedup();
        let query = retriever.encode(&catalog.query_table(user)?)?;
        let vector = retriever.user_vectors(&query);
        let id = catalog.user_id(user);
        for (rank, found) in retriever
            .search(&vector, top, &seen, SearchMode::Exact)?
            .iter()
            .enumerate()
        {
            out.write_record([id, found.item.as_str(), &(rank + 1).to_string()])?;
        }
        users += 1;
    }
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(users)
}
