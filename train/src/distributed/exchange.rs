//! The all-to-all exchanges of a sharded table: rows out to the ranks that
//! use them before the forward pass, gradients back to the ranks that own
//! them after the backward pass.
//!
//! For one table and one step, rank `r` has deduped its batch's ids to
//! `unique_r`. Then
//!
//! 1. ids: `r` sends each id of `unique_r` to its owner (all-to-all);
//! 2. rows: each owner replies with its local rows of the ids it was sent
//!    (all-to-all), and `r` runs its forward and backward pass on those
//!    `[U_r, d]` rows as if its table held them;
//! 3. gradients: `r` sends `∂L_r/∂rows` back along the same routes
//!    (all-to-all); an owner sums the gradients of a row that several
//!    ranks used, `g = (1/N) Σ_r ∂L_r/∂row` (each `L_r` is a mean over a
//!    local batch of `B/N`, so `g` is the gradient of the mean over the
//!    global batch of `B`), and applies the row-sparse optimizer to its rows.
//!
//! Each rank sends `U_r (4 + 8d)` bytes a table a step, less what it owns
//! itself, however large the table.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use burn::module::ParamId;
use burn::prelude::*;
use burn::tensor::TensorData;
use ember_models::layers::RowSource;

use super::comm::Collective;
use super::shard::RowShards;

/// `unique` grouped by owner: the order ids travel in.
struct Route {
    /// The ids, owner 0's first.
    ids: Vec<i32>,
    /// How many go to each rank.
    counts: Vec<usize>,
    /// `ids[k] = unique[positions[k]]`.
    positions: Vec<usize>,
}

impl Route {
    fn new(unique: &[i32], shards: RowShards) -> Self {
        let mut counts = vec![0usize; shards.ranks];
        for &id in unique {
            counts[shards.owner(id)] += 1;
        }
        let mut next: Vec<usize> = counts
            .iter()
            .scan(0, |at, &c| {
                let start = *at;
                *at += c;
                Some(start)
            })
            .collect();
        let mut ids = vec![0i32; unique.len()];
        let mut positions = vec![0usize; unique.len()];
        for (p, &id) in unique.iter().enumerate() {
            let slot = &mut next[shards.owner(id)];
            ids[*slot] = id;
            positions[*slot] = p;
            *slot += 1;
        }
        Self {
            ids,
            counts,
            positions,
        }
    }
}

/// What one table's owner learnt from step 1: the ids every rank asked for.
struct Asked {
    ids: Vec<i32>,
    counts: Vec<usize>,
}

/// The row source of sharded tables (see the module docs).
pub struct ShardedRows {
    comm: Arc<dyn Collective>,
    shards: RowShards,
    /// Per table, the ids asked of this rank in the current step, which
    /// the gradients of step 3 come back in the order of.
    asked: Mutex<HashMap<ParamId, Asked>>,
}

impl std::fmt::Debug for ShardedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedRows")
            .field("shards", &self.shards)
            .finish_non_exhaustive()
    }
}

/// An owner's summed gradients for one table: `grads[k·d..(k+1)·d]` for
/// its local row `rows[k]`.
pub struct OwnedGradients {
    pub rows: Vec<i32>,
    pub grads: Vec<f32>,
}

impl ShardedRows {
    pub fn new(comm: Arc<dyn Collective>) -> Self {
        let shards = RowShards::new(comm.rank(), comm.size());
        Self {
            comm,
            shards,
            asked: Mutex::default(),
        }
    }

    pub fn shards(&self) -> RowShards {
        self.shards
    }

    /// Step 3: sends `grads` (`[U, d]` row-major, for this rank's `unique`
    /// ids of table `param`) to their owners and returns this rank's rows
    /// of the table with the sum of what every rank sent for them, scaled
    /// by `scale`.
    pub fn return_gradients(
        &self,
        param: ParamId,
        unique: &[i32],
        grads: &[f32],
        d: usize,
        scale: f32,
    ) -> OwnedGradients {
        let route = Route::new(unique, self.shards);
        let mut send = Vec::with_capacity(grads.len());
        for &p in &route.positions {
            send.extend_from_slice(&grads[p * d..(p + 1) * d]);
        }
        let asked = self
            .asked
            .lock()
            .expect("sharded rows poisoned")
            .remove(&param)
            .expect("gradients returned for a table whose rows were not fetched this step");
        let counts: Vec<usize> = route.counts.iter().map(|c| c * d).collect();
        let recv_counts: Vec<usize> = asked.counts.iter().map(|c| c * d).collect();
        let received = self.comm.all_to_all_f32(&send, &counts, &recv_counts);
        // Sum the gradients of a row that several ranks used.
        let mut slot: HashMap<i32, usize> = HashMap::with_capacity(asked.ids.len());
        let mut rows = Vec::new();
        let mut summed: Vec<f32> = Vec::new();
        for (k, &id) in asked.ids.iter().enumerate() {
            let local = self.shards.local(id);
            let s = *slot.entry(local).or_insert_with(|| {
                rows.push(local);
                summed.resize(summed.len() + d, 0.0);
                rows.len() - 1
            });
            let into = &mut summed[s * d..(s + 1) * d];
            for (acc, g) in into.iter_mut().zip(&received[k * d..(k + 1) * d]) {
                *acc += g;
            }
        }
        summed.iter_mut().for_each(|g| *g *= scale);
        OwnedGradients {
            rows,
            grads: summed,
        }
    }
}

impl RowSource for ShardedRows {
    /// Steps 1 and 2.
    fn fetch(&self, param: ParamId, weight: &Tensor<2>, unique: &[i32]) -> Tensor<2> {
        let [_, d] = weight.dims();
        let device = weight.device();
        let route = Route::new(unique, self.shards);
        let (asked, asked_counts) = self.comm.all_to_all_i32(&route.ids, &route.counts);
        let replies: Vec<f32> = if asked.is_empty() {
            Vec::new()
        } else {
            let local: Vec<i32> = asked.iter().map(|&id| self.shards.local(id)).collect();
            let n = local.len();
            let index = Tensor::<1, Int>::from_data(TensorData::new(local, [n]), &device);
            weight
                .clone()
                .detach()
                .select(0, index)
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 table rows")
        };
        let reply_counts: Vec<usize> = asked_counts.iter().map(|c| c * d).collect();
        let recv_counts: Vec<usize> = route.counts.iter().map(|c| c * d).collect();
        let received = self
            .comm
            .all_to_all_f32(&replies, &reply_counts, &recv_counts);
        self.asked.lock().expect("sharded rows poisoned").insert(
            param,
            Asked {
                ids: asked,
                counts: asked_counts,
            },
        );
        let mut rows = vec![0f32; unique.len() * d];
        for (k, &p) in route.positions.iter().enumerate() {
            rows[p * d..(p + 1) * d].copy_from_slice(&received[k * d..(k + 1) * d]);
        }
        Tensor::from_data(TensorData::new(rows, [unique.len(), d]), &device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_groups_ids_by_owner_and_remembers_where_they_were() {
        let unique = [7, 2, 9, 4, 3, 10];
        let route = Route::new(&unique, RowShards::new(0, 3));
        assert_eq!(route.counts, vec![2, 3, 1]); // 9 3 | 7 4 10 | 2
        for (k, &p) in route.positions.iter().enumerate() {
            assert_eq!(route.ids[k], unique[p]);
        }
        let owners: Vec<usize> = route.ids.iter().map(|&id| id as usize % 3).collect();
        assert!(owners.windows(2).all(|w| w[0] <= w[1]));
    }
}
