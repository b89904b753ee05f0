//! Implicit-feedback ranker rows from an interaction log (ml100k-implicit
//! is its MovieLens preset), for the ranking stages of a recommender.
//!
//! A pipeline's coarse and fine rankers answer: of the recalled items,
//! none of which the user has had, which will they take next? (A model of
//! "liked if watched", such as ml100k-ctr's, ranks the candidates by taste
//! and ignores what the user would watch at all; measured: DeepFM on
//! ml100k-ctr as the fine ranker cut the pipeline's Recall@10 well below
//! its recall sources'.) So:
//!
//! - the split is the log's ([`LogSplit`]), so a ranker never trains on a
//!   user's held-out items and the pipeline's evaluation is a clean holdout;
//! - every positive event is a row with label 1, and each training
//!   positive gets `negatives` items the user never had a positive with,
//!   drawn with a seed when the data is built (a fixed sample, not redrawn
//!   per epoch), with probability ∝ (train count + 1)^`popularity_power`:
//!   0 draws uniformly, 0.75 is word2vec's choice. Recall hands the rankers
//!   popular items, so negatives that are only unpopular teach a ranker
//!   little beyond popularity;
//! - validation and test hold each held-out positive beside
//!   `eval_negatives` distinct items of the same kind, drawn uniformly from
//!   their own seeded streams (the same items whatever the training draw,
//!   so AUCs compare across settings), the protocol of He et al. (NCF,
//!   2017: 1 + 99), so test AUC is the chance that the user's next item
//!   outscores one they never had, and gAUC is that per user.
//!
//! The fields are `user_id`, `item_id`, the user table's, the item table's
//! and, unless `history_len` is 0, `history`: the user's most recent
//! earlier train positives (most recent first, a mean-pooled sequence),
//! the behaviour feature every production ranker has. A row sees only the
//! positives before it (ties in time broken by item, as the split breaks
//! them): a train row the train positives before it, a validation row the
//! last `history_len` train positives, a test row those followed by the
//! user's validation positive(s), which precede it. `ember predict` and
//! the serving catalog see the last `history_len` train positives.

use std::collections::HashSet;

use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng, rngs::SmallRng};

use crate::error::{DataError, Result};
use crate::interactions::{HISTORY, HardNegatives, ITEM_ID, LogDataset, USER_ID};
use crate::raw::RawTable;
use crate::readers::columns::ColumnsBuilder;
use crate::schema::{FieldSpec, Schema};

/// The task name of the implicit label of the MovieLens preset.
pub const LABEL: &str = "rated";

/// How the rows are built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImplicitOptions {
    /// Items without a positive per training positive.
    pub negatives: usize,
    /// Items without a positive per validation and test positive.
    pub eval_negatives: usize,
    /// Items in the `history` field (0: no such field).
    pub history_len: usize,
    /// Negatives are drawn ∝ (train count + 1)^this (0: uniformly).
    pub popularity_power: f64,
    pub seed: u64,
}

/// `user_id`, `item_id`, the side tables' fields, `history` unless
/// `history_len` is 0, and the labels `labels`; gAUC groups by user.
pub fn implicit_schema<L: AsRef<str>>(
    dataset: &LogDataset,
    history_len: usize,
    labels: &[L],
) -> Schema {
    let log = &dataset.log;
    let mut fields = vec![
        FieldSpec::categorical(USER_ID),
        FieldSpec::categorical(ITEM_ID),
    ];
    fields.extend(log.users.fields.iter().cloned());
    fields.extend(log.items.fields.iter().cloned());
    if history_len > 0 {
        // Its own vocabulary and embedding rows: sharing `item_id`'s
        // (`vocab_of`, as DIN shares them) moved sampled test AUC by
        // -0.0036 (DeepFM) and +0.0021 (DIN), and DIN trailed DeepFM
        // either way (one sitting, seed 42, reports/ranking/README.md).
        fields.push(FieldSpec::sequence(HISTORY, history_len));
    }
    Schema {
        fields,
        labels: labels.iter().map(|l| l.as_ref().to_owned()).collect(),
        group_by: Some(USER_ID.to_owned()),
        regression_labels: Vec::new(),
    }
}

/// Training negatives from the recall stage's candidates: `share` of each
/// positive's negatives drawn uniformly from the user's candidates (never
/// an item they had), the rest as without.
#[derive(Debug, Clone, Copy)]
pub struct HardSampling<'a> {
    pub candidates: &'a HardNegatives,
    pub share: f64,
}

/// The ranker splits of `dataset`, encoded with a preprocessor fitted on
/// the training split.
pub fn prepare_implicit(
    dataset: &LogDataset,
    sampling: ImplicitOptions,
    hard: Option<HardSampling>,
    label: &str,
) -> Result<crate::prepared::PreparedData> {
    let splits = implicit_tables(dataset, sampling, hard, label)?;
    crate::prepared::PreparedData::fit(
        &implicit_schema(dataset, sampling.history_len, &[label]),
        splits,
    )
}

/// The train, validation and test tables of `dataset`; with `hard`, the
/// training negatives come partly from the recall stage's candidates
/// (validation and test keep their uniform negatives, so AUCs compare).
pub fn implicit_tables(
    dataset: &LogDataset,
    sampling: ImplicitOptions,
    hard: Option<HardSampling>,
    label: &str,
) -> Result<[RawTable; 3]> {
    let power = sampling.popularity_power;
    if !(0.0..=2.0).contains(&power) {
        return Err(DataError::Invalid(format!(
            "popularity_power = {power}: must be in [0, 2]"
        )));
    }
    if let Some(h) = hard
        && !(0.0..=1.0).contains(&h.share)
    {
        return Err(DataError::Invalid(format!(
            "hard_share = {}: must be in [0, 1]",
            h.share
        )));
    }
    let (log, split) = (&dataset.log, &dataset.split);
    let num_items = log.items.len();
    let mut had: Vec<HashSet<u32>> = vec![HashSet::new(); log.users.len()];
    for e in (0..log.events.len()).filter(|&e| log.is_positive(e)) {
        had[log.events.user[e] as usize].insert(log.events.item[e]);
    }
    let counts = log.positives_per_item(&split.train);
    // Weights ≥ 1 for a power in [0, 2], so every item stays drawable.
    let popular = WeightedIndex::new(counts.iter().map(|&c| ((c + 1) as f64).powf(power)))
        .map_err(|e| DataError::Invalid(format!("negative sampling: {e}")))?;

    let schema = implicit_schema(dataset, sampling.history_len, &[label]);
    let mut history = Vec::new();
    let mut before_test = Vec::new();
    let mut drawn: Vec<u32> = Vec::new();
    // Each split draws from its own seeded stream, so the evaluation
    // negatives are the same items whatever the training draw is.
    let mut build = |events: &[usize], negatives: usize, split_id: u64| -> Result<RawTable> {
        let mut rng = SmallRng::seed_from_u64(sampling.seed.wrapping_add(split_id));
        let by_popularity = split_id == 0 && power > 0.0;
        let mut out = PairRows::new(dataset, &schema);
        for &e in events {
            let user = log.events.user[e];
            let before = if split_id == 2 {
                split.history_at_test(user, &mut before_test);
                &before_test[..]
            } else {
                split.history_before(user, e)
            };
            dataset.history_cell(before, sampling.history_len, &mut history);
            let item = log.events.item[e];
            out.push(
                Some(user),
                log.users.ids.id(user),
                Some(item),
                &history,
                b"1",
            )?;
            // Distinct items without a positive (NCF's 99 are distinct too).
            let seen = &had[user as usize];
            let want = negatives.min(num_items - seen.len());
            drawn.clear();
            if let Some(h) = hard.filter(|_| split_id == 0) {
                let pool: Vec<u32> = h.candidates.by_user[user as usize]
                    .iter()
                    .copied()
                    .filter(|i| !seen.contains(i))
                    .collect();
                let from_pool = ((want as f64 * h.share).round() as usize).min(pool.len());
                while drawn.len() < from_pool {
                    let item = pool[rng.random_range(0..pool.len())];
                    if !drawn.contains(&item) {
                        drawn.push(item);
                    }
                }
            }
            while drawn.len() < want {
                let item = if by_popularity {
                    rng.sample(&popular)
                } else {
                    rng.random_range(0..num_items)
                } as u32;
                if !seen.contains(&item) && !drawn.contains(&item) {
                    drawn.push(item);
                }
            }
            for &item in &drawn {
                out.push(
                    Some(user),
                    log.users.ids.id(user),
                    Some(item),
                    &history,
                    b"0",
                )?;
            }
        }
        out.finish()
    };
    Ok([
        build(&split.train, sampling.negatives, 0)?,
        build(&split.valid, sampling.eval_negatives, 1)?,
        build(&split.test, sampling.eval_negatives, 2)?,
    ])
}

/// Rows to score for (user id, item id) pairs, each with the `history` a
/// validation row gets: the user's last `history_len` train positives. A user or item the log does not know keeps its id (out of
/// vocabulary unless training saw it) and gets empty side features.
pub fn implicit_rows_for(
    dataset: &LogDataset,
    pairs: &[(String, String)],
    history_len: usize,
) -> Result<RawTable> {
    let log = &dataset.log;
    let schema = implicit_schema::<&str>(dataset, history_len, &[]);
    let mut out = PairRows::new(dataset, &schema);
    let mut history = Vec::new();
    for (user, item) in pairs {
        let row = log.users.ids.row(user);
        let items = row.map_or(&[][..], |u| dataset.split.histories[u as usize].as_slice());
        dataset.history_cell(items, history_len, &mut history);
        let item_row = log.items.ids.row(item);
        out.pushed(row, user, item_row, item, &history, &[])?;
    }
    out.finish()
}

/// Rows of the implicit schema built from (user, item) pairs.
pub(crate) struct PairRows<'a> {
    builder: ColumnsBuilder<'a>,
    dataset: &'a LogDataset,
}

impl<'a> PairRows<'a> {
    pub(crate) fn new(dataset: &'a LogDataset, schema: &'a Schema) -> Self {
        Self {
            builder: ColumnsBuilder::new(schema),
            dataset,
        }
    }

    /// A row of a known item with the one label `label`.
    fn push(
        &mut self,
        user: Option<u32>,
        user_id: &str,
        item: Option<u32>,
        history: &[u8],
        label: &[u8],
    ) -> Result<()> {
        self.push_labels(user, user_id, item, history, &[label])
    }

    /// A row of a known item with one label per task.
    pub(crate) fn push_labels(
        &mut self,
        user: Option<u32>,
        user_id: &str,
        item: Option<u32>,
        history: &[u8],
        labels: &[&[u8]],
    ) -> Result<()> {
        let log = &self.dataset.log;
        let item_id = item.map_or("", |i| log.items.ids.id(i));
        self.pushed(user, user_id, item, item_id, history, labels)
    }

    /// A row; a `None` row is an id the log does not know (no side cells).
    fn pushed(
        &mut self,
        user: Option<u32>,
        user_id: &str,
        item: Option<u32>,
        item_id: &str,
        history: &[u8],
        labels: &[&[u8]],
    ) -> Result<()> {
        let log = &self.dataset.log;
        let (nu, ni) = (log.users.fields.len(), log.items.fields.len());
        let cell = |f: usize| -> Option<&[u8]> {
            Some(match f {
                0 => user_id.as_bytes(),
                1 => item_id.as_bytes(),
                f if f < 2 + nu => user.map_or(&b""[..], |u| log.users.cell(f - 2, u)),
                f if f < 2 + nu + ni => item.map_or(&b""[..], |i| log.items.cell(f - 2 - nu, i)),
                _ => history,
            })
        };
        self.builder
            .push_row(cell, |t| labels.get(t).copied(), Some(user_id.as_bytes()))
            .map_err(|(field, message)| {
                DataError::malformed(&log.name, None, Some(&field), message)
            })
    }

    pub(crate) fn finish(self) -> Result<RawTable> {
        self.builder.finish(self.dataset.log.name.as_ref(), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::token_hash;
    use crate::interactions::SplitConfig;
    use crate::interactions::movielens::read_ml100k;
    use crate::raw::RawColumn;

    fn dataset(dir: &std::path::Path, history_len: usize) -> LogDataset {
        LogDataset::new(
            read_ml100k(dir).unwrap(),
            &SplitConfig::LeaveLastOut,
            history_len,
        )
        .unwrap()
    }

    fn read_ml100k_implicit(
        dir: &std::path::Path,
        sampling: ImplicitOptions,
    ) -> Result<[RawTable; 3]> {
        implicit_tables(&dataset(dir, sampling.history_len), sampling, None, LABEL)
    }

    /// Field `field`'s ids as numbers (the raw table holds token hashes).
    fn tokens(table: &RawTable, field: usize) -> Vec<String> {
        let RawColumn::Tokens(hashes) = &table.columns[field] else {
            panic!("field {field} is not categorical");
        };
        let name = |h: &Option<u64>| {
            (1..=6u32)
                .map(|id| id.to_string())
                .find(|id| Some(token_hash(field as u32, id.as_bytes())) == *h)
                .expect("an id in 1..=6")
        };
        hashes.iter().map(name).collect()
    }

    #[test]
    fn positives_follow_leave_last_out_and_negatives_are_unrated_items() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("u.user"),
            "1|24|M|technician|85711\n2|53|F|other|94043\n",
        )
        .unwrap();
        let items: String = (1..=6)
            .map(|i| format!("{i}|T|01-Jan-1995||u|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n"))
            .collect();
        std::fs::write(dir.path().join("u.item"), items).unwrap();
        // User 1 rates 1, 2, 3, 4 in time order; user 2 rates 5 then 6.
        std::fs::write(
            dir.path().join("u.data"),
            "1\t1\t5\t10\n1\t2\t3\t20\n1\t3\t4\t30\n1\t4\t1\t40\n2\t5\t2\t10\n2\t6\t5\t20\n",
        )
        .unwrap();
        let sampling = ImplicitOptions {
            negatives: 2,
            eval_negatives: 3,
            history_len: 2,
            popularity_power: 0.75,
            seed: 7,
        };
        let [train, valid, test] = read_ml100k_implicit(dir.path(), sampling).unwrap();
        // Train: user 1's items 1 and 2 (user 2 has only valid and test),
        // each a positive followed by two negatives.
        assert_eq!(train.num_rows(), 2 * 3);
        assert_eq!(train.labels, vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        let (users, items) = (tokens(&train, 0), tokens(&train, 1));
        assert!(users.iter().all(|u| u == "1"));
        assert_eq!((items[0].as_str(), items[3].as_str()), ("1", "2"));
        for negative in [&items[1], &items[2], &items[4], &items[5]] {
            assert!(
                ["5", "6"].contains(&negative.as_str()),
                "user 1 rated {negative}"
            );
        }
        // Valid: the second-to-last of each user; test: the last. User 1
        // has only two unrated items, so gets two distinct negatives of the
        // three asked. User 2 has no train positive, so their valid and
        // test rows are left out (counted by the split).
        assert_eq!(dataset(dir.path(), 2).split.cold_user_events, 2);
        assert_eq!(valid.num_rows(), 3);
        assert_eq!(test.num_rows(), 3);
        let (users, items) = (tokens(&test, 0), tokens(&test, 1));
        assert_eq!((users[0].as_str(), items[0].as_str()), ("1", "4"));
        let mut user1: Vec<&str> = items[1..3].iter().map(String::as_str).collect();
        user1.sort_unstable();
        assert_eq!(user1, ["5", "6"]);
        // History: what the user rated before, most recent first: for a
        // train row the train items before it, for a validation row the
        // last train items, for a test row the validation item (3) and
        // then the last train items.
        let lists = |t: &RawTable| -> Vec<usize> {
            let RawColumn::TokenLists { offsets, .. } = &t.columns[7] else {
                panic!("history is a sequence");
            };
            offsets.windows(2).map(|w| w[1] - w[0]).collect()
        };
        assert_eq!(lists(&train), vec![0, 0, 0, 1, 1, 1]);
        assert_eq!(lists(&test), vec![2, 2, 2]);
        // The evaluation negatives do not depend on the training draw.
        let other = ImplicitOptions {
            negatives: 1,
            popularity_power: 0.0,
            ..sampling
        };
        let [_, valid2, test2] = read_ml100k_implicit(dir.path(), other).unwrap();
        assert_eq!((&valid2, &test2), (&valid, &test));
        // Scoring a file: each pair gets its user's train history, as a
        // validation row does.
        let pairs = [
            ("1".to_owned(), "5".to_owned()),
            ("2".to_owned(), "1".to_owned()),
        ];
        let scored = implicit_rows_for(&dataset(dir.path(), 2), &pairs, 2).unwrap();
        assert_eq!(scored.num_rows(), 2);
        assert_eq!(lists(&scored), vec![2, 0]);
        let history_tokens = |t: &RawTable, row: usize| -> Vec<u64> {
            let RawColumn::TokenLists { offsets, tokens } = &t.columns[7] else {
                panic!("history is a sequence");
            };
            tokens[offsets[row]..offsets[row + 1]].to_vec()
        };
        let item_hashes = |ids: &[&str]| -> Vec<u64> {
            ids.iter().map(|id| token_hash(7, id.as_bytes())).collect()
        };
        assert_eq!(history_tokens(&valid, 0), item_hashes(&["2", "1"]));
        assert_eq!(history_tokens(&test, 0), item_hashes(&["3", "2"]));
        assert_eq!(history_tokens(&scored, 0), history_tokens(&valid, 0));
        assert!(
            read_ml100k_implicit(
                dir.path(),
                ImplicitOptions {
                    popularity_power: -1.0,
                    ..sampling
                },
            )
            .is_err()
        );
        let mut cell = Vec::new();
        dataset(dir.path(), 2).history_cell(&[0, 1, 2], 2, &mut cell);
        assert_eq!(cell, b"3|2");
        // Seeded: the same sample again.
        let again = read_ml100k_implicit(dir.path(), sampling).unwrap();
        assert_eq!(tokens(&again[0], 1), tokens(&train, 1));
    }
}
