#!/usr/bin/env bash
# ember's distributed step against its fair peer, interleaved in one
# sitting: for each round, 1 and 2 ranks of `ember distributed bench` and of
# scripts/torch_deepfm_ddp.py (PyTorch DDP over gloo, sparse embeddings +
# SparseAdam, tables replicated), the same criteo-synth DeepFM, local batch
# 2048, the cores split evenly between the ranks. Writes
# reports/distributed/vs_torch.md.
#   scripts/distributed_vs_torch.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ember/target}"
if [ -z "${EMBER_BIN:-}" ]; then
  cargo build --features distributed --bin ember
fi
bin="${EMBER_BIN:-$CARGO_TARGET_DIR/debug/ember}"
cores="$(nproc)"
runs="$(mktemp)"
tmp="$(mktemp -d)"
for round in $(seq 1 "$rounds"); do
  for ranks in 1 2; do
    threads=$(( cores / ranks > 0 ? cores / ranks : 1 ))
    RAYON_NUM_THREADS=$threads scripts/mpirun.sh -np "$ranks" "$bin" distributed bench \
      --local-batch 2048 --timed-steps 20 --baseline false --json "$tmp/ember.json" >/dev/null 2>&1
    python3 - "$tmp/ember.json" "$round" >> "$runs" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ms = [p["step_ms"] for p in r["per_rank"]]
print(json.dumps({"round": int(sys.argv[2]), "who": "ember (row-sharded, MPI)", "ranks": r["ranks"],
  "step_ms": ms, "comm_ms": [p["comm_ms"] for p in r["per_rank"]],
  "samples_per_s": round(r["ranks"] * r["local_batch"] / (max(ms) / 1e3)),
  "peak_rss_mib": [p["peak_rss_bytes"] >> 20 for p in r["per_rank"]]}))
PY
    echo "round $round: ember, $ranks rank(s) done" >&2
    python3 scripts/torch_deepfm_ddp.py "$ranks" 2048 20 2>/dev/null \
      | python3 -c "import json,sys; r=json.loads(sys.stdin.readline()); r['round']=$round; r['who']='PyTorch DDP (replicated, gloo)'; print(json.dumps(r))" >> "$runs"
    echo "round $round: torch, $ranks rank(s) done" >&2
  done
done
python3 - "$runs" "$rounds" "$cores" > reports/distributed/vs_torch.md <<'PY'
import json, sys, datetime
rows = [json.loads(l) for l in open(sys.argv[1])]
print("# Distributed step: ember vs PyTorch DDP\n")
print(f"`scripts/distributed_vs_torch.sh {sys.argv[2]}`, {datetime.date.today()}, {sys.argv[3]} cores, "
      "runs interleaved in one sitting (ember 1 rank, torch 1 rank, ember 2 ranks, torch 2 ranks, per round). "
      "criteo-synth DeepFM (embedding 16, MLP 400-400-400), local batch 2048 per rank, "
      "Adam (ember: row-sparse Adam on the tables; torch: SparseAdam), cores split evenly between ranks. "
      "Peer: scripts/torch_deepfm_ddp.py, the model of ../shared/bench/torch_deepfm_sparse.py under "
      "DistributedDataParallel over gloo; stock PyTorch replicates the tables (row-sharding is TorchRec's, "
      "not installable here). Step ms per rank; samples/s over all ranks at the slower rank's step.\n")
print("| round | ranks | who | step ms | in collectives ms | samples/s | peak RSS MiB per rank |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    comm = " / ".join(f"{c:.1f}" for c in r["comm_ms"]) if "comm_ms" in r else "(overlapped)"
    print(f"| {r['round']} | {r['ranks']} | {r['who']} | {' / '.join(f'{m:.1f}' for m in r['step_ms'])} | {comm} "
          f"| {r['samples_per_s']:,} | {' / '.join(str(m) for m in r['peak_rss_mib'])} |")
print("\nember / torch samples/s, same round and ranks:\n")
for rnd in sorted({r["round"] for r in rows}):
    for n in (1, 2):
        e = [r for r in rows if r["round"] == rnd and r["ranks"] == n and r["who"].startswith("ember")]
        t = [r for r in rows if r["round"] == rnd and r["ranks"] == n and not r["who"].startswith("ember")]
        if e and t:
            print(f"- round {rnd}, {n} rank(s): {e[0]['samples_per_s'] / t[0]['samples_per_s']:.2f}x")
PY
rm -rf "$runs" "$tmp"
echo "wrote reports/distributed/vs_torch.md"
