//! Splitting a log's positive events into train / validation / test.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::log::Interactions;
use super::timestamps::{TimeFormat, parse_time};
use crate::error::{DataError, Result};
use crate::splits::{by_user_in_time_order, leave_last_out};

/// How the positives are split.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SplitConfig {
    /// Per user, in time order (ties by item): the last positive is test,
    /// the one before validation, the rest train (PROTOCOLS.md).
    #[default]
    LeaveLastOut,
    /// A global cut: train before `valid_from`, validation until
    /// `test_from`, test after (times as the events file writes them or
    /// ISO-8601). Validation and test events of a user with no train
    /// positive are left out and counted: nothing of theirs was learnt.
    Time {
        valid_from: String,
        test_from: String,
    },
}

/// Positive events by split (event indices, ascending), and what the
/// models may know of each user: their train positives in time order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogSplit {
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
    pub test: Vec<usize>,
    /// Per user row: their train items, oldest first (ties by item).
    pub histories: Vec<Vec<u32>>,
    /// Each train event's position in its user's history.
    place: HashMap<usize, usize>,
    /// Per user row: their validation items, oldest first.
    pub validated: Vec<Vec<u32>>,
    /// Validation and test events dropped for a user without train positives.
    pub cold_user_events: u64,
}

impl LogSplit {
    pub fn new(log: &Interactions, config: &SplitConfig) -> Result<Self> {
        let positives: Vec<usize> = (0..log.events.len())
            .filter(|&e| log.is_positive(e))
            .collect();
        if positives.is_empty() {
            return Err(DataError::Invalid(format!(
                "{}: no positive events (check `positives` against the event types: {})",
                log.name,
                log.event_types.join(", ")
            )));
        }
        let ev = &log.events;
        let pick = |v: &[u32]| positives.iter().map(|&e| v[e]).collect::<Vec<u32>>();
        let (user, item) = (pick(&ev.user), pick(&ev.item));
        let time: Vec<u64> = positives.iter().map(|&e| ev.time[e]).collect();
        let back = |rows: Vec<usize>| rows.into_iter().map(|r| positives[r]).collect::<Vec<_>>();
        let mut split = match config {
            SplitConfig::LeaveLastOut => {
                let s = leave_last_out(&user, &time, &item);
                Self {
                    train: back(s.train),
                    valid: back(s.valid),
                    test: back(s.test),
                    ..Self::default()
                }
            }
            SplitConfig::Time {
                valid_from,
                test_from,
            } => {
                let cut = |name: &str, text: &str| {
                    parse_time(text, TimeFormat::Auto)
                        .map_err(|m| DataError::Invalid(format!("split.{name}: {m}")))
                };
                let (valid_from, test_from) =
                    (cut("valid_from", valid_from)?, cut("test_from", test_from)?);
                if valid_from > test_from {
                    return Err(DataError::Invalid(
                        "split: valid_from is after test_from".to_owned(),
                    ));
                }
                let mut s = Self::default();
                for &e in &positives {
                    let t = ev.time[e];
                    if t < valid_from {
                        s.train.push(e);
                    } else if t < test_from {
                        s.valid.push(e);
                    } else {
                        s.test.push(e);
                    }
                }
                s
            }
        };
        if split.train.is_empty() {
            return Err(DataError::Invalid(format!(
                "{}: the split leaves no training positives",
                log.name
            )));
        }
        split.histories = vec![Vec::new(); log.users.len()];
        for (u, rows) in by_user_in_time_order(&split.train, &ev.user, &ev.time, &ev.item) {
            split
                .place
                .extend(rows.iter().enumerate().map(|(p, &r)| (r, p)));
            split.histories[u as usize] = rows.iter().map(|&r| ev.item[r]).collect();
        }
        let before = split.valid.len() + split.test.len();
        let histories = std::mem::take(&mut split.histories);
        let known = |e: &usize| !histories[ev.user[*e] as usize].is_empty();
        split.valid.retain(known);
        split.test.retain(known);
        split.histories = histories;
        split.cold_user_events = (before - split.valid.len() - split.test.len()) as u64;
        split.validated = vec![Vec::new(); log.users.len()];
        for (u, rows) in by_user_in_time_order(&split.valid, &ev.user, &ev.time, &ev.item) {
            split.validated[u as usize] = rows.iter().map(|&r| ev.item[r]).collect();
        }
        if split.cold_user_events > 0 {
            tracing::info!(
                log = %log.name,
                events = split.cold_user_events,
                "validation / test events of users without train positives left out"
            );
        }
        Ok(split)
    }

    /// What `user` had done before train event `e`: their whole train
    /// history for an event outside the train split (a validation event's
    /// history; a test event's is [`LogSplit::history_at_test`]).
    pub fn history_before(&self, user: u32, e: usize) -> &[u32] {
        let all = &self.histories[user as usize];
        self.place.get(&e).map_or(all, |&p| &all[..p])
    }

    /// What `user` had done before their test events, oldest first, into
    /// `out`: their train history, then their validation positives (in
    /// either split every validation event comes before every test event).
    /// A test row that left the validation positive out would ask a
    /// sequence model for the item after next: the user's latest event is
    /// known by the time of the test event, as it would be when serving.
    pub fn history_at_test(&self, user: u32, out: &mut Vec<u32>) {
        out.clear();
        out.extend_from_slice(&self.histories[user as usize]);
        out.extend_from_slice(&self.validated[user as usize]);
    }

    /// Whether `user` has train positives.
    pub fn knows(&self, user: u32) -> bool {
        !self.histories[user as usize].is_empty()
    }
}
