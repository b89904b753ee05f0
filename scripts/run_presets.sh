#!/usr/bin/env bash
# Trains every shipped preset of the given datasets on the CPU and collects
# the run summaries as JSON lines (test AUC, logloss, wall time).
# Usage: scripts/run_presets.sh OUT.jsonl frappe-ctr ml100k-ctr
set -euo pipefail
out=$1; shift
bin=${EMBER_BIN:-target/debug/ember}
: > "$out"
for ds in "$@"; do
  for cfg in configs/"$ds"/*.toml; do
    tmp=$(mktemp)
    "$bin" train --config "$cfg" --device cpu --summary "$tmp" >&2
    jq -c . "$tmp" >> "$out"
    rm -f "$tmp"
  done
done
