//! Retrieval data (PROTOCOLS.md, ml100k-retrieval): users with side features
//! and behaviour histories, a corpus of items with side features, and every
//! rating as an implicit positive, split leave-last-out per user.
//!
//! Two schemas, one per tower, each with its own fitted [`Preprocessor`]:
//! - user tower: user_id, age bucket, gender, occupation, zip first digit,
//!   and `history`, the user's earlier items, most recent first, at most
//!   `history_len`;
//! - item tower: item_id and genres.
//!
//! A training example is one train positive; its history is the user's
//! train items *before* it (so the target never leaks into its own input).
//! A validation or test query is one user; its history is their whole train
//! history, as the protocol says, and their train items are excluded from
//! the ranking.

use std::collections::HashMap;
use std::path::Path;

use crate::encoded::{EncodedData, FeatureLayout};
use crate::error::{DataError, Result};
use crate::hashing::token_hash;
use crate::preprocess::Preprocessor;
use crate::raw::{RawColumn, RawTable};
use crate::readers::ReadOptions;
use crate::readers::movielens::{User, read_items, read_movielens, read_users};
use crate::registry::DataConfig;
use crate::schema::{FieldSpec, Schema};
use crate::sources::Ml100kRetrieval;
use crate::splits::{by_user_in_time_order, leave_last_out};

/// Field positions in the user schema (their index seeds the token hash).
const USER_FIELDS: [&str; 5] = ["user_id", "age", "gender", "occupation", "zip"];
const HISTORY_FIELD: u32 = 5;
const ITEM_ID_FIELD: u32 = 0;
const GENRES_FIELD: u32 = 1;

/// The user-tower schema: five categorical fields and the history sequence.
pub fn user_schema(history_len: usize) -> Schema {
    let mut fields: Vec<FieldSpec> = USER_FIELDS
        .iter()
        .map(|f| FieldSpec::categorical(f))
        .collect();
    fields.push(FieldSpec::sequence("history", history_len));
    Schema {
        fields,
        labels: Vec::new(),
        group_by: None,
    }
}

/// The item-tower schema: the id and the genres (at most 6 per movie).
pub fn item_schema() -> Schema {
    Schema {
        fields: vec![
            FieldSpec::categorical("item_id"),
            FieldSpec::sequence("genres", 6),
        ],
        labels: Vec::new(),
        group_by: None,
    }
}

/// Held-out positives: one query per user.
#[derive(Debug, Clone, Default)]
pub struct EvalSplit {
    /// User-tower rows, one per query.
    pub queries: EncodedData,
    /// Raw user id of each query.
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
}

/// Raw side-feature tokens of one user (hashes, `None` = missing).
type UserTokens = [Option<u64>; 5];

/// Everything a two-tower run needs, encoded.
#[derive(Debug, Clone)]
pub struct RetrievalData {
    pub user_preprocessor: Preprocessor,
    pub item_preprocessor: Preprocessor,
    pub user_layout: FeatureLayout,
    pub item_layout: FeatureLayout,
    /// Item-tower rows, one per corpus item (corpus row order).
    pub items: EncodedData,
    /// Raw item id of each corpus row, ascending.
    pub item_ids: Vec<u32>,
    /// Train positives per corpus row: the logQ correction and the
    /// most-popular baseline.
    pub item_counts: Vec<u64>,
    /// User-tower rows of the training examples.
    pub train: EncodedData,
    /// Corpus row of each training example's positive.
    pub train_items: Vec<u32>,
    pub valid: EvalSplit,
    pub test: EvalSplit,
    /// Train items per raw user id, oldest first (corpus rows).
    pub train_histories: HashMap<u32, Vec<u32>>,
    user_tokens: HashMap<u32, UserTokens>,
    history_len: usize,
    pub description: String,
}

fn user_tokens(user: u32, profile: Option<&User>) -> UserTokens {
    let id = Some(token_hash(0, user.to_string().as_bytes()));
    let Some(p) = profile else {
        return [id, None, None, None, None];
    };
    let tok = |field: u32, bytes: &[u8]| (!bytes.is_empty()).then(|| token_hash(field, bytes));
    [
        id,
        tok(1, &p.age_bucket),
        tok(2, &p.gender),
        tok(3, &p.occupation),
        tok(4, &p.zip_first),
    ]
}

fn item_token(raw_item: u32) -> u64 {
    token_hash(ITEM_ID_FIELD, raw_item.to_string().as_bytes())
}

/// A user-tower raw table: side tokens plus histories given as raw item
/// ids, oldest first (they are written most recent first, as the
/// preprocessor keeps the first `max_len`).
fn user_table(rows: &[(UserTokens, Vec<u32>)], history_len: usize) -> RawTable {
    let mut columns: Vec<Vec<Option<u64>>> =
        (0..5).map(|_| Vec::with_capacity(rows.len())).collect();
    let mut offsets = Vec::with_capacity(rows.len() + 1);
    let mut tokens = Vec::new();
    offsets.push(0);
    for (side, history) in rows {
        for (c, t) in columns.iter_mut().zip(side) {
            c.push(*t);
        }
        tokens.extend(
            history
                .iter()
                .rev()
                .take(history_len)
                .map(|&i| token_hash(HISTORY_FIELD, i.to_string().as_bytes())),
        );
        offsets.push(tokens.len());
    }
    let mut columns: Vec<RawColumn> = columns.into_iter().map(RawColumn::Tokens).collect();
    columns.push(RawColumn::TokenLists { offsets, tokens });
    RawTable {
        columns,
        ..Default::default()
    }
}

/// Item-tower raw table for the given raw item ids.
fn item_table(ids: &[u32], genres: &HashMap<u32, Vec<u8>>) -> RawTable {
    let mut offsets = vec![0];
    let mut tokens = Vec::new();
    for id in ids {
        if let Some(g) = genres.get(id) {
            tokens.extend(
                g.split(|&b| b == b'|')
                    .filter(|t| !t.is_empty())
                    .map(|t| token_hash(GENRES_FIELD, t)),
            );
        }
        offsets.push(tokens.len());
    }
    RawTable {
        columns: vec![
            RawColumn::Tokens(ids.iter().map(|&i| Some(item_token(i))).collect()),
            RawColumn::TokenLists { offsets, tokens },
        ],
        ..Default::default()
    }
}

/// Loads a retrieval source; other sources are an error naming the loader to use.
pub fn load_retrieval(config: &DataConfig) -> Result<RetrievalData> {
    match config {
        DataConfig::Ml100kRetrieval(Ml100kRetrieval { root, history_len }) => {
            let mut data = load_ml100k(&root.join("ml-100k"), *history_len)?;
            data.description = format!(
                "ml100k-retrieval: {} train examples, {} valid and {} test users, {} items; history up to {}",
                data.train.num_rows,
                data.valid.len(),
                data.test.len(),
                data.item_ids.len(),
                history_len
            );
            tracing::info!("{}", data.description);
            Ok(data)
        }
        other => Err(DataError::Invalid(format!(
            "'{}' is a ranking source; a two-tower model trains on a retrieval source (ml100k-retrieval)",
            other.source_name()
        ))),
    }
}

fn load_ml100k(dir: &Path, history_len: usize) -> Result<RetrievalData> {
    if history_len == 0 {
        return Err(DataError::Invalid(
            "history_len must be at least 1".to_owned(),
        ));
    }
    let ml = read_movielens(dir, &dir.join("u.data"), &[], ReadOptions::default())?;
    let profiles = read_users(&dir.join("u.user"))?;
    let genres = read_items(&dir.join("u.item"))?;

    // The corpus: every item of u.item, plus any rated item it lacks.
    let mut item_ids: Vec<u32> = genres
        .keys()
        .copied()
        .chain(ml.item.iter().copied())
        .collect();
    item_ids.sort_unstable();
    item_ids.dedup();
    let row_of: HashMap<u32, u32> = item_ids
        .iter()
        .enumerate()
        .map(|(r, &i)| (i, r as u32))
        .collect();

    let split = leave_last_out(&ml.user, &ml.timestamp, &ml.item);
    // Train rows per user in time order: the protocol's (timestamp, item) order.
    let per_user = by_user_in_time_order(&split.train, &ml.user, &ml.timestamp, &ml.item);
    let tokens: HashMap<u32, UserTokens> = ml
        .user
        .iter()
        .map(|&u| (u, user_tokens(u, profiles.get(&u))))
        .collect();

    let mut train_rows = Vec::with_capacity(split.train.len());
    let mut train_items = Vec::with_capacity(split.train.len());
    let mut train_raw_items = Vec::with_capacity(split.train.len());
    let mut train_histories = HashMap::new();
    for (&u, rows) in &per_user {
        let raw: Vec<u32> = rows.iter().map(|&r| ml.item[r]).collect();
        for (j, &item) in raw.iter().enumerate() {
            let start = j.saturating_sub(history_len);
            train_rows.push((tokens[&u], raw[start..j].to_vec()));
            train_items.push(row_of[&item]);
            train_raw_items.push(item);
        }
        train_histories.insert(u, raw.iter().map(|i| row_of[i]).collect::<Vec<u32>>());
    }
    let train_raw = user_table(&train_rows, history_len);
    let user_preprocessor = Preprocessor::fit(&user_schema(history_len), &train_raw)?;
    let item_preprocessor =
        Preprocessor::fit(&item_schema(), &item_table(&train_raw_items, &genres))?;
    let mut item_counts = vec![0u64; item_ids.len()];
    for &r in &train_items {
        item_counts[r as usize] += 1;
    }

    let eval_split = |rows: &[usize]| -> Result<EvalSplit> {
        let mut ordered = rows.to_vec();
        ordered.sort_unstable_by_key(|&r| ml.user[r]);
        let mut queries = Vec::with_capacity(ordered.len());
        let mut out = EvalSplit::default();
        for &r in &ordered {
            let u = ml.user[r];
            let seen = train_histories.get(&u).cloned().unwrap_or_default();
            let history = seen.iter().map(|&c| item_ids[c as usize]).collect();
            queries.push((tokens[&u], history));
            let mut sorted = seen;
            sorted.sort_unstable();
            sorted.dedup();
            out.users.push(u);
            out.targets.push(row_of[&ml.item[r]]);
            out.seen.push(sorted);
        }
        out.queries = user_preprocessor.transform(&user_table(&queries, history_len))?;
        Ok(out)
    };
    let valid = eval_split(&split.valid)?;
    let test = eval_split(&split.test)?;

    Ok(RetrievalData {
        user_layout: user_preprocessor.layout(),
        item_layout: item_preprocessor.layout(),
        items: item_preprocessor.transform(&item_table(&item_ids, &genres))?,
        train: user_preprocessor.transform(&train_raw)?,
        user_preprocessor,
        item_preprocessor,
        item_ids,
        item_counts,
        train_items,
        valid,
        test,
        train_histories,
        user_tokens: tokens,
        history_len,
        description: String::new(),
    })
}

impl RetrievalData {
    /// Corpus row of a raw item id.
    pub fn item_row(&self, raw_item: u32) -> Option<u32> {
        self.item_ids
            .binary_search(&raw_item)
            .ok()
            .map(|r| r as u32)
    }

    /// Whether the user appears in the ratings.
    pub fn knows_user(&self, user: u32) -> bool {
        self.user_tokens.contains_key(&user)
    }

    /// One query for the user tower as a raw table: a known or unknown user
    /// (an unknown one gets OOV side features) and a history of raw item
    /// ids, oldest first. Errors name an item that is not in the corpus.
    /// Encode it with the user preprocessor (this one's, or an artifact's).
    pub fn query_table(&self, user: u32, history: &[u32]) -> Result<RawTable> {
        if let Some(bad) = history.iter().find(|&&i| self.item_row(i).is_none()) {
            return Err(DataError::Invalid(format!(
                "history item {bad} is not in the item corpus ({} items)",
                self.item_ids.len()
            )));
        }
        let side = self
            .user_tokens
            .get(&user)
            .copied()
            .unwrap_or_else(|| user_tokens(user, None));
        Ok(user_table(&[(side, history.to_vec())], self.history_len))
    }

    /// [`RetrievalData::query_table`] encoded with this data's preprocessor.
    pub fn encode_query(&self, user: u32, history: &[u32]) -> Result<EncodedData> {
        self.user_preprocessor
            .transform(&self.query_table(user, history)?)
    }

    /// What `ember datasets ml100k-retrieval` prints.
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

    /// A user's train history as raw item ids, oldest first.
    pub fn train_history(&self, user: u32) -> Option<Vec<u32>> {
        self.train_histories
            .get(&user)
            .map(|rows| rows.iter().map(|&r| self.item_ids[r as usize]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::shared_data_dir;

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
                d.train_histories[&d.test.users[q]].len().min(50)
            );
            assert!(seen.windows(2).all(|w| w[0] < w[1]));
        }
        // The encoded query of a known user equals the test split's row.
        let u = d.test.users[3];
        let q = d.encode_query(u, &d.train_history(u).unwrap()).unwrap();
        assert_eq!(q.categorical, d.test.queries.take(&[3]).categorical);
        assert_eq!(
            q.sequences[0].ids,
            d.test.queries.take(&[3]).sequences[0].ids
        );
        // Unknown users get OOV side features; unknown items are an error.
        let q = d.encode_query(999_999, &[1, 2]).unwrap();
        assert!(q.categorical.iter().all(|&id| id == 0));
        let err = d.encode_query(1, &[1, 123_456]).unwrap_err().to_string();
        assert!(err.contains("123456"), "{err}");
        assert!(load_retrieval(&crate::sources::FrappeCtr { root: "/x".into() }.into()).is_err());
    }
}
