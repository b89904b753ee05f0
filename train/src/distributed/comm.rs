//! The collectives distributed training needs, behind one trait: an MPI
//! implementation (`mpi_world.rs`, feature `mpi`) and a single process (the
//! degenerate world of one rank, so the sharded step runs and is tested
//! without MPI).
//!
//! Every call is counted in [`CommStats`] (bytes this rank sent to other
//! ranks, messages, seconds inside the call), which the distributed
//! benchmark splits a step's time with and projects larger worlds from.

use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A world of ranks that run the same step in lockstep.
///
/// Every rank must make the same calls in the same order (MPI's rule for
/// collectives); the distributed step guarantees it by walking tables and
/// parameters in module order, which is the same on every rank.
pub trait Collective: Send + Sync {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;

    /// This rank's index among the ranks on its own machine, which picks
    /// its GPU (one rank per adapter); the rank itself by default.
    fn local_rank(&self) -> usize {
        self.rank()
    }

    /// `values ← Σ_ranks values`, element-wise, on every rank.
    fn all_reduce_sum(&self, values: &mut [f32]);

    /// Personalised exchange: `send` holds `counts[r]` items for each rank
    /// `r` in turn; returns the items every rank sent here, concatenated in
    /// rank order, and how many came from each.
    fn all_to_all_i32(&self, send: &[i32], counts: &[usize]) -> (Vec<i32>, Vec<usize>);

    /// As [`Collective::all_to_all_i32`] when the receive counts are known
    /// already (the reply to an exchange of ids).
    fn all_to_all_f32(&self, send: &[f32], counts: &[usize], recv_counts: &[usize]) -> Vec<f32>;

    /// Every rank's `local`, concatenated in rank order, on every rank.
    fn all_gather_f32(&self, local: &[f32]) -> Vec<f32>;

    /// Every rank's bytes, in rank order, on every rank (e.g. the
    /// statistics each rank's share of the input is fitted on). At most
    /// 2 GiB in all: MPI counts in 32-bit integers.
    fn all_gather_bytes(&self, local: &[u8]) -> Vec<Vec<u8>>;

    /// Every rank's count (rows, batches), in rank order, on every rank;
    /// exact where an f32 would round past 2²⁴.
    fn all_gather_count(&self, local: usize) -> Vec<usize> {
        self.all_gather_bytes(&(local as u64).to_le_bytes())
            .iter()
            .map(|b| u64::from_le_bytes(b[..8].try_into().expect("8 bytes")) as usize)
            .collect()
    }

    /// Every rank's `local`, on rank 0 (in rank order); `None` elsewhere.
    fn gather_f32(&self, local: &[f32]) -> Option<Vec<Vec<f32>>>;

    /// What the calls so far cost.
    fn stats(&self) -> CommTotals;
}

/// Totals of one rank's communication.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CommTotals {
    /// Collective calls made.
    pub calls: u64,
    /// Bytes this rank sent to other ranks (its own share excluded).
    pub bytes_sent: u64,
    /// Point-to-point messages the calls imply for this rank (an
    /// all-to-all sends one to each other rank; a ring all-reduce
    /// 2(N−1)).
    pub messages: u64,
    /// Seconds inside collective calls, waiting for slower ranks included.
    pub seconds: f64,
}

impl CommTotals {
    /// `self − earlier`: what happened between two readings.
    pub fn since(&self, earlier: &CommTotals) -> CommTotals {
        CommTotals {
            calls: self.calls - earlier.calls,
            bytes_sent: self.bytes_sent - earlier.bytes_sent,
            messages: self.messages - earlier.messages,
            seconds: self.seconds - earlier.seconds,
        }
    }
}

/// The running totals a [`Collective`] keeps.
#[derive(Debug, Default)]
pub struct CommStats(Mutex<CommTotals>);

impl CommStats {
    /// Runs `call`, counting it with the bytes and messages it sends.
    pub fn count<T>(&self, bytes_sent: u64, messages: u64, call: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = call();
        let mut totals = self.0.lock().expect("comm stats poisoned");
        totals.calls += 1;
        totals.bytes_sent += bytes_sent;
        totals.messages += messages;
        totals.seconds += start.elapsed().as_secs_f64();
        out
    }

    pub fn totals(&self) -> CommTotals {
        *self.0.lock().expect("comm stats poisoned")
    }
}

/// Bytes a rank sends in a ring all-reduce of `len` f32 over `ranks`
/// ranks: reduce-scatter then all-gather, each moving (N−1)/N of the data.
pub fn ring_all_reduce_bytes(len: usize, ranks: usize) -> u64 {
    if ranks <= 1 {
        return 0;
    }
    (2 * (ranks - 1) * len * 4 / ranks) as u64
}

/// One process alone: every collective is the identity.
#[derive(Debug, Default)]
pub struct SingleProcess {
    stats: CommStats,
}

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn all_reduce_sum(&self, _values: &mut [f32]) {
        self.stats.count(0, 0, || ());
    }

    fn all_to_all_i32(&self, send: &[i32], counts: &[usize]) -> (Vec<i32>, Vec<usize>) {
        self.stats.count(0, 0, || (send.to_vec(), counts.to_vec()))
    }

    fn all_to_all_f32(&self, send: &[f32], _counts: &[usize], _recv: &[usize]) -> Vec<f32> {
        self.stats.count(0, 0, || send.to_vec())
    }

    fn all_gather_f32(&self, local: &[f32]) -> Vec<f32> {
        local.to_vec()
    }

    fn all_gather_bytes(&self, local: &[u8]) -> Vec<Vec<u8>> {
        vec![local.to_vec()]
    }

    fn gather_f32(&self, local: &[f32]) -> Option<Vec<Vec<f32>>> {
        Some(vec![local.to_vec()])
    }

    fn stats(&self) -> CommTotals {
        self.stats.totals()
    }
}
