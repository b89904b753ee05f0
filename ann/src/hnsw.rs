//! An HNSW index (Malkov & Yashunin 2018) over unit vectors, built with the
//! `instant-distance` crate, plus its file format.
//!
//! Distance is `1 − u·v`, which orders unit vectors exactly as the cosine
//! does; results are reported as scores `u·v`. The crate fixes `M` = 32
//! (64 links on the bottom layer) and keeps `ef_search` from build time, so
//! both construction and search width are index parameters saved with it.

use std::path::Path;

use anyhow::{Result, bail};
use indicatif::ProgressBar;
use instant_distance::{Builder, HnswMap, Point, Search};
use serde::{Deserialize, Serialize};

use crate::Neighbour;
use crate::format;
use crate::vectors::{VectorSet, dot};

const MAGIC: &[u8; 8] = b"EMBERHNS";
const VERSION: u32 = 1;

/// Build and search widths. Larger is slower and more exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HnswParams {
    /// Candidates kept while inserting (`efConstruction`).
    pub ef_construction: usize,
    /// Candidates kept while searching (`ef`); a search returns at most this many.
    pub ef_search: usize,
    /// Seeds the random layer assignment, so a build is reproducible.
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        Self {
            ef_construction: 100,
            ef_search: 200,
            seed: 42,
        }
    }
}

/// One stored vector; `Point` is how the crate measures distance.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Unit(Vec<f32>);

impl Point for Unit {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - dot(&self.0, &other.0)
    }
}

/// The graph plus, per graph node, the row of the vector in the original set.
pub struct HnswIndex {
    dim: usize,
    params: HnswParams,
    map: HnswMap<Unit, u32>,
}

impl HnswIndex {
    /// Builds the index over `vectors` (which should be unit length) on all
    /// cores; `progress` (optional) counts inserted points.
    pub fn build(vectors: &VectorSet, params: HnswParams, progress: Option<ProgressBar>) -> Self {
        let points: Vec<Unit> = vectors.rows().map(|r| Unit(r.to_vec())).collect();
        let rows: Vec<u32> = (0..vectors.len() as u32).collect();
        let mut builder = Builder::default()
            .ef_construction(params.ef_construction)
            .ef_search(params.ef_search)
            .seed(params.seed);
        if let Some(bar) = progress {
            builder = builder.progress(bar);
        }
        Self {
            dim: vectors.dim(),
            params,
            map: builder.build(points, rows),
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.map.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.values.is_empty()
    }

    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Up to `min(k, ef_search)` approximate nearest rows, best first.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<Neighbour>> {
        if query.len() != self.dim {
            bail!(
                "query vector has dimension {}, the index {}",
                query.len(),
                self.dim
            );
        }
        if query.iter().any(|x| !x.is_finite()) {
            bail!("query vector has a non-finite value");
        }
        let mut search = Search::default();
        let point = Unit(query.to_vec());
        Ok(self
            .map
            .search(&point, &mut search)
            .take(k)
            .map(|item| Neighbour {
                id: *item.value,
                score: 1.0 - item.distance,
            })
            .collect())
    }

    /// The file form: the envelope of `format` around the bincode of the graph.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload = bincode::serialize(&(&self.params, &self.map))?;
        Ok(format::encode(
            MAGIC,
            VERSION,
            [self.len() as u64, self.dim as u64, 0, 0],
            &payload,
        ))
    }

    /// Reads what [`HnswIndex::to_bytes`] wrote, checking the envelope, then
    /// that the graph holds the announced number of vectors, each of the
    /// announced dimension, each naming a distinct row.
    pub fn from_bytes(bytes: &[u8], origin: &Path) -> Result<Self> {
        let name = origin.display();
        let (header, payload) = format::decode(bytes, MAGIC, VERSION, origin)?;
        let [count, dim, _, _] = header.shape;
        let (params, map): (HnswParams, HnswMap<Unit, u32>) = bincode::deserialize(payload)
            .map_err(|e| anyhow::anyhow!("{name}: the index does not decode: {e}"))?;
        if map.values.len() as u64 != count {
            bail!(
                "{name}: header says {count} vectors, the graph holds {}",
                map.values.len()
            );
        }
        let mut seen = vec![false; map.values.len()];
        for &row in &map.values {
            match seen.get_mut(row as usize) {
                Some(s) if !*s => *s = true,
                _ => bail!("{name}: the graph names row {row} twice or out of range"),
            }
        }
        if let Some((_, p)) = map.iter().find(|(_, p)| p.0.len() as u64 != dim) {
            bail!(
                "{name}: a stored vector has dimension {}, the header {dim}",
                p.0.len()
            );
        }
        Ok(Self {
            dim: dim as usize,
            params,
            map,
        })
    }

    /// Reads an index file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the ANN index: {e}", path.display()))?;
        Self::from_bytes(&bytes, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact_top_k;
    use crate::synthetic::{ClusteredSpec, clustered};

    #[test]
    fn finds_most_exact_neighbours_and_survives_a_round_trip() {
        let spec = ClusteredSpec {
            count: 2000,
            dim: 16,
            clusters: 30,
            spread: 0.3,
            seed: 1,
        };
        let items = clustered(&spec);
        let queries = clustered(&ClusteredSpec {
            count: 20,
            seed: 2,
            ..spec
        });
        let index = HnswIndex::build(&items, HnswParams::default(), None);
        let (mut hits, mut total) = (0, 0);
        for q in queries.rows() {
            let exact = exact_top_k(&items, q, 10, |_| false).unwrap();
            let approx = index.search(q, 10).unwrap();
            assert!(approx.windows(2).all(|w| w[0].score >= w[1].score - 1e-6));
            hits += approx
                .iter()
                .filter(|a| exact.iter().any(|e| e.id == a.id))
                .count();
            total += exact.len();
        }
        let recall = hits as f64 / total as f64;
        assert!(recall > 0.9, "recall@10 {recall}");

        let path = Path::new("index.hnsw");
        let bytes = index.to_bytes().unwrap();
        let back = HnswIndex::from_bytes(&bytes, path).unwrap();
        let q = queries.row(0);
        assert_eq!(back.search(q, 10).unwrap(), index.search(q, 10).unwrap());
        assert_eq!(back.params(), index.params());
        let err = back.search(&q[..8], 5).unwrap_err().to_string();
        assert!(err.contains("dimension 8"), "{err}");

        let mut corrupt = bytes.clone();
        let mid = corrupt.len() / 2;
        corrupt[mid] ^= 0xff;
        let err = HnswIndex::from_bytes(&corrupt, path)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("index.hnsw") && err.contains("corrupt"),
            "{err}"
        );
        let err = HnswIndex::from_bytes(b"not an index", path)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("truncated"), "{err}");
        let vectors = items.to_bytes();
        let err = HnswIndex::from_bytes(&vectors, path)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not an ember EMBERHNS file"), "{err}");
    }
}
