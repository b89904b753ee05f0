//! Feature extraction on the serving path: catalog attributes, request
//! ids and statistic features from the feature store, encoded straight
//! into model ids and numbers (see [`encoder`]).

pub mod catalog;
pub mod encoder;

use anyhow::{Context, Result, bail};
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
}

/// Encodes (user, item) pairs for one ranking model from the catalog and,
/// for statistic features, the feature store.
#[derive(Debug, Clone)]
pub struct PairEncoder {
    encoder: RowEncoder,
    sources: Vec<Source>,
    /// The stats config the model was trained with, if it reads any.
    stats: Option<StatsConfig>,
}

impl PairEncoder {
    /// Resolves every field of the model's schema to a catalog cell or,
    /// with `stats` (the model's training config), a statistic feature
    /// (`user_count_all`, `item_rate_30d`, ...); a field neither can fill is
    /// an error naming it.
    pub fn new(
        preprocessor: &Preprocessor,
        catalog: &Catalog,
        stats: Option<&StatsConfig>,
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
        Ok(Self {
            encoder,
            sources,
            stats: reads_stats.then(|| stats.cloned()).flatten(),
        })
    }

    /// The stats config of the statistic features this model reads.
    pub fn stats(&self) -> Option<&StatsConfig> {
        self.stats.as_ref()
    }

    pub fn start(&self, rows: usize) -> EncodedData {
        self.encoder.start(rows)
    }

    /// Appends one row per item (item rows) for the user row `user`, as of
    /// time `time` (unix seconds) for statistic features, read in one batch
    /// from `store`.
    pub fn push_pairs(
        &self,
        catalog: &Catalog,
        user: u32,
        items: &[u32],
        store: Option<&mut StoreReader<'_>>,
        time: u64,
        out: &mut EncodedData,
    ) -> Result<()> {
        let n = self.sources.len();
        let (mut user_stats, mut item_stats) = (Vec::new(), Vec::new());
        let mut width = 0;
        if let Some(config) = &self.stats {
            let store = store.context("this model reads statistic features: the pipeline needs [features] store = \"...\"")?;
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
        for (i, &item) in items.iter().enumerate() {
            let mut cells: [Cell; MAX_FIELDS] = [Cell::Bytes(b""); MAX_FIELDS];
            for (cell, &source) in cells.iter_mut().zip(&self.sources) {
                *cell = match source {
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
