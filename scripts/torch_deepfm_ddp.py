# The fair peer of `ember distributed bench`: PyTorch's own data-parallel
# path for the same job, DistributedDataParallel over gloo (CPU) with the
# model of ../shared/bench/torch_deepfm_sparse.py (criteo-synth DeepFM,
# sparse embeddings + SparseAdam for the tables, Adam for the rest). Stock
# PyTorch has no row-sharded tables (that is TorchRec, not installable
# here), so its tables are replicated on every rank and their sparse
# gradients all-reduced by DDP.
# usage: python3 scripts/torch_deepfm_ddp.py RANKS [LOCAL_BATCH] [STEPS]
# Prints one JSON line: step ms per rank, samples/s over all ranks, peak RSS.
import json, os, resource, sys, time
import torch, torch.nn as nn, torch.distributed as dist, torch.multiprocessing as mp

V = [1460,583,1000000,1000000,305,24,12517,633,3,93145,5683,1000000,3194,27,14992,1000000,10,5652,2173,4,1000000,18,15,286181,105,142572]
D, ND, NB, WARMUP = 16, 13, 16, 3

class DeepFM(nn.Module):
    # As in torch_deepfm_sparse.py.
    def __init__(s):
        super().__init__()
        s.emb = nn.Embedding(sum(V), D, sparse=True); s.lin = nn.Embedding(sum(V), 1, sparse=True)
        nn.init.normal_(s.emb.weight, std=0.01); nn.init.normal_(s.lin.weight, std=0.01)
        s.dproj = nn.Linear(ND, ND * D); s.dlin = nn.Linear(ND, 1)
        s.mlp = nn.Sequential(nn.Linear(39 * D, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 1))
    def forward(s, ids, x):
        e = torch.cat([s.emb(ids), s.dproj(x).view(-1, ND, D)], 1)
        first = s.lin(ids).sum((1, 2)) + s.dlin(x).squeeze(1)
        fm = 0.5 * (e.sum(1).pow(2) - e.pow(2).sum(1)).sum(1)
        return first + fm + s.mlp(e.flatten(1)).squeeze(1)

def run(rank, ranks, B, steps, out):
    torch.set_num_threads(max(1, (os.cpu_count() or 2) // ranks))
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:29533", rank=rank, world_size=ranks)
    torch.manual_seed(42)  # the same initial model on every rank
    m = DeepFM()
    g = torch.Generator().manual_seed(1000 + rank)  # each rank its own rows
    offs = torch.tensor([0] + list(__import__('itertools').accumulate(V))[:-1])
    dense = torch.log1p(torch.exp(1 + 1.5 * torch.randn(NB * B, ND, generator=g)))
    ids = torch.stack([(torch.rand(NB * B, generator=g) ** 3 * v).long().clamp(max=v - 1) for v in V], 1) + offs
    y = torch.bernoulli(torch.full((NB * B,), 0.25), generator=g)
    ddp = nn.parallel.DistributedDataParallel(m) if ranks > 1 else m
    sp = [m.emb.weight, m.lin.weight]; dn = [p for n, p in m.named_parameters() if not n.startswith(("emb", "lin"))]
    opt1 = torch.optim.SparseAdam(sp, lr=1e-3); opt2 = torch.optim.Adam(dn, lr=1e-3)
    lossf = nn.BCEWithLogitsLoss()
    def step(i):
        sl = slice((i % NB) * B, (i % NB + 1) * B)
        opt1.zero_grad(set_to_none=True); opt2.zero_grad(set_to_none=True)
        loss = lossf(ddp(ids[sl], dense[sl]), y[sl]); loss.backward(); opt1.step(); opt2.step()
        return loss.item()
    for i in range(WARMUP): step(i)
    dist.barrier(); t = time.perf_counter()
    for i in range(steps): step(WARMUP + i)
    dist.barrier(); ms = 1e3 * (time.perf_counter() - t) / steps
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row = torch.tensor([ms, peak_mib], dtype=torch.float64)
    rows = [torch.zeros(2, dtype=torch.float64) for _ in range(ranks)]
    dist.all_gather(rows, row)
    if rank == 0:
        step_ms = [float(r[0]) for r in rows]
        out.put(json.dumps({"framework": "torch " + torch.__version__ + " DDP/gloo", "ranks": ranks,
            "local_batch": B, "threads_per_rank": torch.get_num_threads(), "step_ms": step_ms,
            "samples_per_s": round(ranks * B / (max(step_ms) / 1e3)),
            "peak_rss_mib": [round(float(r[1])) for r in rows]}))
    dist.destroy_process_group()

if __name__ == "__main__":
    ranks = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    B = int(sys.argv[2]) if len(sys.argv) > 2 else 2048
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    ctx = mp.get_context("spawn"); out = ctx.Queue()
    procs = [ctx.Process(target=run, args=(r, ranks, B, steps, out)) for r in range(ranks)]
    for p in procs: p.start()
    line = out.get(timeout=1800)
    for p in procs: p.join()
    print(line)
