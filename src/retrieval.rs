//! The CLI's retrieval commands: training a two-tower run and `ember retrieve`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ember_datasets::load_retrieval;
use ember_infer::{Retriever, SearchMode};
use ember_models::device::DeviceChoice;
use ember_train::FitOptions;
use ember_train::retrieval::{RetrievalRunConfig, fit_retrieval};

/// Trains a two-tower run; returns its summary as JSON.
pub fn train(config: &RetrievalRunConfig, options: &FitOptions) -> Result<String> {
    let data = load_retrieval(&config.data)?;
    let result = fit_retrieval(config, &data, options)?;
    println!(
        "{} two_tower: best epoch {} | valid {} | test {} | most-popular test {} | ANN recall vs exact {} | {:.1}s | artifact {}",
        result.name,
        result.best_epoch,
        result.valid,
        result.test,
        result.popular_test,
        result
            .index_recall
            .map_or("n/a".to_owned(), |r| format!("{r:.4}")),
        result.train_seconds,
        result.artifact.display()
    );
    if let Some(cold) = &result.cold_test {
        println!(
            "cold items ({} test queries whose item has no train positive): model {} | most-popular {}",
            cold.queries, cold.model, cold.popular
        );
    }
    Ok(serde_json::to_string_pretty(&result)?)
}

/// Parses `--history 12,7,300` (item ids, oldest first; empty = no history).
pub fn parse_history(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn retrieve(
    model: &Path,
    user: &str,
    history: Option<&str>,
    k: usize,
    exact: bool,
    device: DeviceChoice,
) -> Result<()> {
    let mode = if exact {
        SearchMode::Exact
    } else {
        SearchMode::Ann
    };
    let retriever = Retriever::load(model, device, mode)?;
    // User profiles and train histories come from the data the model was
    // trained on, as `ember eval` reads its test split.
    let data = load_retrieval(&retriever.data_config)?;
    let history = match history {
        Some(text) => data.item_rows(&parse_history(text)).context("--history")?,
        None => match data.train_history(user) {
            Some(h) => h.to_vec(),
            None => bail!(
                "user '{user}' is not in the training data; pass --history ITEM,ITEM,... to retrieve for a new user"
            ),
        },
    };
    let raw = data.query_table(user, &history)?;
    let ids: Vec<String> = history
        .iter()
        .map(|&r| data.item_ids[r as usize].clone())
        .collect();
    let found = retriever.retrieve(&raw, &ids, k, mode)?;
    println!("rank\titem\tscore");
    for (rank, r) in found.iter().enumerate() {
        println!("{}\t{}\t{:.4}", rank + 1, r.item, r.score);
    }
    Ok(())
}

/// `ember candidates`: every user's top `top` unseen items from a two-tower
/// model, the hard negatives a ranker source reads (`hard_negatives`).
pub fn candidates(model: &Path, top: usize, out: &Path, device: DeviceChoice) -> Result<()> {
    use ember_datasets::FieldKind;
    use ember_datasets::interactions::HISTORY;
    let retriever = Retriever::load(model, device, SearchMode::Exact)?;
    // The history length the user tower was trained with.
    let history_len = retriever
        .preprocessors
        .user
        .schema
        .fields
        .iter()
        .find_map(|f| match (&f.kind, f.name == HISTORY) {
            (FieldKind::Sequence { max_len, .. }, true) => Some(*max_len),
            _ => None,
        })
        .context("the user tower has no history field")?;
    let catalog = ember_infer::features::Catalog::load(&retriever.data_config, history_len)?;
    let users = ember_infer::candidates::write_candidates(&retriever, &catalog, top, out)?;
    println!("wrote {} ({users} users, top {top} each)", out.display());
    Ok(())
}
