#!/usr/bin/env bash
# criteo-synth on this machine's CPU: ember (flex, row-sparse and dense
# embeddings, batch 4096) and each one's fair PyTorch peer on 2 threads:
# row-sparse against sparse embeddings + SparseAdam
# (../shared/bench/torch_deepfm_sparse.py), dense against dense Adam
# (../shared/bench/torch_deepfm.py). Interleaved ROUNDS times, so the
# ratios compare runs minutes apart on the same cores rather than this
# machine against REFERENCE.md's.
#
# Usage: scripts/bench_cpu_vs_torch.sh [OUT_DIR] [ROUNDS]
#   EMBER_BIN    the ember binary (default: target/release/ember, else target/debug/ember)
#   PYTHON       a python with torch (default: python3)
#   TORCH_BENCH  directory of torch_deepfm.py and torch_deepfm_sparse.py (default: ../shared/bench)
set -euo pipefail
out=${1:-runs/bench-cpu}
rounds=${2:-2}
mkdir -p "$out"
bin=${EMBER_BIN:-}
if [[ -z "$bin" ]]; then
  if [[ -x target/release/ember ]]; then bin=target/release/ember; else bin=target/debug/ember; fi
fi
python=${PYTHON:-python3}
torch_bench=${TORCH_BENCH:-../shared/bench}
if ! "$python" -c 'import torch' 2>/dev/null; then
  echo "no torch in $python (set PYTHON): nothing to compare against" >&2
  exit 1
fi

for round in $(seq 1 "$rounds"); do
  echo "== round $round: ember flex"
  "$bin" bench --device flex --embeddings row_sparse,dense --batch 4096 --warmup 3 --steps 20 \
    --rows 131072 --out "$out/ember_flex_$round.json" 2>/dev/null | tee "$out/ember_flex_$round.txt"
  echo "== round $round: PyTorch eager, 2 threads, sparse embeddings + SparseAdam"
  OMP_NUM_THREADS=2 "$python" "$torch_bench/torch_deepfm_sparse.py" cpu 20 eager | tee "$out/torch_sparse_cpu_$round.json"
  echo "== round $round: PyTorch eager, 2 threads, dense Adam"
  OMP_NUM_THREADS=2 "$python" "$torch_bench/torch_deepfm.py" cpu 20 eager | tee "$out/torch_cpu_$round.json"
done

"$python" - "$out" "$rounds" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
last = lambda path: json.loads(open(path).read().strip().splitlines()[-1])
print("\n| round | ember row-sparse train/s | torch sparse train/s | ratio | ember dense train/s | torch dense train/s | ratio | ember forward/s | ember predict_proba/s | torch sparse forward/s | forward ratio |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in range(1, rounds + 1):
    ember = {e["embedding_update"]: e for e in json.load(open(f"{out}/ember_flex_{r}.json"))}
    ts, td = last(f"{out}/torch_sparse_cpu_{r}.json"), last(f"{out}/torch_cpu_{r}.json")
    sparse, dense = ember["row_sparse"], ember["dense"]
    print(f"| {r} | {sparse['train_samples_per_s']:,.0f} | {ts['train_samples_per_s']:,} | "
          f"{sparse['train_samples_per_s'] / ts['train_samples_per_s']:.2f}× | "
          f"{dense['train_samples_per_s']:,.0f} | {td['train_samples_per_s']:,} | "
          f"{dense['train_samples_per_s'] / td['train_samples_per_s']:.2f}× | "
          f"{sparse['infer_samples_per_s']:,.0f} | {sparse['score_samples_per_s']:,.0f} | "
          f"{ts['infer_samples_per_s']:,} | {sparse['infer_samples_per_s'] / ts['infer_samples_per_s']:.2f}× |")
PY
