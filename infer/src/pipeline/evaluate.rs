//! Offline evaluation of a pipeline on its catalog's test queries (each a
//! held-out positive; the user's train items are never recommended; on
//! ml100k the retrieval protocol of PROTOCOLS.md): Recall@K and NDCG@K
//! after every stage ([`evaluate_stages`]: each recall source alone, the
//! sources merged, + coarse, + fine), and beside the diversity metrics for
//! several re-rankers over the same ranked candidates
//! ([`evaluate_rerankers`]; recall and ranking run once per user).

use anyhow::{Result, bail};
use ember_models::metrics::RetrievalMetrics;
use serde::Serialize;

use super::{Pipeline, Ranked};
use crate::diversity::{self, DiversityMetrics};
use crate::rerank::RerankerConfig;

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

/// Recall@K and NDCG@K of the top `k` after one stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageResult {
    pub stage: String,
    pub recall: f64,
    pub ndcg: f64,
}

/// The first `max_users` test queries (all when `None`): (user, item) rows.
fn test_queries(pipeline: &Pipeline, max_users: Option<usize>) -> Result<Vec<(u32, u32)>> {
    let mut test = pipeline.catalog.test_queries();
    test.truncate(max_users.unwrap_or(test.len()));
    if test.is_empty() {
        bail!("no test queries");
    }
    Ok(test)
}

/// What each stage's top `k` is worth on the test queries, so every stage
/// can be seen to earn its place: each recall source alone, all sources
/// merged (reciprocal rank), then after the coarse and the fine ranker
/// (re-ranking: [`evaluate_rerankers`]).
pub fn evaluate_stages(
    pipeline: &Pipeline,
    k: usize,
    max_users: Option<usize>,
) -> Result<Vec<StageResult>> {
    let catalog = &pipeline.catalog;
    let test = test_queries(pipeline, max_users)?;
    let users: Vec<u32> = test.iter().map(|&(u, _)| u).collect();
    let mut names: Vec<String> = pipeline
        .recall
        .iter()
        .map(|s| format!("recall: {} alone", s.name()))
        .collect();
    names.push("recall: all sources (RRF)".to_owned());
    for (name, stage) in [("coarse", &pipeline.coarse), ("fine", &pipeline.fine)] {
        if stage.is_some() {
            names.push(format!("+ {name} ranker"));
        }
    }
    let mut lists: Vec<Vec<Vec<u32>>> = vec![Vec::with_capacity(users.len()); names.len()];
    let top = |rows: &[u32]| rows[..rows.len().min(k)].to_vec();
    for chunk in users.chunks(64) {
        for &u in chunk {
            let history = catalog.history(u);
            let mut seen = history.to_vec();
            seen.sort_unstable();
            seen.dedup();
            for (j, source) in pipeline.recall.iter().enumerate() {
                lists[j].push(top(&source.recall(catalog, u, history, &seen)?));
            }
        }
        let mut ranked = chunk
            .iter()
            .map(|&u| pipeline.recall_user(u))
            .collect::<Result<Vec<_>>>()?;
        let mut next = pipeline.recall.len();
        lists[next].extend(ranked.iter().map(|r| top(&r.rows)));
        for stage in [&pipeline.coarse, &pipeline.fine].into_iter().flatten() {
            let mut refs: Vec<&mut Ranked> = ranked.iter_mut().collect();
            pipeline.rank_stage(stage, &mut refs)?;
            next += 1;
            lists[next].extend(ranked.iter().map(|r| top(&r.rows)));
        }
    }
    let relevant: Vec<Vec<u32>> = test.iter().map(|&(_, t)| vec![t]).collect();
    Ok(names
        .into_iter()
        .zip(&lists)
        .map(|(stage, lists)| {
            let m = RetrievalMetrics::of(lists, &relevant, &[k]);
            let at = m.at_k(k).copied().unwrap_or_default();
            StageResult {
                stage,
                recall: at.recall,
                ndcg: at.ndcg,
            }
        })
        .collect())
}

/// The stage results as a markdown table.
pub fn stage_table(results: &[StageResult], k: usize) -> String {
    let mut out = format!("| stage | Recall@{k} | NDCG@{k} |\n|---|---|---|\n");
    for r in results {
        out.push_str(&format!(
            "| {} | {:.4} | {:.4} |\n",
            r.stage, r.recall, r.ndcg
        ));
    }
    out
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
    let test = test_queries(pipeline, max_users)?;
    let n = test.len();
    let users: Vec<u32> = test.iter().map(|&(u, _)| u).collect();
    let mut lists: Vec<Vec<Vec<u32>>> = vec![Vec::with_capacity(n); rerankers.len()];
    let mut rerank_seconds = vec![0f64; rerankers.len()];
    for chunk in users.chunks(64) {
        for ranked in pipeline.rank(chunk)? {
            for (j, (_, reranker)) in rerankers.iter().enumerate() {
                let t = std::time::Instant::now();
                let list: Vec<u32> = pipeline
                    .rerank(&ranked, reranker, k)?
                    .into_iter()
                    .map(|(row, _)| row)
                    .collect();
                rerank_seconds[j] += t.elapsed().as_secs_f64();
                lists[j].push(list);
            }
        }
    }
    let popularity = catalog.popularity();
    // The held-out positive is the one item the user "clicks".
    let diversity_of = |lists: &[Vec<u32>]| {
        let views: Vec<_> = lists
            .iter()
            .zip(&test)
            .map(|(list, &(user, target))| {
                let clicked = list.iter().map(|&r| r == target).collect();
                catalog.list_view(
                    Some(user),
                    list,
                    clicked,
                    &pipeline.item_vectors,
                    pipeline.item_dim,
                )
            })
            .collect();
        diversity::of_run(&views, &popularity)
    };
    let relevant: Vec<Vec<u32>> = test.iter().map(|&(_, t)| vec![t]).collect();
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
                diversity: diversity_of(&lists[j]),
                rerank_ms: rerank_seconds[j] * 1e3 / n as f64,
            }
        })
        .collect())
}

/// The results as a markdown table: accuracy, then every diversity metric
/// (defined in [`crate::diversity`]).
pub fn markdown_table(results: &[RerankerResult], k: usize) -> String {
    let (names, rule) = DiversityMetrics::markdown_columns();
    let mut out = format!(
        "| re-ranker | Recall@{k} | NDCG@{k} | {names} | re-rank ms/user |\n|---|---|---|{rule}---|\n"
    );
    for r in results {
        out.push_str(&format!(
            "| {} | {:.4} | {:.4} | {} | {:.3} |\n",
            r.name,
            r.recall,
            r.ndcg,
            r.diversity.markdown_cells(),
            r.rerank_ms
        ));
    }
    out
}
