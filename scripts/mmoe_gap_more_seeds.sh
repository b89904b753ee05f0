#!/usr/bin/env bash
# More seeds for the question `ember bench-mtl mmoe-synthetic` leaves open:
# does MMoE's lead over shared-bottom grow from p = 1 to p = 0? Runs only
# the two models at the two ends, seeds FIRST..LAST, with the shipped presets
# (configs/mmoe-synthetic by default) and appends each run summary to LOG as
# one JSON line named as bench-mtl names its runs, so that
#     python3 scripts/mtl_gap_trend.py BENCH_LOG LOG
# reads this log and bench-mtl's together.
#
#     scripts/mmoe_gap_more_seeds.sh 11 30 reports/multitask/mmoe_synthetic_ends.jsonl
#
# Needs a built `ember` (EMBER, default target/debug/ember) and python3.
# SET adds config overrides to every run, e.g. a fixed budget without early
# stopping (the best validation epoch is still the one tested):
#     SET="train.patience=200" scripts/mmoe_gap_more_seeds.sh 1 24 LOG
# PS and MODELS replace the correlations ("1 0") and models
# ("shared_bottom mmoe"), e.g. PS="1 0.9 0.5 0" MODELS="shared_bottom mmoe cgc".
# CURVES=DIR keeps each run's per-epoch metrics (training loss and validation
# MSE per task) as DIR/<run name>.metrics.jsonl, for
#     python3 scripts/mtl_loss_curves.py DIR
set -euo pipefail
first=${1:?first seed}
last=${2:?last seed}
log=${3:?output JSON lines}
presets=${PRESETS:-configs/mmoe-synthetic}
ember=${EMBER:-target/debug/ember}
curves=${CURVES:-}
[[ -z "$curves" ]] || mkdir -p "$curves"
read -r -a extra <<< "${SET:-}"
overrides=()
for o in "${extra[@]}"; do overrides+=(--set "$o"); done
runs=$(mktemp -d)
trap 'rm -rf "$runs"' EXIT
for seed in $(seq "$first" "$last"); do
  for p in ${PS:-1 0}; do
    for model in ${MODELS:-shared_bottom mmoe}; do
      name="mmoe-synthetic-p$p-$model-s$seed"
      "$ember" train -c "$presets/$model.toml" \
        --set "data.correlation=$p$([[ $p == *.* ]] || echo .0)" --set "data.seed=$seed" --set "train.seed=$seed" \
        --set "name=\"$name\"" --set "output_dir=\"$runs\"" \
        "${overrides[@]}" --summary "$runs/$name.json" > /dev/null 2> "$runs/stderr" \
        || { cat "$runs/stderr" >&2; exit 1; }
      python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))' \
        "$runs/$name.json" >> "$log"
      [[ -z "$curves" ]] || cp "$runs/$name/metrics.jsonl" "$curves/$name.metrics.jsonl"
      echo "$name done" >&2
    done
  done
done
