//! Row-wise sharding of the embedding tables (TorchRec's "row-wise"
//! layout): global row `g` of every table lives on rank `g mod N`, at local
//! row `g div N`; the rank's optimizer state for it lives there too.
//!
//! `mod N` is the owner hash: the rows entering a table are already hashed
//! ids or vocabulary indices laid out field after field, so consecutive
//! rows of every field go to different ranks and each field's rows, hot and
//! cold alike, spread evenly (the benchmark prints the per-rank bytes that
//! show it). Unlike a block layout it needs no table of shard boundaries.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use burn::tensor::TensorData;
use ember_models::Batch;

use super::comm::Collective;
use crate::row_sparse::param_paths;

/// Which rank owns which table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowShards {
    pub rank: usize,
    pub ranks: usize,
}

impl RowShards {
    pub fn new(rank: usize, ranks: usize) -> Self {
        assert!(rank < ranks, "rank {rank} of {ranks}");
        Self { rank, ranks }
    }

    /// The rank that owns global row `row`.
    pub fn owner(&self, row: i32) -> usize {
        row as usize % self.ranks
    }

    /// Where global row `row` lives on its owner.
    pub fn local(&self, row: i32) -> i32 {
        row / self.ranks as i32
    }

    /// The global row of `rank`'s local row `local`.
    pub fn global(&self, rank: usize, local: usize) -> usize {
        local * self.ranks + rank
    }

    /// How many of a `table_rows`-row table's rows `rank` owns.
    pub fn rows_on(&self, rank: usize, table_rows: usize) -> usize {
        (table_rows + self.ranks - 1 - rank) / self.ranks
    }
}

/// One row-sparse embedding table of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardedTable {
    /// Its weight's id in the model it was found in.
    pub param: ParamId,
    /// Its weight's module path (`features.tables.0.weight`): what names
    /// it in a model loaded from a checkpoint, where ids are new.
    pub path: String,
    /// Rows of the whole table.
    pub rows: usize,
}

/// The model's row-sparse tables, in the order a forward pass looks them
/// up: those a row-sparse forward of `probe` records. Every table is
/// looked up by every batch (each field has a value, or padding, in every
/// row), so one batch finds them all.
pub fn find_tables<M: Module, F>(model: &M, probe: &Batch, forward: F) -> Vec<ShardedTable>
where
    F: Fn(&M, &Batch) -> Tensor<2>,
{
    let mut probe = probe.clone();
    let recorder = probe.record_rows();
    drop(forward(model, &probe));
    let paths = param_paths(model);
    recorder
        .take()
        .into_iter()
        .map(|g| ShardedTable {
            param: g.param,
            path: paths.get(&g.param).cloned().unwrap_or_default(),
            rows: g.table_rows,
        })
        .collect()
}

/// Keeps this rank's rows of every table in `tables`: `[V, d]` becomes
/// `[rows_on(rank), d]`. Everything else stays replicated.
pub fn shard_tables<M: Module>(model: M, tables: &[ShardedTable], shards: RowShards) -> M {
    struct Keep<'a> {
        tables: &'a [ShardedTable],
        shards: RowShards,
    }
    impl ModuleMapper for Keep<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(table) = self.tables.iter().find(|t| t.param == param.id) else {
                return param;
            };
            let (id, weight, mapper) = param.consume();
            let require_grad = weight.is_require_grad();
            let n = self.shards.rows_on(self.shards.rank, table.rows);
            let rows: Vec<i32> = (0..n)
                .map(|l| self.shards.global(self.shards.rank, l) as i32)
                .collect();
            let index = Tensor::<1, Int>::from_data(TensorData::new(rows, [n]), &weight.device());
            let mut mine = weight.detach().select(0, index).detach();
            if require_grad {
                mine = mine.require_grad();
            }
            Param::from_mapped_value(id, mine, mapper)
        }
    }
    model.map(&mut Keep { tables, shards })
}

/// The weights of `params` in `model`, by id.
pub fn weights_of<M: Module>(model: &M, params: &[ParamId]) -> HashMap<ParamId, Tensor<2>> {
    struct Find<'a> {
        params: &'a [ParamId],
        found: HashMap<ParamId, Tensor<2>>,
    }
    impl ModuleVisitor for Find<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if D == 2 && self.params.contains(&param.id) {
                let dims = param.dims();
                self.found
                    .insert(param.id, param.val().reshape([dims[0], dims[1]]));
            }
        }
    }
    let mut find = Find {
        params,
        found: HashMap::new(),
    };
    model.visit(&mut find);
    find.found
}

/// Gathers every rank's shard of each table onto rank 0 and returns, there,
/// the model with whole tables (`None` on the other ranks). All ranks call
/// it together. What an export or a comparison with one process needs.
pub fn gather_tables<M: Module>(
    model: M,
    tables: &[ShardedTable],
    comm: &dyn Collective,
) -> Result<Option<M>> {
    let shards = RowShards::new(comm.rank(), comm.size());
    // By path: `model` may have been loaded from a checkpoint since the
    // tables were found, and loading gives parameters new ids.
    let ids: HashMap<String, ParamId> = param_paths(&model)
        .into_iter()
        .map(|(id, path)| (path, id))
        .collect();
    let params: Vec<ParamId> = tables
        .iter()
        .map(|t| {
            ids.get(&t.path)
                .copied()
                .with_context(|| format!("the model has no table '{}'", t.path))
        })
        .collect::<Result<_>>()?;
    let weights = weights_of(&model, &params);
    let mut whole = HashMap::new();
    for (table, param) in tables.iter().zip(&params) {
        let Some(weight) = weights.get(param) else {
            bail!("table '{}' is not a 2-D parameter of the model", table.path);
        };
        let [_, d] = weight.dims();
        let device = weight.device();
        let local = weight
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading a table shard: {e:?}"))?;
        if let Some(parts) = comm.gather_f32(&local) {
            let mut full = vec![0f32; table.rows * d];
            for (rank, part) in parts.iter().enumerate() {
                if part.len() != shards.rows_on(rank, table.rows) * d {
                    bail!(
                        "rank {rank} sent {} values of a table shard, expected {}",
                        part.len(),
                        shards.rows_on(rank, table.rows) * d
                    );
                }
                for (l, row) in part.chunks_exact(d).enumerate() {
                    let g = shards.global(rank, l);
                    full[g * d..(g + 1) * d].copy_from_slice(row);
                }
            }
            whole.insert(
                *param,
                Tensor::<2>::from_data(TensorData::new(full, [table.rows, d]), &device),
            );
        }
    }
    if comm.rank() != 0 {
        return Ok(None);
    }
    struct Put(HashMap<ParamId, Tensor<2>>);
    impl ModuleMapper for Put {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let Some(full) = self.0.remove(&param.id) else {
                return param;
            };
            let (id, weight, mapper) = param.consume();
            let dims: [usize; 2] = full.dims();
            let mut full: Tensor<D> = full.reshape(std::array::from_fn::<usize, D, _>(|i| dims[i]));
            if weight.is_require_grad() {
                full = full.require_grad();
            }
            Param::from_mapped_value(id, full, mapper)
        }
    }
    Ok(Some(model.map(&mut Put(whole))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_one_owner_and_a_place_there() {
        for ranks in 1..5 {
            let table_rows = 23;
            let mut seen = vec![false; table_rows];
            let mut total = 0;
            for rank in 0..ranks {
                let s = RowShards::new(rank, ranks);
                total += s.rows_on(rank, table_rows);
                for l in 0..s.rows_on(rank, table_rows) {
                    let g = s.global(rank, l);
                    assert!(!seen[g]);
                    seen[g] = true;
                    assert_eq!(s.owner(g as i32), rank);
                    assert_eq!(s.local(g as i32) as usize, l);
                }
            }
            assert_eq!(total, table_rows);
            assert!(seen.iter().all(|&s| s));
        }
    }
}
