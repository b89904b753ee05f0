//! Offline evaluation of a pipeline on the retrieval protocol's test users
//! (PROTOCOLS.md ml100k-retrieval: each user's last rating is the target,
//! their train items are never recommended): Recall@K and NDCG@K beside
//! the diversity metrics, for several re-rankers over the same ranked
//! candidates (recall and ranking run once per user).

use anyhow::{Result, bail};
use ember_models::metrics::RetrievalMetrics;
use serde::Serialize;

use super::Pipeline;
use crate::diversity::{DiversityMetrics, main_interests};
use crate::rerank::RerankerConfig;

/// How many main interests a user has (their most frequent genres).
pub const MAIN_INTERESTS: usize = 3;

/// One re-ranker's line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct RerankerResult {
    pub name: String,
    pub reranker: RerankerConfig,
    pub recall: f64,
    pub ndcg: f64,
    pub diversity: DiversityMetrics,
    /// Mean re-ranking time per user, milliseconds.
    pub rerank_ms: f64,
}

/// Evaluates every `(name, re-ranker)` on the first `max_users` test users
/// (all when `None`) at cut-off `k`.
pub fn evaluate_rerankers(
    pipeline: &Pipeline,
    rerankers: &[(String, RerankerConfig)],
    k: usize,
    max_users: Option<usize>,
) -> Result<Vec<RerankerResult>> {
    let catalog = &pipeline.catalog;
    let test = catalog.test_queries();
    let n = max_users.unwrap_or(test.len()).min(test.len());
    if n == 0 {
        bail!("no test queries");
    }
    let users: Vec<u32> = test[..n].iter().map(|&(u, _)| u).collect();
    let mut lists: Vec<Vec<Vec<u32>>> = vec![Vec::with_capacity(n); rerankers.len()];
    let mut diversity: Vec<Vec<DiversityMetrics>> = vec![Vec::with_capacity(n); rerankers.len()];
    let mut rerank_seconds = vec![0f64; rerankers.len()];
    let d = pipeline.item_dim;
    let vector = |row: u32| &pipeline.item_vectors[row as usize * d..(row as usize + 1) * d];
    for chunk in users.chunks(64) {
        for ranked in pipeline.rank(chunk)? {
            let history = catalog.history(ranked.user);
            let interests = main_interests(
                history.iter().map(|&r| catalog.categories.of(r as usize)),
                MAIN_INTERESTS,
            );
            for (j, (_, reranker)) in rerankers.iter().enumerate() {
                let t = std::time::Instant::now();
                let list: Vec<u32> = pipeline
                    .rerank(&ranked, reranker, k)?
                    .into_iter()
                    .map(|(row, _)| row)
                    .collect();
                rerank_seconds[j] += t.elapsed().as_secs_f64();
                let cats: Vec<&[u32]> = list
                    .iter()
                    .map(|&r| catalog.categories.of(r as usize))
                    .collect();
                let vecs: Vec<&[f32]> = list.iter().map(|&r| vector(r)).collect();
                diversity[j].push(DiversityMetrics::of_list(&cats, &vecs, &interests));
                lists[j].push(list);
            }
        }
    }
    let relevant: Vec<Vec<u32>> = test[..n].iter().map(|&(_, t)| vec![t]).collect();
    Ok(rerankers
        .iter()
        .enumerate()
        .map(|(j, (name, reranker))| {
            let m = RetrievalMetrics::of(&lists[j], &relevant, &[k]);
            let at = m.at_k(k).copied().unwrap_or_default();
            RerankerResult {
                name: name.clone(),
                reranker: reranker.clone(),
                recall: at.recall,
                ndcg: at.ndcg,
                diversity: DiversityMetrics::mean(&diversity[j]),
                rerank_ms: rerank_seconds[j] * 1e3 / n as f64,
            }
        })
        .collect())
}

/// The results as a markdown table.
pub fn markdown_table(results: &[RerankerResult], k: usize) -> String {
    let mut out = format!(
        "| re-ranker | Recall@{k} | NDCG@{k} | categories | entropy (bits) | ILD | interest coverage | in main interests | re-rank ms/user |\n|---|---|---|---|---|---|---|---|---|\n"
    );
    for r in results {
        let d = &r.diversity;
        out.push_str(&format!(
            "| {} | {:.4} | {:.4} | {:.2} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            r.name,
            r.recall,
            r.ndcg,
            d.categories,
            d.entropy,
            d.ild,
            d.interest_coverage,
            d.interest_fraction,
            r.rerank_ms
        ));
    }
    out
}
