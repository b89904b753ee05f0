//! ember-ann: nearest-neighbour search over item vectors.
//!
//! Retrieval scores an item by the inner product of unit-length user and
//! item vectors (cosine). [`exact`] scans every item; [`HnswIndex`] is an
//! HNSW graph (built by the `instant-distance` crate, searched here) that
//! visits a few thousand. Both answer with [`Neighbour`]s, best first, so
//! one measures the other, and both can leave rows out (a user's seen
//! items) without returning fewer results for it.
//!
//! Files written here carry a magic tag, a version, their shape and an XXH3
//! checksum of the payload, so a truncated or corrupted file is reported as
//! such instead of decoding into garbage. Callers write the bytes through
//! their own atomic writer (`ember_models::artifact::write_atomic`).

pub mod exact;
pub mod format;
mod graph;
pub mod hnsw;
pub mod synthetic;
pub mod vectors;

pub use exact::{exact_top_k, top_k_by};
pub use graph::Found;
pub use hnsw::{HnswIndex, HnswParams};
pub use vectors::VectorSet;

/// One search result: the row of the item in its [`VectorSet`] and its score
/// (the inner product with the query; the cosine for unit vectors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    pub id: u32,
    pub score: f32,
}
