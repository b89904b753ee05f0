//! The deterministic splits of `shared/bench/PROTOCOLS.md`. No random number
//! generator decides a protocol split.

use std::collections::BTreeMap;

/// frappe-ctr: rows of the validation file with 0-based line % 10 == 9 are
/// validation, the rest training. Returns (train, valid) row indices.
pub fn frappe_split(rows: usize) -> (Vec<usize>, Vec<usize>) {
    (0..rows).partition(|i| i % 10 != 9)
}

/// ml100k-ctr: sort by (timestamp, user, item); first 80 % train, next 10 %
/// validation, last 10 % test.
pub fn time_split(timestamp: &[u64], user: &[u32], item: &[u32]) -> [Vec<usize>; 3] {
    let mut order: Vec<usize> = (0..timestamp.len()).collect();
    order.sort_by_key(|&i| (timestamp[i], user[i], item[i]));
    let n = order.len();
    let (a, b) = (n * 8 / 10, n * 9 / 10);
    [
        order[..a].to_vec(),
        order[a..b].to_vec(),
        order[b..].to_vec(),
    ]
}

/// Row indices of a leave-last-out split (ml100k-retrieval).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaveLastOut {
    pub train: Vec<usize>,
    /// One row per user with at least two ratings: their second-to-last.
    pub valid: Vec<usize>,
    /// One row per user: their last rating.
    pub test: Vec<usize>,
}

/// ml100k-retrieval: per user, sort their rows by (timestamp, item); the last
/// is test, the one before validation, the rest train. A user with a single
/// row contributes only a test row. Every list is in ascending row order.
pub fn leave_last_out(user: &[u32], timestamp: &[u64], item: &[u32]) -> LeaveLastOut {
    let mut order: Vec<usize> = (0..user.len()).collect();
    order.sort_unstable_by_key(|&i| (user[i], timestamp[i], item[i], i));
    let mut out = LeaveLastOut::default();
    for group in order.chunk_by(|&a, &b| user[a] == user[b]) {
        let n = group.len();
        out.test.push(group[n - 1]);
        if n >= 2 {
            out.valid.push(group[n - 2]);
            out.train.extend_from_slice(&group[..n - 2]);
        }
    }
    out.train.sort_unstable();
    out.valid.sort_unstable();
    out.test.sort_unstable();
    out
}

/// `rows` grouped by user, each user's in the protocol's time order
/// ((timestamp, item), the order [`leave_last_out`] splits by), users
/// ascending: the train sequences that histories are cut from.
pub fn by_user_in_time_order(
    rows: &[usize],
    user: &[u32],
    timestamp: &[u64],
    item: &[u32],
) -> BTreeMap<u32, Vec<usize>> {
    let mut order = rows.to_vec();
    order.sort_unstable_by_key(|&r| (user[r], timestamp[r], item[r], r));
    order
        .chunk_by(|&a, &b| user[a] == user[b])
        .map(|group| (user[group[0]], group.to_vec()))
        .collect()
}

/// A seeded shuffle split for sources that ship no validation file:
/// `round(rows * valid_fraction)` rows go to validation. Both index lists are
/// returned in ascending order, so row order inside each part is kept.
pub fn random_split(rows: usize, valid_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    use rand::seq::SliceRandom;
    use rand::{SeedableRng, rngs::SmallRng};
    let mut order: Vec<usize> = (0..rows).collect();
    order.shuffle(&mut SmallRng::seed_from_u64(seed));
    let n_valid = ((rows as f64) * valid_fraction).round() as usize;
    let mut valid = order[..n_valid].to_vec();
    let mut train = order[n_valid..].to_vec();
    valid.sort_unstable();
    train.sort_unstable();
    (train, valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_split_orders_by_time_then_user_then_item() {
        let [train, valid, test] = time_split(
            &[5, 1, 1, 3, 2, 9, 8, 7, 6, 4],
            &[0, 2, 1, 0, 0, 0, 0, 0, 0, 0],
            &[0; 10],
        );
        assert_eq!(train, vec![2, 1, 4, 3, 9, 0, 8, 7]);
        assert_eq!(valid, vec![6]);
        assert_eq!(test, vec![5]);
    }

    #[test]
    fn leave_last_out_takes_each_users_latest() {
        // user 1: t=5 (row 0), t=1 (row 2), t=9 (row 3); user 2: one row.
        let s = leave_last_out(&[1, 2, 1, 1], &[5, 4, 1, 9], &[0, 0, 0, 0]);
        assert_eq!(s.test, vec![1, 3]);
        assert_eq!(s.valid, vec![0]);
        assert_eq!(s.train, vec![2]);
        // Ties in time are broken by item.
        let s = leave_last_out(&[1, 1, 1], &[3, 3, 3], &[9, 2, 5]);
        assert_eq!((s.test, s.valid, s.train), (vec![0], vec![2], vec![1]));
    }

    #[test]
    fn random_split_is_seeded_and_disjoint() {
        let (t, v) = random_split(1000, 0.1, 42);
        assert_eq!((t.len(), v.len()), (900, 100));
        assert_eq!(random_split(1000, 0.1, 42), (t.clone(), v.clone()));
        assert_ne!(random_split(1000, 0.1, 43).1, v);
        let mut all: Vec<usize> = t.into_iter().chain(v).collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn frappe_split_takes_every_tenth_row() {
        let (train, valid) = frappe_split(57_722);
        assert_eq!((train.len(), valid.len()), (51_950, 5_772));
        assert_eq!(valid[0], 9);
    }
}
