//! The serving side's feature store: the decayed counters behind the
//! statistic features (`ember_datasets::stats`), kept per user and per item
//! and updated from the events the server is sent, in an embedded
//! key-value store that the request path reads in batches.
//!
//! Why LMDB (through `heed`, Meilisearch's well-kept binding): lookups on
//! the request path dominate, and LMDB's readers take no lock and copy
//! nothing (a value is a slice of the memory map), run in parallel on
//! every core, and never wait for the one writer; a batch of lookups is one
//! read transaction, so it sees one consistent state. Writes are ACID and
//! survive a crash, so a restarted server keeps its counters. `redb` (pure
//! Rust) copies each value out through its own page cache; RocksDB (LSM)
//! reads through several levels and takes many minutes to build on two
//! cores; `sled` is unmaintained.
//!
//! The arithmetic is `ember_datasets::stats::counter`'s, shared with
//! training: replaying a log's events in time order and reading a key at
//! time `t` after the events before `t` gives exactly the features a
//! training row at `t` got (tested against the offline path).
//!
//! It also holds the users' and items' attributes (`ember features import`
//! writes a catalog's; a pipeline with `[features] attributes = true`
//! reads its rankers' user and item fields from here, not from the catalog
//! in memory), read zero-copy on the request path.
//!
//! Layout: database `counters`, key `[kind: u8][key: u64 BE]`, value one
//! `(impressions f64, positives f64, at u64)` per half-life, little-endian;
//! database `attributes`, key `[kind: u8][id bytes]`, value each field's
//! cell as `(length u32 LE, bytes)`; database `meta`: the stats config
//! (JSON), the prior (two f64) and each kind's attribute field names (JSON).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result, bail};
use ember_datasets::stats::{Counter, Prior, StatsConfig, features_into, observe};
use heed::types::Bytes;
use heed::{Database, Env, EnvOpenOptions, RoTxn, WithTls};

/// Which table a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    User = 0,
    Item = 1,
}

impl KeyKind {
    /// The feature-name prefix of the kind (`user_count_all`, ...).
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::User => "user",
            KeyKind::Item => "item",
        }
    }
}

/// One labelled event (an impression and whether it was positive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatEvent {
    pub user: u64,
    pub item: u64,
    pub time: u64,
    pub positive: bool,
}

const CONFIG: &[u8] = b"config";
/// Meta key of a kind's attribute field names.
fn fields_key(kind: KeyKind) -> [u8; 7] {
    [b'f', b'i', b'e', b'l', b'd', b's', kind as u8]
}
const PRIOR: &[u8] = b"prior";
const COUNTER_BYTES: usize = 24;

/// An open store.
pub struct FeatureStore {
    env: Env,
    counters: Database<Bytes, Bytes>,
    attributes: Database<Bytes, Bytes>,
    meta: Database<Bytes, Bytes>,
    config: StatsConfig,
    pub dir: PathBuf,
}

impl std::fmt::Debug for FeatureStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FeatureStore({})", self.dir.display())
    }
}

fn key_bytes(kind: KeyKind, key: u64) -> [u8; 9] {
    let mut out = [0u8; 9];
    out[0] = kind as u8;
    out[1..].copy_from_slice(&key.to_be_bytes());
    out
}

fn decode_counters(bytes: &[u8], out: &mut Vec<Counter>) -> Result<()> {
    if !bytes.len().is_multiple_of(COUNTER_BYTES) {
        bail!("a counter record of {} bytes", bytes.len());
    }
    out.clear();
    for c in bytes.chunks_exact(COUNTER_BYTES) {
        let f = |i: usize| f64::from_le_bytes(c[i..i + 8].try_into().expect("8 bytes"));
        out.push(Counter {
            impressions: f(0),
            positives: f(8),
            at: u64::from_le_bytes(c[16..24].try_into().expect("8 bytes")),
        });
    }
    Ok(())
}

fn encode_counters(counters: &[Counter], out: &mut Vec<u8>) {
    out.clear();
    for c in counters {
        out.extend_from_slice(&c.impressions.to_le_bytes());
        out.extend_from_slice(&c.positives.to_le_bytes());
        out.extend_from_slice(&c.at.to_le_bytes());
    }
}

fn decode_prior(bytes: Option<&[u8]>) -> Prior {
    match bytes {
        Some(b) if b.len() == 16 => Prior {
            seen: f64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            seen_positive: f64::from_le_bytes(b[8..].try_into().expect("8 bytes")),
        },
        _ => Prior::default(),
    }
}

/// Every store this process has open, by canonical path: LMDB allows one
/// environment per file per process, and pipeline versions share it.
fn open_stores() -> &'static Mutex<HashMap<PathBuf, Arc<FeatureStore>>> {
    static STORES: OnceLock<Mutex<HashMap<PathBuf, Arc<FeatureStore>>>> = OnceLock::new();
    STORES.get_or_init(Default::default)
}

impl FeatureStore {
    /// Opens (creating if missing) the store in `dir` for `config`. A store
    /// created for another config is an error: its counters would not
    /// mean what the model was trained on.
    pub fn open(dir: &Path, config: &StatsConfig) -> Result<Arc<Self>> {
        let store = Self::open_any_or(dir, config)?;
        store.check_config(config)?;
        Ok(store)
    }

    /// Opens the store in `dir` with whatever config it counts with (a new
    /// store counts with the default one).
    pub fn open_any(dir: &Path) -> Result<Arc<Self>> {
        Self::open_any_or(dir, &StatsConfig::default())
    }

    /// Opens the store in `dir`, or creates it counting with `new_config`.
    pub fn open_or_create(dir: &Path, new_config: &StatsConfig) -> Result<Arc<Self>> {
        Self::open_any_or(dir, new_config)
    }

    fn open_any_or(dir: &Path, new_config: &StatsConfig) -> Result<Arc<Self>> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let canonical = dir
            .canonicalize()
            .with_context(|| format!("resolving {}", dir.display()))?;
        let mut stores = open_stores().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(store) = stores.get(&canonical) {
            return Ok(store.clone());
        }
        // SAFETY: LMDB maps the file; heed's precondition is that nothing
        // modifies it behind LMDB's back. Only LMDB writes it (this process
        // opens it once, through the map above; other processes go through
        // LMDB's own lock file), and no unsafe flags are set.
        let env = unsafe {
            EnvOpenOptions::new()
                .map_size(1 << 34) // address space only: the file grows as written
                .max_dbs(4)
                .open(&canonical)
        }
        .with_context(|| format!("opening the feature store {}", dir.display()))?;
        let mut wtxn = env.write_txn()?;
        let counters = env.create_database(&mut wtxn, Some("counters"))?;
        let attributes = env.create_database(&mut wtxn, Some("attributes"))?;
        let meta: Database<Bytes, Bytes> = env.create_database(&mut wtxn, Some("meta"))?;
        let stored: Option<StatsConfig> = meta
            .get(&wtxn, CONFIG)?
            .map(serde_json::from_slice)
            .transpose()
            .with_context(|| format!("{}: unreadable stats config", dir.display()))?;
        let config = match stored {
            Some(stored) => stored,
            None => {
                meta.put(&mut wtxn, CONFIG, &serde_json::to_vec(new_config)?)?;
                new_config.clone()
            }
        };
        wtxn.commit()?;
        let store = Arc::new(Self {
            env,
            counters,
            attributes,
            meta,
            config,
            dir: canonical.clone(),
        });
        stores.insert(canonical, store.clone());
        Ok(store)
    }

    fn check_config(&self, wanted: &StatsConfig) -> Result<()> {
        if &self.config != wanted {
            bail!(
                "feature store {} counts with {:?}, the model was trained with {:?}",
                self.dir.display(),
                self.config,
                wanted
            );
        }
        Ok(())
    }

    pub fn config(&self) -> &StatsConfig {
        &self.config
    }

    /// Counts `events` (in time order; an event older than a key's last
    /// update counts at that update's time) in one write transaction.
    pub fn observe(&self, events: &[StatEvent]) -> Result<()> {
        let mut wtxn = self.env.write_txn()?;
        let mut prior = decode_prior(self.meta.get(&wtxn, PRIOR)?);
        let h = self.config.half_lives_days.len();
        let (mut state, mut bytes) = (Vec::with_capacity(h), Vec::with_capacity(h * COUNTER_BYTES));
        for e in events {
            for (kind, key) in [(KeyKind::User, e.user), (KeyKind::Item, e.item)] {
                let k = key_bytes(kind, key);
                match self.counters.get(&wtxn, &k)? {
                    Some(b) => decode_counters(b, &mut state)?,
                    None => {
                        state.clear();
                        state.resize(h, Counter::default());
                    }
                }
                let t = state.iter().map(|c| c.at).fold(e.time, u64::max);
                observe(&mut state, t, e.positive, &self.config);
                encode_counters(&state, &mut bytes);
                self.counters.put(&mut wtxn, &k, &bytes)?;
            }
            prior.observe(e.positive);
        }
        let mut p = Vec::with_capacity(16);
        p.extend_from_slice(&prior.seen.to_le_bytes());
        p.extend_from_slice(&prior.seen_positive.to_le_bytes());
        self.meta.put(&mut wtxn, PRIOR, &p)?;
        wtxn.commit()?;
        Ok(())
    }

    /// Writes the attributes of one kind: `fields` names the cells of every
    /// row, `rows` are `(id, cells)`. Replaces the kind's field list; rows
    /// of ids not given are left as they were. One write transaction.
    pub fn put_attributes<'a>(
        &self,
        kind: KeyKind,
        fields: &[String],
        rows: impl IntoIterator<Item = (&'a str, Vec<&'a [u8]>)>,
    ) -> Result<usize> {
        let mut wtxn = self.env.write_txn()?;
        self.meta
            .put(&mut wtxn, &fields_key(kind), &serde_json::to_vec(fields)?)?;
        let (mut key, mut value, mut n) = (Vec::new(), Vec::new(), 0);
        for (id, cells) in rows {
            if cells.len() != fields.len() {
                bail!(
                    "{} '{id}': {} cells for {} fields",
                    kind.prefix(),
                    cells.len(),
                    fields.len()
                );
            }
            key.clear();
            key.push(kind as u8);
            key.extend_from_slice(id.as_bytes());
            value.clear();
            for cell in cells {
                let len = u32::try_from(cell.len()).context("a cell over 4 GiB")?;
                value.extend_from_slice(&len.to_le_bytes());
                value.extend_from_slice(cell);
            }
            self.attributes.put(&mut wtxn, &key, &value)?;
            n += 1;
        }
        wtxn.commit()?;
        Ok(n)
    }

    /// Writes a catalog's user and item attribute tables (every field of
    /// each, as the log's files wrote them); returns (users, items).
    pub fn import_catalog(&self, catalog: &crate::features::Catalog) -> Result<(usize, usize)> {
        let log = catalog.log();
        let mut counts = [0usize; 2];
        for (n, (kind, table)) in counts
            .iter_mut()
            .zip([(KeyKind::User, &log.users), (KeyKind::Item, &log.items)])
        {
            let fields: Vec<String> = table.fields.iter().map(|f| f.name.clone()).collect();
            let rows = (0..table.len() as u32).map(|row| {
                let cells = (0..fields.len()).map(|f| table.cell(f, row)).collect();
                (table.ids.id(row), cells)
            });
            *n = self.put_attributes(kind, &fields, rows)?;
        }
        Ok((counts[0], counts[1]))
    }

    /// The attribute field names of `kind`, if any were imported.
    pub fn attribute_fields(&self, kind: KeyKind) -> Result<Option<Vec<String>>> {
        let rtxn = self.env.read_txn()?;
        self.meta
            .get(&rtxn, &fields_key(kind))?
            .map(|b| serde_json::from_slice(b).context("unreadable attribute field names"))
            .transpose()
    }

    /// A consistent view for a batch of lookups.
    pub fn reader(&self) -> Result<StoreReader<'_>> {
        let txn = self.env.read_txn()?;
        let prior = decode_prior(self.meta.get(&txn, PRIOR)?);
        Ok(StoreReader {
            store: self,
            txn,
            prior,
            scratch: Vec::new(),
        })
    }

    /// Values per key: `2 · half-lives`.
    pub fn width(&self) -> usize {
        2 * self.config.half_lives_days.len()
    }
}

/// One read transaction over the store.
pub struct StoreReader<'s> {
    store: &'s FeatureStore,
    txn: RoTxn<'s, WithTls>,
    prior: Prior,
    scratch: Vec<Counter>,
}

impl StoreReader<'_> {
    /// The attribute cells of `id` (zero-copy slices of the map), in the
    /// kind's field order; `None` for an id never imported.
    pub fn attributes(&self, kind: KeyKind, id: &str) -> Result<Option<Vec<&[u8]>>> {
        let mut key = Vec::with_capacity(1 + id.len());
        key.push(kind as u8);
        key.extend_from_slice(id.as_bytes());
        let Some(mut value) = self.store.attributes.get(&self.txn, &key)? else {
            return Ok(None);
        };
        let mut cells = Vec::new();
        while !value.is_empty() {
            let (len, rest) = value
                .split_at_checked(4)
                .context("a truncated attribute record")?;
            let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
            let (cell, rest) = rest
                .split_at_checked(len)
                .context("a truncated attribute record")?;
            cells.push(cell);
            value = rest;
        }
        Ok(Some(cells))
    }

    /// The stored counter record of a key, as bytes (benchmarks time the
    /// store's own lookup with it).
    pub fn raw(&self, kind: KeyKind, key: u64) -> Result<Option<&[u8]>> {
        Ok(self.store.counters.get(&self.txn, &key_bytes(kind, key))?)
    }

    /// The features of `key` at time `t` into `out` (`width` values, in
    /// `StatsConfig::column_names` order).
    pub fn features(&mut self, kind: KeyKind, key: u64, t: u64, out: &mut [f32]) -> Result<()> {
        let found = self.store.counters.get(&self.txn, &key_bytes(kind, key))?;
        let counters = match found {
            Some(b) => {
                decode_counters(b, &mut self.scratch)?;
                Some(self.scratch.as_slice())
            }
            None => None,
        };
        features_into(counters, t, &self.prior, &self.store.config, out);
        Ok(())
    }

    /// The features of many keys at `t`, appended to `out` in `keys` order.
    /// The keys are looked up in sorted order: consecutive lookups then
    /// share the B+ tree's upper pages and walk its leaves forward, which
    /// is what makes a batch cheaper than its keys one by one.
    pub fn features_many(
        &mut self,
        kind: KeyKind,
        keys: &[u64],
        t: u64,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        let w = self.store.width();
        let start = out.len();
        out.resize(start + keys.len() * w, 0.0);
        let mut order: Vec<u32> = (0..keys.len() as u32).collect();
        order.sort_unstable_by_key(|&i| keys[i as usize]);
        for i in order {
            let i = i as usize;
            let slot = &mut out[start + i * w..start + (i + 1) * w];
            self.features(kind, keys[i], t, slot)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_datasets::stats::DecayedStats;

    #[test]
    fn replayed_events_give_the_training_features_and_survive_a_reopen() {
        let config = StatsConfig {
            half_lives_days: vec![0.0, 1.0],
            prior_weight: 3.0,
        };
        let day = 86_400;
        // (user, item, time, positive), in time order, two sharing a time.
        let log = [
            (1, 10, 0, true),
            (2, 10, day / 2, false),
            (1, 11, day, true),
            (2, 11, day, false),
            (1, 10, 3 * day, false),
        ];
        let items: Vec<u64> = log.iter().map(|e| e.1).collect();
        let time: Vec<u64> = log.iter().map(|e| e.2).collect();
        let positive: Vec<bool> = log.iter().map(|e| e.3).collect();
        let offline = DecayedStats::compute("item", &items, &time, &positive, &config);
        let dir = tempfile::tempdir().unwrap();
        let store = FeatureStore::open(dir.path(), &config).unwrap();
        let mut i = 0;
        while i < log.len() {
            let t = log[i].2;
            let group: Vec<_> = log.iter().filter(|e| e.2 == t).collect();
            // Rows at t read the counters of the events before t ...
            let mut reader = store.reader().unwrap();
            for (j, e) in group.iter().enumerate() {
                let mut got = vec![0f32; 4];
                reader.features(KeyKind::Item, e.1, t, &mut got).unwrap();
                let want: Vec<f32> = offline.columns.iter().map(|c| c[i + j]).collect();
                assert_eq!(got, want, "row {}", i + j);
            }
            drop(reader);
            // ... then the events at t are counted.
            let events: Vec<StatEvent> = group
                .iter()
                .map(|e| StatEvent {
                    user: e.0,
                    item: e.1,
                    time: e.2,
                    positive: e.3,
                })
                .collect();
            store.observe(&events).unwrap();
            i += group.len();
        }
        // The same process reopening gets the same store; another config is refused.
        let again = FeatureStore::open(dir.path(), &config).unwrap();
        assert!(Arc::ptr_eq(&store, &again));
        let other = StatsConfig {
            prior_weight: 1.0,
            ..config.clone()
        };
        assert!(FeatureStore::open(dir.path(), &other).is_err());
        let mut out = Vec::new();
        again
            .reader()
            .unwrap()
            .features_many(KeyKind::User, &[1, 2, 99], 4 * day, &mut out)
            .unwrap();
        assert_eq!(out.len(), 12);
        assert!((out[0] - 3f32.ln_1p()).abs() < 1e-6, "user 1: 3 events");
        assert_eq!(out[8], 0.0, "user 99 never seen");
        // open_any takes the store as it was created.
        assert!(Arc::ptr_eq(
            &FeatureStore::open_any(dir.path()).unwrap(),
            &store
        ));
    }

    #[test]
    fn attributes_round_trip_with_empty_cells() {
        let dir = tempfile::tempdir().unwrap();
        let store = FeatureStore::open_any(dir.path()).unwrap();
        assert!(store.attribute_fields(KeyKind::Item).unwrap().is_none());
        let fields = vec!["genres".to_owned(), "brand".to_owned()];
        let rows = vec![
            ("i1", vec![&b"1|4"[..], &b"acme"[..]]),
            ("i2", vec![&b""[..], &b"x"[..]]),
        ];
        assert_eq!(
            store.put_attributes(KeyKind::Item, &fields, rows).unwrap(),
            2
        );
        assert_eq!(
            store.attribute_fields(KeyKind::Item).unwrap().unwrap(),
            fields
        );
        let reader = store.reader().unwrap();
        assert_eq!(
            reader.attributes(KeyKind::Item, "i1").unwrap().unwrap(),
            [&b"1|4"[..], &b"acme"[..]]
        );
        assert_eq!(
            reader.attributes(KeyKind::Item, "i2").unwrap().unwrap(),
            [&b""[..], &b"x"[..]]
        );
        assert!(reader.attributes(KeyKind::Item, "i3").unwrap().is_none());
        assert!(reader.attributes(KeyKind::User, "i1").unwrap().is_none());
        let bad = vec![("i9", vec![&b"1"[..]])];
        assert!(store.put_attributes(KeyKind::Item, &fields, bad).is_err());
    }
}
