#!/usr/bin/env bash
# `ember tune` on a CSV nobody tuned for, as a new user would meet it: the
# stationary drifting stream (`ember example-stream --drift 0 --seed 2026`,
# 300,000 impressions, one file per split in time order), the schema
# `ember schema infer` writes minus `p_true` (the generator's probability:
# the answer), DeepFM at every default; then 20 trials of the default space,
# and the untuned and tuned configs over seeds 1-3, interleaved with the fair
# peer (REFERENCE.md's untuned PyTorch DeepFM). Also prints
# the test AUC of p_true itself, the best any model can reach.
# Usage: scripts/tune_unseen_csv.sh [RUNS]   (default: runs)
set -euo pipefail
runs=${1:-runs}
bin=${EMBER_BIN:-}
if [[ -z "$bin" ]]; then
  cargo build --workspace --all-targets
  bin="${CARGO_TARGET_DIR:-target}/debug/ember"
fi
data="$runs/unseen-csv"
"$bin" example-stream --out "$data" --drift 0 --seed 2026 --events 300000 --events-per-file 100000
"$bin" schema infer "$data/part-00000.csv" --label click --out "$data/schema.toml"
python3 - "$data/schema.toml" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
cut = text.index("# p_true:")
open(path, "w").write(text[:cut] + "# p_true (removed by hand): the generator's true click probability, the answer itself\n")
PY
cat > "$data/deepfm.toml" <<TOML
# A new user's first DeepFM on a CSV nobody tuned for; every model and
# training setting at its default.
name = "unseen-csv-deepfm"

[data]
source = "csv"
train = "$data/part-00000.csv"
valid = "$data/part-00001.csv"
test = "$data/part-00002.csv"
schema = "$data/schema.toml"

[model]
kind = "deepfm"
TOML
"$bin" tune --config "$data/deepfm.toml" --trials 20 --seed 42 --device cpu --out "$runs/tune/unseen-csv"
# Interleaved per seed: ember untuned, ember tuned, and the fair peer
# (REFERENCE.md's untuned PyTorch DeepFM, scripts/torch_csv_deepfm.py).
for seed in 1 2 3; do
  for which in default tuned; do
    config="$data/deepfm.toml"
    [[ $which == tuned ]] && config="$runs/tune/unseen-csv/best.toml"
    "$bin" train --config "$config" --device cpu --set "train.seed=$seed" \
      --set "name=\"unseen-$which-s$seed\"" --set "output_dir=\"$runs\"" 2> /dev/null | tail -n 1
  done
  python3 "$(dirname "$0")/torch_csv_deepfm.py" "$data"/part-0000{0,1,2}.csv --label click \
    --fields user,item,segment,category,device --seed "$seed" 2> /dev/null
done
python3 - "$data/part-00002.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
pairs = sorted((float(r["p_true"]), int(r["click"])) for r in rows)
# Mann-Whitney AUC with tied scores sharing their mean rank.
rank_sum, i = 0.0, 0
while i < len(pairs):
    j = i
    while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
        j += 1
    rank_sum += sum(y for _, y in pairs[i:j + 1]) * ((i + j) / 2 + 1)
    i = j + 1
pos = sum(y for _, y in pairs)
neg = len(pairs) - pos
print(f"p_true test AUC {(rank_sum - pos * (pos + 1) / 2) / (pos * neg):.4f}")
PY
