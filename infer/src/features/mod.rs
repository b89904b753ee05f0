//! Feature extraction on the serving path: catalog attributes, request
//! ids and statistic features from the feature store, encoded straight
//! into model ids and numbers (see [`encoder`]).

pub mod catalog;
pub mod encoder;

use anyhow::{Result, bail};
use ember_datasets::stats::{StatsConfig, stats_key};
use ember_datasets::{EncodedData, Preprocessor};

pub use catalog::{Catalog, CellSource};
pub use encoder::{Cell, RowEncoder};

use crate::feature_store::{KeyKind, StoreReader};

/// The most fields a (user, item) row may have: cells are gathered in a
/// stack array of this size.
const MAX_FIELDS: usize = 16;

/// Where one field of a (user, item) row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Catalog(CellSource),
    /// Column `column` of the user's or the item's statistic features.
    Stat {
        kind: KeyKind,
        column: usize,
    },
    /// Cell `index` of the user's or the item's attributes in the store.
    Stored {
        kind: KeyKind,
        index: usize,
    },
}

/// The attribute fields the feature store holds, per kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredFields {
    pub user: Vec<String>,
    pub item: Vec<String>,
}

/// Encodes (user, item) pairs for one ranking model from the catalog and,
/// for statistic features, the feature store.
#[derive(Debug, Clone)]
pub struct PairEncoder {
    encoder: RowEncoder,
    sources: Vec<Source>,
    /// The stats config the model was trained with, if it reads any.
    stats: Option<StatsConfig>,
    /// Whether some field is an attribute read from the store.
    reads_attributes: bool,
}

impl PairEncoder {
    /// Resolves every field of the model's schema: with `stored`, a user
    /// or item attribute the feature store holds; else a catalog cell; or,
    /// with `stats` (the model's training config), a statistic feature
    /// (`user_count_all`, `item_rate_30d`, ...). A field none can fill is an
    /// error naming it.
    pub fn new(
        preprocessor: &Preprocessor,
        catalog: &Catalog,
        stats: Option<&StatsConfig>,
        stored: Option<&StoredFields>,
    ) -> Result<Self> {
        let encoder = RowEncoder::new(preprocessor)?;
        if encoder.field_names().len() > MAX_FIELDS {
            bail!(
                "{} fields: the serving path takes at most {MAX_FIELDS}",
                encoder.field_names().len()
            );
        }
        let kinds = [KeyKind::User, KeyKind::Item];
        let prefixes = kinds.map(KeyKind::prefix);
        let sources: Vec<Source> = encoder
            .field_names()
            .iter()
            .map(|name| {
                let in_store = |kind: KeyKind, names: &[String]| {
                    names
                        .iter()
                        .position(|n| n == name)
                        .map(|index| Source::Stored { kind, index })
                };
                let attribute = matches!(
                    catalog.cell_source(name),
                    Some(CellSource::User(_) | CellSource::Item(_)) | None
                );
                if let Some(stored) = stored.filter(|_| attribute)
                    && let Some(s) = in_store(KeyKind::User, &stored.user)
                        .or_else(|| in_store(KeyKind::Item, &stored.item))
                {
                    return Ok(s);
                }
                if let Some(s) = catalog.cell_source(name) {
                    return Ok(Source::Catalog(s));
                }
                if let Some((prefix, column)) = stats.and_then(|s| s.column_of(name, &prefixes)) {
                    let kind = kinds[prefixes.iter().position(|&p| p == prefix).expect("listed")];
                    return Ok(Source::Stat { kind, column });
                }
                bail!(
                    "field '{name}' has no source in the catalog (its fields: {}){}",
                    catalog.field_names().join(", "),
                    if stats.is_none() {
                        " and the model reads no statistic features"
                    } else {
                        " nor among the statistic features"
                    }
                )
            })
            .collect::<Result<_>>()?;
        let reads_stats = sources.iter().any(|s| matches!(s, Source::Stat { .. }));
        let reads_attributes = sources.iter().any(|s| matches!(s, Source::Stored { .. }));
        Ok(Self {
            encoder,
            sources,
            stats: reads_stats.then(|| stats.cloned()).flatten(),
            reads_attributes,
        })
    }

    /// Whether encoding reads the feature store (statistics or attributes).
    pub fn needs_store(&self) -> bool {
        self.stats.is_some() || self.reads_attributes
    }

    /// The stats config of the statistic features this model reads.
    pub fn stats(&self) -> Option<&StatsConfig> {
        self.stats.as_ref()
    }

    pub fn start(&self, rows: usize) -> EncodedData {
        self.encoder.start(rows)
    }

    /// Appends one row per item (item rows) for the user row `user`, as of
    /// time `time` (unix seconds) for statistic features; what comes from
    /// the feature store is read through `store`, one batch per call.
    pub fn push_pairs(
        &self,
        catalog: &Catalog,
        user: u32,
        items: &[u32],
        mut store: Option<&mut StoreReader<'_>>,
        time: u64,
        out: &mut EncodedData,
    ) -> Result<()> {
        let n = self.sources.len();
        let (mut user_stats, mut item_stats) = (Vec::new(), Vec::new());
        let mut width = 0;
        if self.needs_store() && store.is_none() {
            bail!(
                "this model reads the feature store: the pipeline needs [features] store = \"...\""
            );
        }
        if let (Some(config), Some(store)) = (&self.stats, store.as_deref_mut()) {
            width = 2 * config.half_lives_days.len();
            store.features_many(
                KeyKind::User,
                &[stats_key(catalog.user_id(user))],
                time,
                &mut user_stats,
            )?;
            let keys: Vec<u64> = items
                .iter()
                .map(|&i| stats_key(catalog.item_id(i)))
                .collect();
            store.features_many(KeyKind::Item, &keys, time, &mut item_stats)?;
        }
        // Attributes: slices of the store's memory map, no copy. An id the
        // store lacks reads empty cells (the fields' OOV ids).
        let reader = store.as_deref();
        let attributes = |kind: KeyKind, id: &str| -> Result<Vec<&[u8]>> {
            match reader.filter(|_| self.reads_attributes) {
                Some(r) => Ok(r.attributes(kind, id)?.unwrap_or_default()),
                None => Ok(Vec::new()),
            }
        };
        let user_attributes = attributes(KeyKind::User, catalog.user_id(user))?;
        for (i, &item) in items.iter().enumerate() {
            let item_attributes = attributes(KeyKind::Item, catalog.item_id(item))?;
            let mut cells: [Cell; MAX_FIELDS] = [Cell::Bytes(b""); MAX_FIELDS];
            for (cell, &source) in cells.iter_mut().zip(&self.sources) {
                *cell = match source {
                    Source::Stored { kind, index } => {
                        let row = match kind {
                            KeyKind::User => &user_attributes,
                            KeyKind::Item => &item_attributes,
                        };
                        Cell::Bytes(row.get(index).copied().unwrap_or(b""))
                    }
                    Source::Catalog(s) => Cell::Bytes(catalog.cell(s, user, item)),
                    Source::Stat {
                        kind: KeyKind::User,
                        column,
                    } => Cell::Number(user_stats[column]),
                    Source::Stat {
                        kind: KeyKind::Item,
                        column,
                    } => Cell::Number(item_stats[i * width + column]),
                };
            }
            self.encoder.push_row(out, &cells[..n])?;
        }
        Ok(())
    }
}
