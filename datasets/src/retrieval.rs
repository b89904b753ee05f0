//! Two-tower retrieval data from an interaction log (PROTOCOLS.md,
//! ml100k-retrieval, is its MovieLens preset): users with side features and
//! behaviour histories, the item table as the corpus, every positive event
//! an example.
//!
//! Two schemas, one per tower, each with its own fitted [`Preprocessor`]:
//! - user tower: `user_id`, the user table's fields, and `history`, the
//!   user's earlier positives, most recent first, at most `history_len`;
//! - item tower: `item_id`, the item table's fields, and `vector` when the
//!   log has content vectors (so an item no training event names, whose id
//!   is out of vocabulary, is still placed by what it is).
//!
//! A training example is one train positive; its history is the user's
//! train positives *before* it (so the target never leaks into its own
//! input). A validation or test query is one held-out positive; its history
//! is the user's whole train history, and their train items are excluded
//! from the ranking (a held-out item the user already had in training is
//! no query: it could never be recommended).

use crate::encoded::{EncodedData, FeatureLayout};
use crate::error::{DataError, Result};
use crate::interactions::{HISTORY, ITEM_ID, Interactions, LogDataset, USER_ID, VECTOR};
use crate::preprocess::Preprocessor;
use crate::raw::{RawColumn, RawTable};
use crate::readers::columns::ColumnsBuilder;
use crate::registry::DataConfig;
use crate::schema::{FieldSpec, Schema};

/// The user-tower schema: the id, the user table's fields, the history.
pub fn user_schema(log: &Interactions, history_len: usize) -> Schema {
    let mut fields = vec![FieldSpec::categorical(USER_ID)];
    fields.extend(log.users.fields.iter().cloned());
    fields.push(FieldSpec::sequence(HISTORY, history_len));
    Schema {
        fields,
        labels: Vec::new(),
        group_by: None,
        regression_labels: Vec::new(),
    }
}

/// The item-tower schema: the id, the item table's fields, and the content
/// vector if the log has one.
pub fn item_schema(log: &Interactions) -> Schema {
    let mut schema = item_side_schema(log);
    if let Some(v) = &log.item_vectors {
        schema.fields.push(FieldSpec::dense(VECTOR, v.dim));
    }
    schema
}

fn item_side_schema(log: &Interactions) -> Schema {
    let mut fields = vec![FieldSpec::categorical(ITEM_ID)];
    fields.extend(log.items.fields.iter().cloned());
    Schema {
        fields,
        labels: Vec::new(),
        group_by: None,
        regression_labels: Vec::new(),
    }
}

/// Held-out positives: one query each.
#[derive(Debug, Clone, Default)]
pub struct EvalSplit {
    /// User-tower rows, one per query.
    pub queries: EncodedData,
    /// User row of each query.
    pub users: Vec<u32>,
    /// Corpus row of each query's held-out item.
    pub targets: Vec<u32>,
    /// Corpus rows of each query user's train items, sorted: excluded from ranking.
    pub seen: Vec<Vec<u32>>,
}

impl EvalSplit {
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The queries `keep` (indices), in that order.
    pub fn subset(&self, keep: &[usize]) -> Self {
        Self {
            queries: self.queries.take(keep),
            users: keep.iter().map(|&q| self.users[q]).collect(),
            targets: keep.iter().map(|&q| self.targets[q]).collect(),
            seen: keep.iter().map(|&q| self.seen[q].clone()).collect(),
        }
    }
}

/// Everything a two-tower run needs, encoded. Corpus rows are item-table
/// rows.
#[derive(Debug, Clone)]
pub struct RetrievalData {
    pub user_preprocessor: Preprocessor,
    pub item_preprocessor: Preprocessor,
    pub user_layout: FeatureLayout,
    pub item_layout: FeatureLayout,
    /// Item-tower rows, one per corpus item.
    pub items: EncodedData,
    /// The id of each corpus row.
    pub item_ids: Vec<String>,
    /// Train positives per corpus row: the logQ correction and the
    /// most-popular baseline.
    pub item_counts: Vec<u64>,
    /// User-tower rows of the training examples.
    pub train: EncodedData,
    /// Corpus row of each training example's positive.
    pub train_items: Vec<u32>,
    pub valid: EvalSplit,
    pub test: EvalSplit,
    /// The log and split it was built from (histories, side tables).
    pub dataset: LogDataset,
    history_len: usize,
    pub description: String,
}

/// Loads a retrieval source (any source that is an interaction log).
pub fn load_retrieval(config: &DataConfig) -> Result<RetrievalData> {
    let dataset = config.log_dataset().ok_or_else(|| {
        DataError::Invalid(format!(
            "'{}' is a ranking source; a two-tower model trains on an interaction log (interaction-log, ml100k-retrieval)",
            config.source_name()
        ))
    })??;
    let history_len = dataset.history_len;
    let mut data = RetrievalData::new(dataset)?;
    data.description = format!(
        "{}: {} train examples, {} valid and {} test queries, {} items; history up to {}",
        config.source_name(),
        data.train.num_rows,
        data.valid.len(),
        data.test.len(),
        data.item_ids.len(),
        history_len
    );
    tracing::info!("{}", data.description);
    Ok(data)
}

/// The queries of held-out positive `events`: (user row, item row), by
/// user then time, leaving out an item the user already had in training
/// (their train items are never recommended, so it could not be hit).
pub fn held_out(dataset: &LogDataset, events: &[usize]) -> Vec<(u32, u32)> {
    let (ev, split) = (&dataset.log.events, &dataset.split);
    let mut ordered: Vec<usize> = events
        .iter()
        .copied()
        .filter(|&e| !split.histories[ev.user[e] as usize].contains(&ev.item[e]))
        .collect();
    ordered.sort_by_key(|&e| (ev.user[e], ev.time[e]));
    ordered
        .into_iter()
        .map(|e| (ev.user[e], ev.item[e]))
        .collect()
}

/// One user-tower row as a raw table: a user the log knows or not (an
/// unknown one gets empty, hence OOV, side features), and a history of
/// corpus rows, oldest first, of which the last `history_len` are kept.
/// Encode it with the user preprocessor (a [`RetrievalData`]'s or an
/// artifact's).
pub fn query_table(
    dataset: &LogDataset,
    user: &str,
    history: &[u32],
    history_len: usize,
) -> Result<RawTable> {
    let log = &dataset.log;
    let schema = user_schema(log, history_len);
    let mut rows = UserRows::new(log, &schema);
    let mut cell = Vec::new();
    dataset.history_cell(history, history_len, &mut cell);
    rows.push(log.users.ids.row(user), user.as_bytes(), &cell)?;
    rows.finish()
}

/// Builds user-tower rows: (user row or `None` for a user the log does not
/// know, the id text, the history cell).
struct UserRows<'a> {
    log: &'a Interactions,
    builder: ColumnsBuilder<'a>,
}

impl<'a> UserRows<'a> {
    fn new(log: &'a Interactions, schema: &'a Schema) -> Self {
        Self {
            log,
            builder: ColumnsBuilder::new(schema),
        }
    }

    fn push(&mut self, user: Option<u32>, id: &[u8], history: &[u8]) -> Result<()> {
        let users = &self.log.users;
        let last = users.fields.len() + 1;
        let cell = |f: usize| -> Option<&[u8]> {
            Some(match f {
                0 => id,
                f if f == last => history,
                f => user.map_or(&b""[..], |u| users.cell(f - 1, u)),
            })
        };
        self.builder
            .push_row(cell, |_| None, None)
            .map_err(|(field, m)| DataError::malformed(&self.log.name, None, Some(&field), m))
    }

    fn finish(self) -> Result<RawTable> {
        self.builder.finish(self.log.name.as_ref(), 0)
    }
}

/// Item-tower rows for the given item rows.
fn item_table(log: &Interactions, rows: &[u32]) -> Result<RawTable> {
    let schema = item_side_schema(log);
    let mut builder = ColumnsBuilder::new(&schema);
    for &row in rows {
        let cell = |f: usize| -> Option<&[u8]> {
            Some(match f {
                0 => log.items.ids.id(row).as_bytes(),
                f => log.items.cell(f - 1, row),
            })
        };
        builder
            .push_row(cell, |_| None, None)
            .map_err(|(field, m)| {
                DataError::malformed(
                    &log.name,
                    None,
                    Some(&field),
                    format!("item '{}': {m}", log.items.ids.id(row)),
                )
            })?;
    }
    let mut table = builder.finish(log.name.as_ref(), 0)?;
    if let Some(v) = &log.item_vectors {
        let mut values = Vec::with_capacity(rows.len() * v.dim);
        for &row in rows {
            values.extend_from_slice(v.of(row));
        }
        table
            .columns
            .push(RawColumn::Vectors { dim: v.dim, values });
    }
    Ok(table)
}

impl RetrievalData {
    /// Builds every split of `dataset`, histories of up to its `history_len`.
    pub fn new(dataset: LogDataset) -> Result<Self> {
        let history_len = dataset.history_len;
        if history_len == 0 {
            return Err(DataError::Invalid(
                "history_len must be at least 1".to_owned(),
            ));
        }
        let (log, split) = (&dataset.log, &dataset.split);
        let user_schema = user_schema(log, history_len);
        let mut train_rows = UserRows::new(log, &user_schema);
        let mut train_items = Vec::with_capacity(split.train.len());
        let mut cell = Vec::new();
        // Examples user by user, each user's in time order.
        for (u, history) in split.histories.iter().enumerate() {
            let id = log.users.ids.id(u as u32).as_bytes();
            for (j, &item) in history.iter().enumerate() {
                dataset.history_cell(&history[..j], history_len, &mut cell);
                train_rows.push(Some(u as u32), id, &cell)?;
                train_items.push(item);
            }
        }
        let train_raw = train_rows.finish()?;
        let user_preprocessor = Preprocessor::fit(&user_schema, &train_raw)?;
        let item_preprocessor =
            Preprocessor::fit(&item_schema(log), &item_table(log, &train_items)?)?;
        let item_counts = {
            let mut counts = vec![0u64; log.items.len()];
            for &r in &train_items {
                counts[r as usize] += 1;
            }
            counts
        };

        let mut eval_split = |events: &[usize]| -> Result<EvalSplit> {
            let mut queries = UserRows::new(log, &user_schema);
            let mut out = EvalSplit::default();
            for (u, item) in held_out(&dataset, events) {
                let history = &split.histories[u as usize];
                dataset.history_cell(history, history_len, &mut cell);
                queries.push(Some(u), log.users.ids.id(u).as_bytes(), &cell)?;
                let mut seen = history.clone();
                seen.sort_unstable();
                seen.dedup();
                out.users.push(u);
                out.targets.push(item);
                out.seen.push(seen);
            }
            if !out.users.is_empty() {
                out.queries = user_preprocessor.transform(&queries.finish()?)?;
            }
            Ok(out)
        };
        let valid = eval_split(&split.valid)?;
        let test = eval_split(&split.test)?;
        let all_items: Vec<u32> = (0..log.items.len() as u32).collect();

        Ok(Self {
            user_layout: user_preprocessor.layout(),
            item_layout: item_preprocessor.layout(),
            items: item_preprocessor.transform(&item_table(log, &all_items)?)?,
            train: user_preprocessor.transform(&train_raw)?,
            item_ids: log.items.ids.ids().to_vec(),
            user_preprocessor,
            item_preprocessor,
            item_counts,
            train_items,
            valid,
            test,
            history_len,
            description: String::new(),
            dataset,
        })
    }

    /// Corpus row of an item id.
    pub fn item_row(&self, item: &str) -> Option<u32> {
        self.dataset.log.items.ids.row(item)
    }

    /// The id of a user row.
    pub fn user_id(&self, row: u32) -> &str {
        self.dataset.log.users.ids.id(row)
    }

    /// User row of a user id the log knows.
    pub fn user_row(&self, user: &str) -> Option<u32> {
        self.dataset.log.users.ids.row(user)
    }

    /// [`query_table`] with this data's log and history length.
    pub fn query_table(&self, user: &str, history: &[u32]) -> Result<RawTable> {
        query_table(&self.dataset, user, history, self.history_len)
    }

    /// The corpus rows of item ids; an id not in the corpus is an error naming it.
    pub fn item_rows(&self, items: &[String]) -> Result<Vec<u32>> {
        items
            .iter()
            .map(|i| {
                self.item_row(i).ok_or_else(|| {
                    DataError::Invalid(format!(
                        "item '{i}' is not in the item corpus ({} items)",
                        self.item_ids.len()
                    ))
                })
            })
            .collect()
    }

    /// [`RetrievalData::query_table`] encoded with this data's preprocessor.
    pub fn encode_query(&self, user: &str, history: &[u32]) -> Result<EncodedData> {
        self.user_preprocessor
            .transform(&self.query_table(user, history)?)
    }

    /// A user's train history (corpus rows, oldest first); `None` for a
    /// user the log does not know.
    pub fn train_history(&self, user: &str) -> Option<&[u32]> {
        self.user_row(user)
            .map(|u| self.dataset.split.histories[u as usize].as_slice())
    }

    /// What `ember datasets` prints about it.
    pub fn describe(&self) -> String {
        let mut text = format!("{}\nuser tower fields:\n", self.description);
        let fields = |layout: &FeatureLayout, text: &mut String| {
            for (f, card) in &layout.categorical {
                text.push_str(&format!("  {f:<12} categorical, {card} ids (incl. OOV)\n"));
            }
            for (f, card, len) in &layout.sequences {
                text.push_str(&format!(
                    "  {f:<12} sequence, {card} ids, max length {len}\n"
                ));
            }
            for (f, dim) in &layout.dense {
                text.push_str(&format!("  {f:<12} dense vector, dimension {dim}\n"));
            }
        };
        fields(&self.user_layout, &mut text);
        text.push_str("item tower fields:\n");
        fields(&self.item_layout, &mut text);
        text.push_str(&format!(
            "items with train positives: {} of {}",
            self.item_counts.iter().filter(|&&c| c > 0).count(),
            self.item_ids.len()
        ));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::shared_data_dir;
    use crate::sources::Ml100kRetrieval;

    #[test]
    fn ml100k_retrieval_follows_the_protocol() {
        let Some(root) = shared_data_dir() else {
            return;
        };
        let config = DataConfig::Ml100kRetrieval(Ml100kRetrieval {
            root,
            history_len: 50,
        });
        let d = load_retrieval(&config).unwrap();
        assert_eq!(d.item_ids.len(), 1682);
        assert_eq!((d.valid.len(), d.test.len()), (943, 943));
        assert_eq!(d.train.num_rows + 2 * 943, 100_000);
        assert_eq!(d.train_items.len(), d.train.num_rows);
        assert_eq!(d.item_counts.iter().sum::<u64>() as usize, d.train.num_rows);
        assert_eq!(d.items.num_rows, 1682);
        // Histories hold at most 50 items; a user's first example has none.
        let h = &d.train.sequences[0];
        assert_eq!(h.max_len, 50);
        assert_eq!(h.lengths[0], 0);
        assert!(h.lengths.iter().all(|&l| l <= 50));
        // Test queries carry the whole train history (capped) and exclude it.
        for q in 0..d.test.len() {
            let seen = &d.test.seen[q];
            assert_eq!(
                d.test.queries.sequences[0].lengths[q] as usize,
                d.dataset.split.histories[d.test.users[q] as usize]
                    .len()
                    .min(50)
            );
            assert!(seen.windows(2).all(|w| w[0] < w[1]));
        }
        // The encoded query of a known user equals the test split's row.
        let u = d.dataset.log.users.ids.id(d.test.users[3]);
        let q = d.encode_query(u, d.train_history(u).unwrap()).unwrap();
        assert_eq!(q.categorical, d.test.queries.take(&[3]).categorical);
        assert_eq!(
            q.sequences[0].ids,
            d.test.queries.take(&[3]).sequences[0].ids
        );
        // Unknown users get OOV side features; unknown items are an error.
        let q = d.encode_query("999999", &[1, 2]).unwrap();
        assert!(q.categorical.iter().all(|&id| id == 0));
        let err = d
            .item_rows(&["1".into(), "123456".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("123456"), "{err}");
        // Rows follow the files' ascending ids.
        assert_eq!(
            (d.item_ids[0].as_str(), d.item_row("1682")),
            ("1", Some(1681))
        );
        assert!(load_retrieval(&crate::sources::FrappeCtr { root: "/x".into() }.into()).is_err());
    }
}
