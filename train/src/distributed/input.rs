//! Each rank's share of a distributed job's input: the datasets crate
//! reads the rank's share of every file and fits the preprocessor from the
//! statistics of all ranks' shares, exchanged here over the job's
//! all-gather (the datasets crate knows nothing of MPI).

use anyhow::Result;
use ember_datasets::readers::FileShard;
use ember_datasets::registry::{self, InputShare};
use ember_datasets::{DataConfig, PreparedData};

use super::comm::Collective;

/// Loads this rank's share of `config`'s splits; every rank must call it
/// (the fit statistics are exchanged collectively).
pub fn load_input_share(config: &DataConfig, comm: &dyn Collective) -> Result<PreparedData> {
    let exchange = |bytes: Vec<u8>| Ok(comm.all_gather_bytes(&bytes));
    let share = InputShare {
        shard: FileShard::new(comm.rank(), comm.size()),
        exchange: &exchange,
    };
    Ok(registry::load_share(config, share)?)
}
