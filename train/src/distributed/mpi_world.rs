//! The MPI world (rsmpi over Open MPI or MPICH): one process per device,
//! started by `mpirun`.

use mpi::Count;
use mpi::datatype::{Partition, PartitionMut};
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;

use super::comm::{Collective, CommStats, CommTotals, ring_all_reduce_bytes};

/// The processes `mpirun` started, as a [`Collective`].
pub struct MpiWorld {
    world: SimpleCommunicator,
    /// This rank's index among the ranks on its machine (those that share
    /// memory with it): which of the machine's GPUs it takes.
    local_rank: usize,
    stats: CommStats,
    /// Finalises MPI when dropped, so it is kept, last.
    _universe: Universe,
}

// SAFETY: MPI is initialised without thread support (MPI_THREAD_SINGLE
// semantics are all ember needs); the communicator is a handle that ember
// only ever uses from the training thread, one call at a time. `Send`/`Sync`
// are needed because the row source that holds it travels with the batch.
unsafe impl Send for MpiWorld {}
unsafe impl Sync for MpiWorld {}

impl MpiWorld {
    /// Initialises MPI; `None` when it was initialised already.
    pub fn init() -> Option<Self> {
        let universe = mpi::initialize()?;
        let world = universe.world();
        let local_rank = world.split_shared(world.rank()).rank() as usize;
        Some(Self {
            world,
            local_rank,
            stats: CommStats::default(),
            _universe: universe,
        })
    }

    /// Ends every rank of the job now: what a rank that fails calls, so
    /// that the others do not wait forever in their next collective.
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    fn others(&self) -> u64 {
        (self.size() - 1) as u64
    }
}

/// `counts` as MPI's, with the displacements of consecutive blocks.
fn layout(counts: &[usize]) -> (Vec<Count>, Vec<Count>) {
    let counts: Vec<Count> = counts.iter().map(|&c| c as Count).collect();
    let displs = counts
        .iter()
        .scan(0, |at, &c| {
            let d = *at;
            *at += c;
            Some(d)
        })
        .collect();
    (counts, displs)
}

/// Elements of `counts` that go to ranks other than `rank`.
fn sent_elsewhere(counts: &[usize], rank: usize) -> usize {
    counts.iter().sum::<usize>() - counts[rank]
}

impl Collective for MpiWorld {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn local_rank(&self) -> usize {
        self.local_rank
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn all_reduce_sum(&self, values: &mut [f32]) {
        let bytes = ring_all_reduce_bytes(values.len(), self.size());
        self.stats.count(bytes, 2 * self.others(), || {
            let send = values.to_vec();
            self.world
                .all_reduce_into(&send[..], values, mpi::collective::SystemOperation::sum());
        })
    }

    fn all_to_all_i32(&self, send: &[i32], counts: &[usize]) -> (Vec<i32>, Vec<usize>) {
        let bytes = (sent_elsewhere(counts, self.rank()) * 4) as u64;
        self.stats
            .count(bytes + 8 * self.others(), 2 * self.others(), || {
                // First how many, then the ids themselves.
                let send_counts: Vec<Count> = counts.iter().map(|&c| c as Count).collect();
                let mut recv_counts = vec![0 as Count; self.size()];
                self.world
                    .all_to_all_into(&send_counts[..], &mut recv_counts[..]);
                let recv_counts: Vec<usize> = recv_counts.iter().map(|&c| c as usize).collect();
                let mut recv = vec![0i32; recv_counts.iter().sum()];
                let (sc, sd) = layout(counts);
                let (rc, rd) = layout(&recv_counts);
                self.world.all_to_all_varcount_into(
                    &Partition::new(send, sc, sd),
                    &mut PartitionMut::new(&mut recv[..], rc, rd),
                );
                (recv, recv_counts)
            })
    }

    fn all_to_all_f32(&self, send: &[f32], counts: &[usize], recv_counts: &[usize]) -> Vec<f32> {
        let bytes = (sent_elsewhere(counts, self.rank()) * 4) as u64;
        self.stats.count(bytes, self.others(), || {
            let mut recv = vec![0f32; recv_counts.iter().sum()];
            let (sc, sd) = layout(counts);
            let (rc, rd) = layout(recv_counts);
            self.world.all_to_all_varcount_into(
                &Partition::new(send, sc, sd),
                &mut PartitionMut::new(&mut recv[..], rc, rd),
            );
            recv
        })
    }

    fn all_gather_f32(&self, local: &[f32]) -> Vec<f32> {
        let bytes = (local.len() * 4) as u64 * self.others();
        self.stats.count(bytes, 2 * self.others(), || {
            let len = local.len() as Count;
            let mut lens = vec![0 as Count; self.size()];
            self.world.all_gather_into(&len, &mut lens[..]);
            let lens: Vec<usize> = lens.iter().map(|&l| l as usize).collect();
            let mut all = vec![0f32; lens.iter().sum()];
            let (c, d) = layout(&lens);
            self.world
                .all_gather_varcount_into(local, &mut PartitionMut::new(&mut all[..], c, d));
            all
        })
    }

    fn all_gather_bytes(&self, local: &[u8]) -> Vec<Vec<u8>> {
        let bytes = local.len() as u64 * self.others();
        self.stats.count(bytes, 2 * self.others(), || {
            let len = Count::try_from(local.len()).expect("under 2 GiB to all-gather");
            let mut lens = vec![0 as Count; self.size()];
            self.world.all_gather_into(&len, &mut lens[..]);
            let lens: Vec<usize> = lens.iter().map(|&l| l as usize).collect();
            let mut all = vec![0u8; lens.iter().sum()];
            let (c, d) = layout(&lens);
            self.world
                .all_gather_varcount_into(local, &mut PartitionMut::new(&mut all[..], c, d));
            let mut out = Vec::with_capacity(lens.len());
            let mut at = 0;
            for len in lens {
                out.push(all[at..at + len].to_vec());
                at += len;
            }
            out
        })
    }

    fn gather_f32(&self, local: &[f32]) -> Option<Vec<Vec<f32>>> {
        let root = self.world.process_at_rank(0);
        let len = local.len() as Count;
        if self.rank() == 0 {
            let mut lens = vec![0 as Count; self.size()];
            root.gather_into_root(&len, &mut lens[..]);
            let lens: Vec<usize> = lens.iter().map(|&l| l as usize).collect();
            let mut all = vec![0f32; lens.iter().sum()];
            let (c, d) = layout(&lens);
            root.gather_varcount_into_root(local, &mut PartitionMut::new(&mut all[..], c, d));
            let mut out = Vec::with_capacity(lens.len());
            let mut at = 0;
            for l in lens {
                out.push(all[at..at + l].to_vec());
                at += l;
            }
            Some(out)
        } else {
            root.gather_into(&len);
            self.stats.count((local.len() * 4) as u64, 1, || {
                root.gather_varcount_into(local)
            });
            None
        }
    }

    fn stats(&self) -> CommTotals {
        self.stats.totals()
    }
}
