//! ml100k-ctr (PROTOCOLS.md): MovieLens-100K ratings joined with users and
//! items, split by time.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DataSource;
use crate::error::Result;
use crate::paths::default_data_root;
use crate::prepared::PreparedData;
use crate::raw::{RawColumn, RawTable};
use crate::readers::ReadOptions;
use crate::readers::movielens::{MovieLensTable, RatingLabel, movielens_schema, read_movielens};
use crate::schema::{FieldSpec, Normalisation, Schema};
use crate::splits;
use crate::stats::{DecayedStats, StatsConfig};

/// PROTOCOLS.md ml100k-ctr; `labels` adds tasks (e.g. `["like", "love"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ml100kCtr {
    /// The data directory holding `ml-100k/`.
    pub root: PathBuf,
    pub labels: Vec<RatingLabel>,
    /// Users and items with fewer training rows share the OOV id
    /// (see [`crate::readers::movielens::movielens_schema`]).
    pub id_min_count: u32,
    /// Decayed user and item statistics of the first label as numeric
    /// fields ([`crate::stats`]), each row's from the ratings before it.
    pub stats: Option<StatsConfig>,
}

impl Default for Ml100kCtr {
    /// The protocol's: one task, rating ≥ 4; every id its own.
    fn default() -> Self {
        Self {
            root: default_data_root(),
            labels: vec![RatingLabel::AtLeast4],
            id_min_count: 1,
            stats: None,
        }
    }
}

impl Ml100kCtr {
    /// Every rating of `u.data`, joined with the side files.
    fn ratings(&self) -> Result<MovieLensTable> {
        let dir = self.root.join("ml-100k");
        read_movielens(
            &dir,
            &dir.join("u.data"),
            &self.labels,
            ReadOptions::default(),
        )
    }
}

impl DataSource for Ml100kCtr {
    const NAME: &'static str = "ml100k-ctr";
    const DESCRIPTION: &'static str =
        "MovieLens-100K ratings joined with users and items; label rating>=4; time split 80/10/10";

    fn builtin(data_root: &Path) -> Option<Self> {
        Some(Self {
            root: data_root.to_owned(),
            ..Self::default()
        })
    }

    fn load(&self) -> Result<PreparedData> {
        let ml = self.ratings()?;
        let parts = splits::time_split(&ml.timestamp, &ml.user, &ml.item);
        let mut schema = movielens_schema(&self.labels, self.id_min_count);
        let mut table = ml.table.clone();
        if let Some(config) = &self.stats {
            // Every rating in time order: a test row sees the (earlier)
            // ratings of the test period too, as a server counting the
            // stream would.
            add_stats(&mut schema, &mut table, &ml, None, config);
        }
        PreparedData::fit(&schema, parts.map(|rows| table.take(&rows)))
    }

    /// A ratings file in the u.data layout, joined with `u.user` / `u.item`
    /// under the config's root. With `stats`, each row's statistics are those of the ratings of
    /// `u.data` strictly before its timestamp: what its row in training got
    /// (tested), and what a server counting the stream would give it.
    fn read_for_prediction(&self, path: &Path, options: ReadOptions) -> Result<RawTable> {
        let dir = self.root.join("ml-100k");
        let rows = read_movielens(&dir, path, &self.labels, options)?;
        let Some(config) = &self.stats else {
            return Ok(rows.table);
        };
        let ml = self.ratings()?;
        let mut schema = movielens_schema(&self.labels, self.id_min_count);
        let mut table = rows.table.clone();
        add_stats(&mut schema, &mut table, &rows, Some(&ml), config);
        Ok(table)
    }

    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        vec![&mut self.root]
    }
}

/// Appends the decayed user and item statistics of the first task's label
/// to `table` (the ratings `rows`) and their numeric fields to `schema`.
/// With `events`, the counters come from those ratings only and `rows` just
/// read them; without, `rows` are the events.
fn add_stats(
    schema: &mut Schema,
    table: &mut RawTable,
    rows: &MovieLensTable,
    events: Option<&MovieLensTable>,
    config: &StatsConfig,
) {
    // The stream: the events (if given) then the rows; only events count.
    let stream: Vec<(&MovieLensTable, bool)> = events
        .map(|e| (e, true))
        .into_iter()
        .chain([(rows, events.is_none())])
        .collect();
    let column = |f: fn(&MovieLensTable, usize) -> u64| -> Vec<u64> {
        stream
            .iter()
            .flat_map(|&(t, _)| (0..t.user.len()).map(move |r| f(t, r)))
            .collect()
    };
    let time = column(|t, r| t.timestamp[r]);
    // The first task's label, as training's rows have it.
    let positive: Vec<bool> = stream
        .iter()
        .flat_map(|&(t, _)| t.table.labels.iter().step_by(t.table.num_tasks.max(1)))
        .map(|&y| y >= 0.5)
        .collect();
    let counts: Vec<bool> = stream
        .iter()
        .flat_map(|&(t, counts)| std::iter::repeat_n(counts, t.user.len()))
        .collect();
    let skip = time.len() - rows.user.len();
    let keys: [(&str, Vec<u64>); 2] = [
        ("user", column(|t, r| u64::from(t.user[r]))),
        ("item", column(|t, r| u64::from(t.item[r]))),
    ];
    for (prefix, keys) in keys {
        let stats =
            DecayedStats::compute_with(prefix, &keys, &time, &positive, Some(&counts), config);
        for (name, values) in stats.names.into_iter().zip(stats.columns) {
            schema
                .fields
                .push(FieldSpec::numeric(&name, Normalisation::Standard));
            table
                .columns
                .push(RawColumn::Numeric(values[skip..].to_vec()));
        }
    }
}
