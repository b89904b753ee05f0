//! Multi-task rows from an interaction log: one row per (user, item) pair
//! the log shows, one label per named event type, 1 when the pair has an
//! event of that type. On a feed's log (impressions, clicks, likes after
//! clicks) `tasks = ["click", "like"]` is the click → click-and-like graph
//! ESMM models, straight from the log.
//!
//! A pair's time is its first event's. The split follows the log's: a time
//! split's cuts, or for leave-last-out each user's held-out positives' times
//! (a pair before the user's validation positive trains, before their test
//! positive validates, the rest tests). Validation and test pairs of a user
//! without train positives are left out, as the log's split leaves out
//! their events. The fields are the ranker's (`implicit`): ids, side
//! tables, and `history`, the user's train positives before the pair.

use std::collections::HashMap;

use crate::error::{DataError, Result};
use crate::implicit::{PairRows, implicit_schema};
use crate::interactions::{LogDataset, SplitConfig, TimeFormat, parse_time};
use crate::raw::RawTable;

/// A (user, item) pair the log shows: its first time and which tasks' event
/// types it has.
struct Shown {
    user: u32,
    item: u32,
    time: u64,
    labels: Vec<bool>,
}

/// The train, validation and test tables of `dataset` with one label per
/// event type of `tasks`.
pub fn event_label_tables(
    dataset: &LogDataset,
    split_config: &SplitConfig,
    tasks: &[String],
    history_len: usize,
) -> Result<[RawTable; 3]> {
    let (log, split) = (&dataset.log, &dataset.split);
    let kinds: Vec<u16> = tasks
        .iter()
        .map(|t| {
            log.event_types
                .iter()
                .position(|e| e == t)
                .map(|k| k as u16)
                .ok_or_else(|| {
                    DataError::Invalid(format!(
                        "tasks: no event of type '{t}' in {} (types: {})",
                        log.name,
                        log.event_types.join(", ")
                    ))
                })
        })
        .collect::<Result<_>>()?;
    // Each pair's first time and the tasks it has.
    let ev = &log.events;
    let mut by_pair: HashMap<(u32, u32), Shown> = HashMap::new();
    for e in 0..ev.len() {
        let (user, item) = (ev.user[e], ev.item[e]);
        let shown = by_pair.entry((user, item)).or_insert_with(|| Shown {
            user,
            item,
            time: ev.time[e],
            labels: vec![false; kinds.len()],
        });
        shown.time = shown.time.min(ev.time[e]);
        if let Some(t) = kinds.iter().position(|&k| k == ev.kind[e]) {
            shown.labels[t] = true;
        }
    }
    let mut pairs: Vec<Shown> = by_pair.into_values().collect();
    pairs.sort_unstable_by_key(|p| (p.time, p.user, p.item));

    // Where each user's validation and test begin.
    let cuts = |events: &[usize]| {
        let mut at: HashMap<u32, u64> = HashMap::new();
        for &e in events {
            let t = at.entry(ev.user[e]).or_insert(u64::MAX);
            *t = (*t).min(ev.time[e]);
        }
        at
    };
    let global = match split_config {
        SplitConfig::Time {
            valid_from,
            test_from,
        } => {
            let cut = |t: &str| {
                parse_time(t, TimeFormat::Auto)
                    .map_err(|m| DataError::Invalid(format!("split: {m}")))
            };
            Some((cut(valid_from)?, cut(test_from)?))
        }
        SplitConfig::LeaveLastOut => None,
    };
    let (valid_at, test_at) = (cuts(&split.valid), cuts(&split.test));
    // Train positives per user with their times, oldest first.
    let mut positives: Vec<Vec<(u64, u32)>> = vec![Vec::new(); log.users.len()];
    for &e in &split.train {
        positives[ev.user[e] as usize].push((ev.time[e], ev.item[e]));
    }
    for p in &mut positives {
        p.sort_unstable();
    }

    let schema = implicit_schema(dataset, history_len, tasks);
    let mut tables = [
        PairRows::new(dataset, &schema),
        PairRows::new(dataset, &schema),
        PairRows::new(dataset, &schema),
    ];
    let mut history = Vec::new();
    let mut before: Vec<u32> = Vec::new();
    for Shown {
        user,
        item,
        time,
        labels,
    } in pairs
    {
        let (valid_from, test_from) = global.unwrap_or((
            valid_at.get(&user).copied().unwrap_or(u64::MAX),
            test_at.get(&user).copied().unwrap_or(u64::MAX),
        ));
        let part = if time < valid_from {
            0
        } else if time < test_from {
            1
        } else {
            2
        };
        if part > 0 && !split.knows(user) {
            continue;
        }
        let mine = &positives[user as usize];
        let n = mine.partition_point(|&(t, _)| t < time);
        before.clear();
        before.extend(mine[..n].iter().map(|&(_, i)| i));
        dataset.history_cell(&before, history_len, &mut history);
        let bytes: Vec<&[u8]> = labels
            .iter()
            .map(|&l| if l { &b"1"[..] } else { &b"0"[..] })
            .collect();
        tables[part].push_labels(
            Some(user),
            log.users.ids.id(user),
            Some(item),
            &history,
            &bytes,
        )?;
    }
    let [train, valid, test] = tables;
    Ok([train.finish()?, valid.finish()?, test.finish()?])
}
