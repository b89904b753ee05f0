//! Data-parallel training with embedding tables sharded by rows, over MPI.
//!
//! One process (rank) per device, started by `mpirun`. Each rank reads its
//! own share of the input files (`input.rs`) and trains on its own rows of
//! every global batch; dense parameters are replicated and
//! their gradients averaged every step (`step.rs`); each embedding table is
//! split by rows over the ranks, with each row's optimizer state on the
//! rank that owns it (`shard.rs`), and rows and their gradients travel
//! between the ranks that use them and the rank that owns them through
//! all-to-all exchanges (`exchange.rs`). This is TorchRec's row-wise
//! sharding, with MPI (rsmpi) as the transport because Burn's own
//! collectives run on CUDA only and have no all-to-all.
//!
//! The collectives are a trait (`comm.rs`) so the sharded step runs and is
//! tested in one process without MPI; the MPI world needs the `mpi` feature
//! (Open MPI or MPICH and libclang at build time).

pub mod bench;
pub mod check;
pub mod comm;
pub mod evaluate;
pub mod exchange;
pub mod input;
#[cfg(feature = "mpi")]
pub mod mpi_world;
pub mod shard;
pub mod step;
pub mod trainer;

pub use check::{CheckOptions, CheckReport, run_check};
pub use comm::{Collective, CommTotals, SingleProcess};
pub use input::load_input_share;
#[cfg(feature = "mpi")]
pub use mpi_world::MpiWorld;
pub use shard::{RowShards, ShardedTable, find_tables, gather_tables, shard_tables};
pub use step::DistributedStepper;
pub use trainer::fit_distributed;
