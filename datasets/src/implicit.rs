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
//!   `eval_negatives` distinct unrated items, drawn uniformly from their
//!   own seeded streams (the same items whatever the training draw, so
//!   AUCs compare across settings), the protocol of He et al. (NCF, 2017:
//!   1 + 99), so test AUC is the chance that the user's next item outscores
//!   an unrated one, and gAUC is that per user.
//!
//! The fields are ml100k-ctr's plus, unless `history_len` is 0, `history`:
//! the user's most recent earlier train items (most recent first, a
//! mean-pooled sequence), the behaviour feature every production ranker
//! has. A train row sees only the items rated before it (ties in time
//! broken by item id, as the split breaks them); validation, test,
//! `ember predict` and the serving catalog see the last `history_len`
//! train items.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng, rngs::SmallRng};

use crate::error::{DataError, Result};
use crate::raw::RawTable;
use crate::readers::columns::{ColumnsBuilder, ReadOptions};
use crate::readers::movielens::{MovieLensSides, MovieLensTable, movielens_schema, read_ratings};
use crate::schema::{FieldSpec, Schema};
use crate::splits::{by_user_in_time_order, leave_last_out};

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
    let power = sampling.popularity_power;
    if !(0.0..=2.0).contains(&power) {
        return Err(DataError::Invalid(format!(
            "ml100k-implicit: popularity_power = {power}: must be in [0, 2]"
        )));
    }
    let ratings = dir.join("u.data");
    let sides = MovieLensSides::read(dir)?;
    let ml = read_ratings(&sides, &ratings, &[], options)?;
    let split = leave_last_out(&ml.user, &ml.timestamp, &ml.item);
    let histories = TrainHistories::new(&ml, &split.train);

    let mut catalog: Vec<u32> = sides.items.keys().copied().collect();
    catalog.sort_unstable();
    let mut rated: HashMap<u32, HashSet<u32>> = HashMap::new();
    for (&user, &item) in ml.user.iter().zip(&ml.item) {
        rated.entry(user).or_default().insert(item);
    }
    // How many distinct unrated catalog items each user has: the most
    // negatives a positive of theirs can get.
    let unrated: HashMap<u32, usize> = rated
        .iter()
        .map(|(&user, seen)| (user, catalog.iter().filter(|i| !seen.contains(i)).count()))
        .collect();
    let mut counts: HashMap<u32, u64> = HashMap::new();
    for &r in &split.train {
        *counts.entry(ml.item[r]).or_default() += 1;
    }
    // Weights ≥ 1 for a power in [0, 2], so every item stays drawable.
    let popular = WeightedIndex::new(
        catalog
            .iter()
            .map(|item| ((counts.get(item).copied().unwrap_or(0) + 1) as f64).powf(power)),
    )
    .map_err(|e| DataError::Invalid(format!("ml100k-implicit: negative sampling: {e}")))?;

    let schema = implicit_schema(sampling.history_len);
    let mut history = Vec::new();
    let mut drawn = Vec::new();
    // Each split draws from its own seeded stream, so the evaluation
    // negatives are the same items whatever the training draw is.
    let mut build = |rows: &[usize], negatives: usize, split: u64| -> Result<RawTable> {
        let mut rng = SmallRng::seed_from_u64(sampling.seed.wrapping_add(split));
        let by_popularity = split == 0 && power > 0.0;
        let mut out = PairRows::new(&schema, &sides, &ratings);
        for &row in rows {
            let user = ml.user[row];
            history_cell(
                histories.before(user, row),
                sampling.history_len,
                &mut history,
            );
            out.push(user, ml.item[row], &history, b"1")?;
            // Distinct unrated items (NCF's 99 are distinct too).
            let seen = &rated[&user];
            let want = negatives.min(unrated[&user]);
            drawn.clear();
            while drawn.len() < want {
                let item = catalog[if by_popularity {
                    rng.sample(&popular)
                } else {
                    rng.random_range(0..catalog.len())
                }];
                if !seen.contains(&item) && !drawn.contains(&item) {
                    drawn.push(item);
                }
            }
            for &item in &drawn {
                out.push(user, item, &history, b"0")?;
            }
        }
        out.finish(0)
    };
    Ok([
        build(&split.train, sampling.negatives, 0)?,
        build(&split.valid, sampling.eval_negatives, 1)?,
        build(&split.test, sampling.eval_negatives, 2)?,
    ])
}

/// Reads (user, item) pairs to score from `path` (u.data layout, checked
/// as such, though the rating and timestamp are not used) and gives each the
/// `history` a validation or test row gets: the user's last `history_len`
/// train items of `dir/u.data`, most recent first.
pub fn read_implicit_for_prediction(
    dir: &Path,
    path: &Path,
    history_len: usize,
    options: ReadOptions,
) -> Result<RawTable> {
    let sides = MovieLensSides::read(dir)?;
    let pairs = read_ratings(&sides, path, &[], options)?;
    let ml = read_ratings(&sides, &dir.join("u.data"), &[], ReadOptions::default())?;
    let split = leave_last_out(&ml.user, &ml.timestamp, &ml.item);
    let histories = TrainHistories::new(&ml, &split.train);
    let mut schema = implicit_schema(history_len);
    schema.labels.clear();
    let mut out = PairRows::new(&schema, &sides, path);
    let mut history = Vec::new();
    for (&user, &item) in pairs.user.iter().zip(&pairs.item) {
        history_cell(histories.all(user), history_len, &mut history);
        out.push(user, item, &history, b"")?;
    }
    out.finish(pairs.table.skipped_rows)
}

/// Each user's train items in time order (ties by item, as the split
/// orders them), and each train row's place in its user's list.
struct TrainHistories {
    items: HashMap<u32, Vec<u32>>,
    place: HashMap<usize, usize>,
}

impl TrainHistories {
    fn new(ml: &MovieLensTable, train: &[usize]) -> Self {
        let mut items = HashMap::new();
        let mut place = HashMap::with_capacity(train.len());
        for (user, rows) in by_user_in_time_order(train, &ml.user, &ml.timestamp, &ml.item) {
            place.extend(rows.iter().enumerate().map(|(p, &r)| (r, p)));
            items.insert(user, rows.iter().map(|&r| ml.item[r]).collect());
        }
        Self { items, place }
    }

    /// All of `user`'s train items, oldest first.
    fn all(&self, user: u32) -> &[u32] {
        self.items.get(&user).map_or(&[], Vec::as_slice)
    }

    /// What `user` rated before `row`: all their train items for a row
    /// outside the train split.
    fn before(&self, user: u32, row: usize) -> &[u32] {
        let all = self.all(user);
        self.place.get(&row).map_or(all, |&p| &all[..p])
    }
}

/// Rows of the implicit schema built from (user, item) pairs, ids
/// formatted as decimal text exactly as training formats them.
struct PairRows<'a> {
    builder: ColumnsBuilder<'a>,
    sides: &'a MovieLensSides,
    origin: &'a Path,
}

impl<'a> PairRows<'a> {
    fn new(schema: &'a Schema, sides: &'a MovieLensSides, origin: &'a Path) -> Self {
        Self {
            builder: ColumnsBuilder::new(schema),
            sides,
            origin,
        }
    }

    fn push(&mut self, user: u32, item: u32, history: &[u8], label: &[u8]) -> Result<()> {
        let (mut u, mut i) = (itoa::Buffer::new(), itoa::Buffer::new());
        let sides = self.sides.cells(
            user,
            u.format(user).as_bytes(),
            item,
            i.format(item).as_bytes(),
        );
        let cell = |f: usize| sides.get(f).copied().or(Some(history));
        self.builder
            .push_row(cell, |_| Some(label), Some(sides[0]))
            .map_err(|(field, message)| {
                DataError::malformed(self.origin, None, Some(&field), message)
            })
    }

    fn finish(self, skipped_rows: u64) -> Result<RawTable> {
        self.builder.finish(self.origin, skipped_rows)
    }
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
        // Valid: the second-to-last of each user; test: the last. User 1
        // has only two unrated items, so gets two distinct negatives of the
        // three asked; user 2 gets three.
        assert_eq!(valid.num_rows(), 3 + 4);
        assert_eq!(test.num_rows(), 3 + 4);
        let (users, items) = (tokens(&test, 0), tokens(&test, 1));
        assert_eq!((users[0].as_str(), items[0].as_str()), ("1", "4"));
        let mut user1: Vec<&str> = items[1..3].iter().map(String::as_str).collect();
        user1.sort_unstable();
        assert_eq!(user1, ["5", "6"]);
        assert_eq!((users[3].as_str(), items[3].as_str()), ("2", "6"));
        let mut user2: Vec<&str> = items[4..].iter().map(String::as_str).collect();
        user2.sort_unstable();
        user2.dedup();
        assert_eq!(user2.len(), 3, "distinct negatives: {user2:?}");
        assert!(user2.iter().all(|i| !["5", "6"].contains(i)));
        // History: what the user rated before, most recent first (train),
        // the last train items (valid and test).
        let lists = |t: &RawTable| -> Vec<usize> {
            let RawColumn::TokenLists { offsets, .. } = &t.columns[7] else {
                panic!("history is a sequence");
            };
            offsets.windows(2).map(|w| w[1] - w[0]).collect()
        };
        assert_eq!(lists(&train), vec![0, 0, 0, 1, 1, 1]);
        assert_eq!(lists(&test), vec![2, 2, 2, 0, 0, 0, 0]);
        // The evaluation negatives do not depend on the training draw.
        let other = ImplicitOptions {
            negatives: 1,
            popularity_power: 0.0,
            ..sampling
        };
        let [_, valid2, test2] =
            read_ml100k_implicit(dir.path(), other, ReadOptions::default()).unwrap();
        assert_eq!((&valid2, &test2), (&valid, &test));
        // Scoring a file: each pair gets its user's train history, as a
        // test row does.
        let pairs = dir.path().join("pairs.data");
        std::fs::write(&pairs, "1\t5\t3\t0\n2\t1\t3\t0\n").unwrap();
        let scored =
            read_implicit_for_prediction(dir.path(), &pairs, 2, ReadOptions::default()).unwrap();
        assert_eq!(scored.num_rows(), 2);
        assert_eq!(lists(&scored), vec![2, 0]);
        let history_tokens = |t: &RawTable, row: usize| -> Vec<u64> {
            let RawColumn::TokenLists { offsets, tokens } = &t.columns[7] else {
                panic!("history is a sequence");
            };
            tokens[offsets[row]..offsets[row + 1]].to_vec()
        };
        assert_eq!(history_tokens(&scored, 0), history_tokens(&test, 0));
        assert!(
            read_ml100k_implicit(
                dir.path(),
                ImplicitOptions {
                    popularity_power: -1.0,
                    ..sampling
                },
                ReadOptions::default()
            )
            .is_err()
        );
        let mut cell = Vec::new();
        history_cell(&[1, 2, 3], 2, &mut cell);
        assert_eq!(cell, b"3|2");
        // Seeded: the same sample again.
        let again = read_ml100k_implicit(dir.path(), sampling, ReadOptions::default()).unwrap();
        assert_eq!(tokens(&again[0], 1), tokens(&train, 1));
    }
}
