#!/usr/bin/env bash
# Trains every shipped preset of the given datasets on the CPU, collects the
# run summaries as JSON lines (test AUC, logloss, wall time) and prints them
# as a markdown table (model × dataset).
# Usage: scripts/run_presets.sh OUT.jsonl frappe-ctr ml100k-ctr
set -euo pipefail
out=$1; shift
bin=${EMBER_BIN:-target/debug/ember}
: > "$out"
for ds in "$@"; do
  for cfg in configs/"$ds"/*.toml; do
    tmp=$(mktemp)
    "$bin" train --config "$cfg" --device cpu --summary "$tmp" >&2
    jq -c --arg ds "$ds" '. + {dataset: $ds}' "$tmp" >> "$out"
    rm -f "$tmp"
  done
done
echo "| dataset | model | test AUC | test logloss | best epoch | wall time |"
echo "|---|---|---|---|---|---|"
jq -r '"| \(.dataset) | \(.model) | \(.test.auc * 10000 | round / 10000) | \(.test.logloss * 10000 | round / 10000) | \(.best_epoch) | \(.train_seconds * 10 | round / 10) s |"' "$out"
