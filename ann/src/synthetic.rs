//! Clustered synthetic unit vectors, shaped like learned item embeddings:
//! items gather around topics instead of filling the sphere uniformly.
//! (Uniform noise in 64 dimensions is the hardest and least realistic case
//! for any ANN index: every point is nearly equidistant from every other.)
//!
//! Each vector is `normalise(c_k + spread · z / √dim)` with a cluster centre
//! `c_k` uniform on the sphere, `z ~ N(0, I)`, and `k` drawn uniformly, so
//! `spread` is the ratio of the noise norm to the centre norm.

use rand::{Rng, SeedableRng, rngs::SmallRng};
use rand_distr::StandardNormal;

use crate::vectors::{VectorSet, normalise};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusteredSpec {
    pub count: usize,
    pub dim: usize,
    pub clusters: usize,
    /// Noise norm relative to the centre norm (1).
    pub spread: f32,
    /// Seeds the draws of the points. The centres depend on `dim` and
    /// `clusters` only, so specs differing in `count` and `seed` share their
    /// clusters (queries drawn around the same topics as the items).
    pub seed: u64,
}

/// `clusters` centres uniform on the unit sphere.
pub fn centres(dim: usize, clusters: usize, seed: u64) -> VectorSet {
    let mut rng = SmallRng::seed_from_u64(seed);
    let data = (0..dim * clusters.max(1))
        .map(|_| rng.sample::<f32, _>(StandardNormal))
        .collect();
    VectorSet::new(dim, data).expect("finite").normalised()
}

/// `count` unit vectors around `centres` (see the module doc).
pub fn clustered_with_centres(
    centres: &VectorSet,
    count: usize,
    spread: f32,
    seed: u64,
) -> VectorSet {
    let dim = centres.dim();
    let mut rng = SmallRng::seed_from_u64(seed);
    let scale = spread / (dim as f32).sqrt();
    let mut data = Vec::with_capacity(count * dim);
    for _ in 0..count {
        let c = centres.row(rng.random_range(0..centres.len()));
        let start = data.len();
        data.extend(
            c.iter()
                .map(|&x| x + scale * rng.sample::<f32, _>(StandardNormal)),
        );
        normalise(&mut data[start..]);
    }
    VectorSet::new(dim, data).expect("finite")
}

/// Vectors around centres seeded by `spec.clusters` and `spec.dim` alone,
/// so data and queries made from specs differing only in `count` and `seed`
/// share their clusters.
pub fn clustered(spec: &ClusteredSpec) -> VectorSet {
    let c = centres(spec.dim, spec.clusters, 0x5eed ^ spec.clusters as u64);
    clustered_with_centres(&c, spec.count, spec.spread, spec.seed)
}
