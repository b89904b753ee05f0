#!/usr/bin/env bash
# criteo-synth on this machine's CPU: ember (flex, row-sparse and dense
# embeddings, batch 4096) and the PyTorch reference
# (../shared/bench/torch_deepfm.py on 2 threads), interleaved ROUNDS times,
# so the ratios compare runs minutes apart on the same cores rather than
# this machine against REFERENCE.md's.
#
# Usage: scripts/bench_cpu_vs_torch.sh [OUT_DIR] [ROUNDS]
#   EMBER_BIN    the ember binary (default: target/release/ember, else target/debug/ember)
#   PYTHON       a python with torch (default: python3)
#   TORCH_BENCH  path of torch_deepfm.py (default: ../shared/bench/torch_deepfm.py)
set -euo pipefail
out=${1:-runs/bench-cpu}
rounds=${2:-2}
mkdir -p "$out"
bin=${EMBER_BIN:-}
if [[ -z "$bin" ]]; then
  if [[ -x target/release/ember ]]; then bin=target/release/ember; else bin=target/debug/ember; fi
fi
python=${PYTHON:-python3}
torch_bench=${TORCH_BENCH:-../shared/bench/torch_deepfm.py}
if ! "$python" -c 'import torch' 2>/dev/null; then
  echo "no torch in $python (set PYTHON): nothing to compare against" >&2
  exit 1
fi

for round in $(seq 1 "$rounds"); do
  echo "== round $round: ember flex"
  "$bin" bench --device flex --embeddings row_sparse,dense --batch 4096 --warmup 3 --steps 20 \
    --rows 131072 --out "$out/ember_flex_$round.json" 2>/dev/null | tee "$out/ember_flex_$round.txt"
  echo "== round $round: PyTorch eager, 2 threads"
  OMP_NUM_THREADS=2 "$python" "$torch_bench" cpu 20 eager | tee "$out/torch_cpu_$round.json"
done

"$python" - "$out" "$rounds" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
print("\n| round | ember row-sparse train/s | ember dense train/s | torch train/s | ember forward/s | ember predict_proba/s | torch forward/s | row-sparse / torch train | ember forward / torch | ember predict_proba / torch |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in range(1, rounds + 1):
    ember = {e["embedding_update"]: e for e in json.load(open(f"{out}/ember_flex_{r}.json"))}
    torch = json.loads(open(f"{out}/torch_cpu_{r}.json").read().strip().splitlines()[-1])
    sparse, dense = ember["row_sparse"], ember["dense"]
    print(f"| {r} | {sparse['train_samples_per_s']:,.0f} | {dense['train_samples_per_s']:,.0f} | "
          f"{torch['train_samples_per_s']:,} | {sparse['infer_samples_per_s']:,.0f} | "
          f"{sparse['score_samples_per_s']:,.0f} | {torch['infer_samples_per_s']:,} | "
          f"{sparse['train_samples_per_s'] / torch['train_samples_per_s']:.2f}× | "
          f"{sparse['infer_samples_per_s'] / torch['infer_samples_per_s']:.2f}× | "
          f"{sparse['score_samples_per_s'] / torch['infer_samples_per_s']:.2f}× |")
PY
