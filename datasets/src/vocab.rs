//! Vocabularies: token hash → id, built on the training split.
//!
//! Keys are already XXH3 hashes (uniformly distributed), so the map uses a
//! pass-through hasher instead of SipHash: a lookup is one multiply and a
//! probe. The serialised form is the token list in id order, which is both
//! compact and the only thing needed to rebuild the map.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hasher for keys that are already good hashes (a multiply spreads any
/// structure the low bits might have, at no real cost).
#[derive(Default, Clone, Copy)]
pub struct PrehashedKey(u64);

impl Hasher for PrehashedKey {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<PrehashedKey>>;

use serde::{Deserialize, Serialize};

/// How often each token hash occurs; counts of disjoint shares of the rows
/// add up ([`TokenCounts::merge`]) to the counts of all of them. Stored as
/// two arrays (tokens, counts) in token order, so equal counts serialise
/// alike.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "SerialCounts", into = "SerialCounts")]
pub struct TokenCounts(IdMap<u32>);

#[derive(Serialize, Deserialize)]
struct SerialCounts {
    tokens: Vec<u64>,
    counts: Vec<u32>,
}

impl From<SerialCounts> for TokenCounts {
    fn from(s: SerialCounts) -> Self {
        Self(s.tokens.into_iter().zip(s.counts).collect())
    }
}

impl From<TokenCounts> for SerialCounts {
    fn from(c: TokenCounts) -> Self {
        let mut pairs: Vec<(u64, u32)> = c.0.into_iter().collect();
        pairs.sort_unstable();
        let (tokens, counts) = pairs.into_iter().unzip();
        Self { tokens, counts }
    }
}

impl TokenCounts {
    /// Counts `tokens` in.
    pub fn add(&mut self, tokens: impl IntoIterator<Item = u64>) {
        for t in tokens {
            let c = self.0.entry(t).or_default();
            *c = c.saturating_add(1);
        }
    }

    /// Adds another share's counts.
    pub fn merge(&mut self, other: &TokenCounts) {
        for (&t, &c) in &other.0 {
            let mine = self.0.entry(t).or_default();
            *mine = mine.saturating_add(c);
        }
    }

    /// Distinct tokens counted.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Maps the tokens of one field to ids `1..cardinality`; id 0 is OOV.
///
/// Built from counts with a minimum count; ids are assigned by descending
/// count, ties by hash, so the same data always gives the same ids. A
/// snapshot of an open vocabulary ([`crate::open_vocab`]) may leave ids
/// unassigned (rows freed by eviction) and has its table's full size.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "SerialVocab", into = "SerialVocab")]
pub struct Vocabulary {
    ids: IdMap<u32>,
    /// The largest id the table has room for (`cardinality − 1`).
    capacity: usize,
}

/// The stored form: tokens in id order (id = position + 1), or, for a
/// vocabulary with unassigned ids, each token's id and the table size.
#[derive(Serialize, Deserialize)]
struct SerialVocab {
    tokens: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ids: Option<Vec<u32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    capacity: Option<usize>,
}

impl From<SerialVocab> for Vocabulary {
    fn from(s: SerialVocab) -> Self {
        let len = s.tokens.len();
        let ids: IdMap<u32> = match s.ids {
            Some(ids) => s.tokens.into_iter().zip(ids).collect(),
            None => s
                .tokens
                .into_iter()
                .enumerate()
                .map(|(i, t)| (t, i as u32 + 1))
                .collect(),
        };
        Self {
            ids,
            capacity: s.capacity.unwrap_or(len),
        }
    }
}

impl From<Vocabulary> for SerialVocab {
    fn from(v: Vocabulary) -> Self {
        let mut pairs: Vec<(u32, u64)> = v.ids.into_iter().map(|(t, i)| (i, t)).collect();
        pairs.sort_unstable();
        let dense = v.capacity == pairs.len()
            && pairs
                .iter()
                .enumerate()
                .all(|(i, &(id, _))| id as usize == i + 1);
        SerialVocab {
            ids: (!dense).then(|| pairs.iter().map(|&(id, _)| id).collect()),
            capacity: (!dense).then_some(v.capacity),
            tokens: pairs.into_iter().map(|(_, t)| t).collect(),
        }
    }
}

impl Vocabulary {
    /// Builds from token hashes; tokens seen fewer than `min_count` times stay OOV.
    pub fn build(tokens: impl IntoIterator<Item = u64>, min_count: u32) -> Self {
        let mut counts = TokenCounts::default();
        counts.add(tokens);
        Self::from_counts(&counts, min_count)
    }

    /// Builds from counted tokens (e.g. counts merged from several shares
    /// of the training rows: the same counts give the same ids).
    pub fn from_counts(counts: &TokenCounts, min_count: u32) -> Self {
        let mut kept: Vec<(u32, u64)> = counts
            .0
            .iter()
            .filter(|&(_, &c)| c >= min_count.max(1))
            .map(|(&t, &c)| (c, t))
            .collect();
        kept.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Self {
            capacity: kept.len(),
            ids: kept
                .into_iter()
                .enumerate()
                .map(|(i, (_, t))| (t, i as u32 + 1))
                .collect(),
        }
    }

    /// The id of a token, 0 when unknown.
    #[inline]
    pub fn lookup(&self, token: u64) -> u32 {
        self.ids.get(&token).copied().unwrap_or(0)
    }

    /// Given ids (each in `1..=capacity`, distinct) in a table of
    /// `capacity` rows besides OOV.
    pub fn from_assigned(pairs: impl IntoIterator<Item = (u64, u32)>, capacity: usize) -> Self {
        let ids: IdMap<u32> = pairs.into_iter().collect();
        debug_assert!(ids.values().all(|&id| id >= 1 && id as usize <= capacity));
        Self { ids, capacity }
    }

    /// Ids including the OOV id 0.
    pub fn cardinality(&self) -> usize {
        self.capacity + 1
    }

    /// Number of known tokens (ids `1..=len`).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_count_sends_rare_tokens_to_oov_and_ids_are_by_frequency() {
        let v = Vocabulary::build([5, 5, 5, 7, 7, 9], 2);
        assert_eq!(v.cardinality(), 3);
        assert_eq!(v.lookup(5), 1);
        assert_eq!(v.lookup(7), 2);
        assert_eq!(v.lookup(9), 0);
        assert_eq!(v.lookup(12345), 0);
    }

    #[test]
    fn ids_are_reproducible_and_ties_break_by_hash() {
        let a = Vocabulary::build([9, 3, 7, 3, 9, 7, 1], 1);
        let b = Vocabulary::build([1, 7, 9, 7, 3, 3, 9], 1);
        assert_eq!(a, b);
        // counts: 3→2, 7→2, 9→2, 1→1; ties in ascending hash order.
        assert_eq!(
            [a.lookup(3), a.lookup(7), a.lookup(9), a.lookup(1)],
            [1, 2, 3, 4]
        );
        assert_eq!(Vocabulary::build([], 1).cardinality(), 1);
        assert_eq!(
            Vocabulary::build([4, 4], 0).lookup(4),
            1,
            "min_count 0 acts as 1"
        );
    }

    #[test]
    fn survives_serialisation() {
        let v = Vocabulary::build([3, 1, 1, 2, 2, 2], 1);
        let back: Vocabulary = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(v, back);
        // With holes: ids and the table size travel too.
        let open = Vocabulary::from_assigned([(11, 3), (12, 1)], 5);
        let text = serde_json::to_string(&open).unwrap();
        let back: Vocabulary = serde_json::from_str(&text).unwrap();
        assert_eq!(back, open);
        assert_eq!(
            (back.lookup(11), back.lookup(12), back.lookup(13)),
            (3, 1, 0)
        );
        assert_eq!(back.cardinality(), 6);
        // The dense form stays as it was (artifacts written before read alike).
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"tokens":[2,1,3]}"#);
    }
}
