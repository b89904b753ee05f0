//! ml100k-implicit: MovieLens-100K as implicit feedback, for the ranking
//! stages of a recommender.
//!
//! ml100k-ctr asks P(rating ≥ 4 | the user rated the item). A pipeline's
//! coarse and fine rankers answer a different question: of the recalled
//! items, none of which the user has rated, which will they rate next? A
//! model of the first question ranks the candidates by "liked if watched"
//! and ignores what the user would watch at all (measured: DeepFM on
//! ml100k-ctr as the fine ranker cut the pipeline's Recall@10 well below
//! its recall sources'). This source asks the second question:
//!
//! - split as ml100k-retrieval (leave-last-out per user), so a ranker never
//!   trains on a user's held-out items and the pipeline's evaluation is a
//!   clean holdout;
//! - every rating is a positive (label 1), and each training positive gets
//!   `negatives` items the user never rated, drawn with a seed when the
//!   data is built (a fixed sample, not redrawn per epoch), with
//!   probability ∝ (train count + 1)^`popularity_power`: 0 draws uniformly,
//!   0.75 is word2vec's choice. Recall hands the rankers popular items, so
//!   negatives that are only unpopular teach a ranker little beyond
//!   popularity;
//! - validation and test hold each user's held-out item beside
//!   `eval_negatives` unrated items drawn uniformly whatever the training
//!   draw (so AUCs compare across settings), the protocol of He et al. (NCF, 2017:
//!   1 + 99), so test AUC is the chance that the user's next item outscores
//!   an unrated one, and gAUC is that per user.
//!
//! The fields are ml100k-ctr's plus, unless `history_len` is 0, `history`:
//! the user's most recent earlier train items (most recent first, a
//! mean-pooled sequence), the behaviour feature every production ranker
//! has. A train row sees only the items rated before it; validation, test
//! and the serving catalog see the last `history_len` train items.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng, rngs::SmallRng};

use crate::error::{DataError, Result};
use crate::raw::RawTable;
use crate::readers::columns::{ColumnsBuilder, ReadOptions};
use crate::readers::movielens::{MovieLensSides, movielens_schema, read_movielens};
use crate::schema::{FieldSpec, Schema};
use crate::splits::leave_last_out;

/// The task name of the implicit label.
pub const LABEL: &str = "rated";

/// The name of the behaviour-sequence field.
pub const HISTORY: &str = "history";

/// How the rows are built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImplicitOptions {
    /// Unrated items per training positive.
    pub negatives: usize,
    /// Unrated items per validation and test positive.
    pub eval_negatives: usize,
    /// Items in the `history` field (0: no such field).
    pub history_len: usize,
    /// Negatives are drawn ∝ (train count + 1)^this (0: uniformly).
    pub popularity_power: f64,
    pub seed: u64,
}

/// ml100k-ctr's fields, `history` unless `history_len` is 0, and the one
/// label [`LABEL`].
pub fn implicit_schema(history_len: usize) -> Schema {
    let mut schema = movielens_schema(&[], 1);
    if history_len > 0 {
        schema
            .fields
            .push(FieldSpec::sequence(HISTORY, history_len));
    }
    schema.labels = vec![LABEL.to_owned()];
    schema
}

/// `items` (oldest first) as a sequence cell: the last `len`, most recent
/// first (sequence fields keep their first `max_len` tokens), '|'-joined.
pub fn history_cell(items: &[u32], len: usize, out: &mut Vec<u8>) {
    out.clear();
    let mut ids = itoa::Buffer::new();
    for item in items.iter().rev().take(len) {
        if !out.is_empty() {
            out.push(b'|');
        }
        out.extend_from_slice(ids.format(*item).as_bytes());
    }
}

/// Reads `dir` (`u.data`, `u.user`, `u.item`) and builds the train,
/// validation and test tables.
pub fn read_ml100k_implicit(
    dir: &Path,
    sampling: ImplicitOptions,
    options: ReadOptions,
) -> Result<[RawTable; 3]> {
    let ratings = dir.join("u.data");
    let sides = MovieLensSides::read(dir)?;
    let ml = read_movielens(dir, &ratings, &[], options)?;
    let split = leave_last_out(&ml.user, &ml.timestamp, &ml.item);
    // Each user's train items in time order, and each train row's place
    // in its user's list (its history is what came before).
    let mut train_rows = split.train.clone();
    train_rows.sort_unstable_by_key(|&r| (ml.user[r], ml.timestamp[r], ml.item[r], r));
    let mut sequences: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut place: HashMap<usize, usize> = HashMap::with_capacity(train_rows.len());
    for &r in &train_rows {
        let seq = sequences.entry(ml.user[r]).or_default();
        place.insert(r, seq.len());
        seq.push(ml.item[r]);
    }

    let mut catalog: Vec<u32> = sides.items.keys().copied().collect();
    catalog.sort_unstable();
    let mut rated: HashMap<u32, HashSet<u32>> = HashMap::new();
    for (&user, &item) in ml.user.iter().zip(&ml.item) {
        rated.entry(user).or_default().insert(item);
    }
    // Users with no unrated catalog item get no negatives (rejection
    // sampling would never end for them).
    let unrated: HashMap<u32, usize> = rated
        .iter()
        .map(|(&user, seen)| (user, catalog.iter().filter(|i| !seen.contains(i)).count()))
        .collect();

    let mut counts: HashMap<u32, u64> = HashMap::new();
    for &r in &split.train {
        *counts.entry(ml.item[r]).or_default() += 1;
    }
    let weights = catalog.iter().map(|item| {
        ((counts.get(item).copied().unwrap_or(0) + 1) as f64).powf(sampling.popularity_power)
    });
    let popular = WeightedIndex::new(weights).map_err(|e| {
        DataError::Invalid(format!(
            "ml100k-implicit: popularity_power = {}: {e}",
            sampling.popularity_power
        ))
    })?;

    let schema = implicit_schema(sampling.history_len);
    let mut rng = SmallRng::seed_from_u64(sampling.seed);
    let mut history = Vec::new();
    let mut build = |rows: &[usize], negatives: usize, by_popularity: bool| -> Result<RawTable> {
        let mut builder = ColumnsBuilder::new(&schema);
        for &row in rows {
            let user = ml.user[row];
            let seq = sequences.get(&user).map_or(&[][..], Vec::as_slice);
            let before = place.get(&row).map_or(seq, |&p| &seq[..p]);
            history_cell(before, sampling.history_len, &mut history);
            let mut push = |item: u32, label: &'static [u8]| -> Result<()> {
                let (mut u, mut i) = (itoa::Buffer::new(), itoa::Buffer::new());
                let sides = sides.cells(
                    user,
                    u.format(user).as_bytes(),
                    item,
                    i.format(item).as_bytes(),
                );
                let cell = |f: usize| sides.get(f).copied().or(Some(history.as_slice()));
                builder
                    .push_row(cell, |_| Some(label), Some(sides[0]))
                    .map_err(|(field, message)| {
                        DataError::malformed(&ratings, None, Some(&field), message)
                    })
            };
            push(ml.item[row], b"1")?;
            if unrated[&user] == 0 {
                continue;
            }
            let seen = &rated[&user];
            for _ in 0..negatives {
                let negative = loop {
                    let item = catalog[if by_popularity {
                        rng.sample(&popular)
                    } else {
                        rng.random_range(0..catalog.len())
                    }];
                    if !seen.contains(&item) {
                        break item;
                    }
                };
                push(negative, b"0")?;
            }
        }
        builder.finish(&ratings, 0)
    };
    Ok([
        build(&split.train, sampling.negatives, true)?,
        build(&split.valid, sampling.eval_negatives, false)?,
        build(&split.test, sampling.eval_negatives, false)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::token_hash;
    use crate::raw::RawColumn;

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
        let [train, valid, test] =
            read_ml100k_implicit(dir.path(), sampling, ReadOptions::default()).unwrap();
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
        // Valid: the second-to-last of each user; test: the last.
        assert_eq!(valid.num_rows(), 2 * 4);
        assert_eq!(test.num_rows(), 2 * 4);
        let (users, items) = (tokens(&test, 0), tokens(&test, 1));
        assert_eq!((users[0].as_str(), items[0].as_str()), ("1", "4"));
        assert_eq!((users[4].as_str(), items[4].as_str()), ("2", "6"));
        for (user, item) in users.iter().zip(&items).skip(5) {
            assert_eq!(user, "2");
            assert!(!["5", "6"].contains(&item.as_str()));
        }
        // History: what the user rated before, most recent first (train),
        // the last train items (valid and test).
        let lists = |t: &RawTable| -> Vec<usize> {
            let RawColumn::TokenLists { offsets, .. } = &t.columns[7] else {
                panic!("history is a sequence");
            };
            offsets.windows(2).map(|w| w[1] - w[0]).collect()
        };
        assert_eq!(lists(&train), vec![0, 0, 0, 1, 1, 1]);
        assert_eq!(lists(&test)[..5], [2, 2, 2, 2, 0]);
        let mut cell = Vec::new();
        history_cell(&[1, 2, 3], 2, &mut cell);
        assert_eq!(cell, b"3|2");
        // Seeded: the same sample again.
        let again = read_ml100k_implicit(dir.path(), sampling, ReadOptions::default()).unwrap();
        assert_eq!(tokens(&again[0], 1), tokens(&train, 1));
    }
}
