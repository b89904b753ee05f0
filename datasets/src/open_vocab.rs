//! Open vocabularies for streams: an id gets a table row once it has been
//! seen `min_count` times (frequency admission) and gives the row back
//! after `ttl_events` events without being seen (eviction), so a table
//! follows a stream of ever-new ids in bounded memory.
//!
//! Time is the stream's position (events consumed), not the wall clock, so
//! a replay admits and evicts exactly as the first run did. Until it is
//! admitted an id reads the field's OOV row 0, which every rare id shares
//! and trains. A freed row is handed to the next admitted id; the caller
//! resets its weights and optimizer state first ([`Admissions::recycled`]),
//! so the newcomer does not inherit the evicted id's embedding.
//!
//! Memory: at most `capacity` admitted ids, and the candidates (ids seen
//! fewer than `min_count` times) are forgotten after `ttl_events` too, so
//! they number at most the distinct ids of the last `ttl_events` events.
//! Both maps are swept every `ttl_events / 4` events.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use serde::{Deserialize, Serialize};

use crate::vocab::{PrehashedKey, Vocabulary};

type TokenMap<V> = HashMap<u64, V, BuildHasherDefault<PrehashedKey>>;

/// How ids get and lose rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdmissionConfig {
    /// Sightings before an id gets a row (1: at once).
    pub min_count: u32,
    /// Events without a sighting after which an id loses its row (and a
    /// candidate its count); 0: never.
    pub ttl_events: u64,
    /// Rows per field besides OOV: the table's size, fixed up front.
    pub capacity: usize,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        Self {
            min_count: 2,
            ttl_events: 1_000_000,
            capacity: 100_000,
        }
    }
}

impl AdmissionConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.capacity == 0 || self.capacity >= u32::MAX as usize {
            return Err(format!(
                "admission.capacity must be in 1..2^32, got {}",
                self.capacity
            ));
        }
        if self.min_count == 0 {
            return Err("admission.min_count must be at least 1".to_owned());
        }
        Ok(())
    }
}

/// What a field's vocabulary has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionCounts {
    pub admitted: u64,
    pub evicted: u64,
    /// Ids that reached `min_count` while every row was taken (they stay
    /// OOV until a row frees).
    pub refused_full: u64,
    /// Candidates forgotten before they reached `min_count`.
    pub candidates_expired: u64,
    /// Rows now held by an id.
    pub live: usize,
    /// Ids now counted towards admission.
    pub candidates: usize,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    row: u32,
    last_seen: u64,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    count: u32,
    last_seen: u64,
}

/// Rows freed by eviction and given to a new id since the caller last
/// asked: their weights still hold the evicted id's values.
#[derive(Debug, Default)]
pub struct Admissions {
    pub recycled: Vec<u32>,
}

/// One field's open vocabulary.
#[derive(Debug, Clone)]
pub struct OpenVocabulary {
    config: AdmissionConfig,
    rows: TokenMap<Entry>,
    candidates: TokenMap<Candidate>,
    /// Rows given back by evicted ids, reused before new ones.
    free: Vec<u32>,
    /// The next never-used row.
    next_row: u32,
    /// Rows handed out again since the last [`OpenVocabulary::take_recycled`].
    recycled: Vec<u32>,
    last_sweep: u64,
    counts: AdmissionCounts,
}

impl OpenVocabulary {
    pub fn new(config: AdmissionConfig) -> Self {
        Self {
            config,
            rows: TokenMap::default(),
            candidates: TokenMap::default(),
            free: Vec::new(),
            next_row: 1,
            recycled: Vec::new(),
            last_sweep: 0,
            counts: AdmissionCounts::default(),
        }
    }

    /// The id of `token` seen at stream position `now` (0 until admitted),
    /// counting the sighting.
    pub fn observe(&mut self, token: u64, now: u64) -> u32 {
        if let Some(entry) = self.rows.get_mut(&token) {
            entry.last_seen = now;
            return entry.row;
        }
        let candidate = self.candidates.entry(token).or_insert(Candidate {
            count: 0,
            last_seen: now,
        });
        candidate.count += 1;
        candidate.last_seen = now;
        if candidate.count < self.config.min_count {
            return 0;
        }
        let row = if let Some(row) = self.free.pop() {
            self.recycled.push(row);
            row
        } else if (self.next_row as usize) <= self.config.capacity {
            self.next_row += 1;
            self.next_row - 1
        } else {
            self.counts.refused_full += 1;
            return 0;
        };
        self.candidates.remove(&token);
        self.rows.insert(
            token,
            Entry {
                row,
                last_seen: now,
            },
        );
        self.counts.admitted += 1;
        row
    }

    /// The id of `token` without counting a sighting (scoring).
    pub fn lookup(&self, token: u64) -> u32 {
        self.rows.get(&token).map_or(0, |e| e.row)
    }

    /// Evicts the ids and forgets the candidates not seen for more than
    /// `ttl_events` before `now`; runs every `ttl_events / 4` events.
    pub fn expire(&mut self, now: u64) {
        let ttl = self.config.ttl_events;
        if ttl == 0 || now < self.last_sweep + (ttl / 4).max(1) {
            return;
        }
        self.last_sweep = now;
        let stale = |last_seen: u64| now.saturating_sub(last_seen) > ttl;
        let free = &mut self.free;
        let mut evicted = 0;
        self.rows.retain(|_, e| {
            let keep = !stale(e.last_seen);
            if !keep {
                free.push(e.row);
                evicted += 1;
            }
            keep
        });
        let before = self.candidates.len();
        self.candidates.retain(|_, c| !stale(c.last_seen));
        self.counts.evicted += evicted;
        self.counts.candidates_expired += (before - self.candidates.len()) as u64;
        // Reuse low rows first (deterministic, and keeps hot rows together).
        self.free.sort_unstable_by(|a, b| b.cmp(a));
    }

    /// Rows reassigned since the last call.
    pub fn take_recycled(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.recycled)
    }

    pub fn counts(&self) -> AdmissionCounts {
        AdmissionCounts {
            live: self.rows.len(),
            candidates: self.candidates.len(),
            ..self.counts
        }
    }

    /// Ids including OOV: the model's table size for this field.
    pub fn cardinality(&self) -> usize {
        self.config.capacity + 1
    }

    /// The admitted ids as a fixed vocabulary (what an exported model
    /// scores with).
    pub fn snapshot(&self) -> Vocabulary {
        Vocabulary::from_assigned(
            self.rows.iter().map(|(&t, e)| (t, e.row)),
            self.config.capacity,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(min_count: u32, ttl_events: u64, capacity: usize) -> AdmissionConfig {
        AdmissionConfig {
            min_count,
            ttl_events,
            capacity,
        }
    }

    #[test]
    fn admits_on_the_kth_sighting_and_keeps_the_row() {
        let mut v = OpenVocabulary::new(config(3, 0, 10));
        assert_eq!(v.observe(7, 0), 0);
        assert_eq!(v.observe(7, 1), 0);
        assert_eq!(v.observe(7, 2), 1, "third sighting admits");
        assert_eq!(v.observe(7, 3), 1);
        assert_eq!(v.lookup(7), 1);
        assert_eq!(v.lookup(8), 0);
        let c = v.counts();
        assert_eq!((c.admitted, c.live, c.candidates), (1, 1, 0));
        assert_eq!(v.snapshot().lookup(7), 1);
        assert_eq!(v.snapshot().cardinality(), 11);
    }

    #[test]
    fn evicts_after_ttl_and_recycles_the_row() {
        let mut v = OpenVocabulary::new(config(1, 8, 2));
        assert_eq!(v.observe(1, 0), 1);
        assert_eq!(v.observe(2, 0), 2);
        assert_eq!(v.observe(3, 1), 0, "table full");
        assert_eq!(v.counts().refused_full, 1);
        // Token 1 keeps being seen; token 2 is not.
        for now in 2..=10 {
            v.observe(1, now);
            v.expire(now);
        }
        assert_eq!(v.lookup(2), 0, "evicted");
        assert_eq!(v.counts().evicted, 1);
        assert_eq!(v.observe(3, 11), 2, "gets the freed row");
        assert_eq!(v.take_recycled(), vec![2]);
        assert!(v.take_recycled().is_empty());
        assert_eq!(v.lookup(1), 1);
    }

    #[test]
    fn memory_stays_bounded_on_ever_new_ids() {
        let (capacity, ttl) = (1_000, 5_000);
        let mut v = OpenVocabulary::new(config(2, ttl, capacity));
        let mut peak_candidates = 0;
        for now in 0..200_000u64 {
            // Every id twice in a row, then never again.
            v.observe(now / 2, now);
            v.expire(now);
            peak_candidates = peak_candidates.max(v.counts().candidates);
        }
        let c = v.counts();
        assert!(c.live <= capacity);
        assert!(c.evicted > 10_000, "{c:?}");
        // Candidates: at most the ids of the last ttl + ttl/4 events.
        assert!(
            peak_candidates <= ttl as usize * 5 / 4 + 1,
            "{peak_candidates}"
        );
    }
}
