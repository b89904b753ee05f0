#!/usr/bin/env bash
# The whole RL-mixer evaluation in one command: trains DQN-GRU and the
# GRU-free DQN on the feed simulator, then scores both against random,
# greedy pCTR and the best fixed type mix on 10,000 held-out sessions.
# Writes OUT/report.md, OUT/report.json and OUT/clicks_vs_share.svg.
# Usage: scripts/mixer_eval.sh [OUT] [RUNS]   (defaults: reports/mixer, runs)
set -euo pipefail
out=${1:-reports/mixer}
runs=${2:-runs}
bin=${EMBER_BIN:-}
if [[ -z "$bin" ]]; then
  cargo build --workspace --all-targets
  bin="${CARGO_TARGET_DIR:-target}/debug/ember"
fi
mkdir -p "$out" "$runs"
summaries=()
: > "$runs/mixer-train.txt"
for model in dqn_gru dqn_last; do
  "$bin" mixer train --config "configs/mixer/$model.toml" --set "output_dir=\"$runs\"" \
    2> "$runs/mixer-$model.log" | tee -a "$runs/mixer-train.txt"
  summaries+=("$(tail -n 1 "$runs/mixer-train.txt")")
done
"$bin" mixer eval --simulator configs/mixer/simulator.toml \
  --model "$runs/mixer-dqn-gru/artifact" --model "$runs/mixer-dqn-last/artifact" \
  --sessions 10000 --tuning-sessions 2000 --out "$out"
{
  printf '\nTraining (%s):\n\n' "$(nproc) CPU cores, dev build"
  for s in "${summaries[@]}"; do printf -- '- %s\n' "$s"; done
} >> "$out/report.md"
