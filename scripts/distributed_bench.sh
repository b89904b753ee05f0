#!/usr/bin/env bash
# The distributed step on criteo-synth, 1 rank then 2 ranks, interleaved
# ROUNDS times in one sitting (this machine's speed drifts minute to
# minute): per-rank step time split into compute and communication, bytes
# and messages sent a step, peak memory, and the projection to 8 and 64
# ranks next to dense all-reduce of the tables. Then the memory run: a
# 50 M x 16 hashed table on 1 and on 2 ranks (peak RSS per rank).
# Writes reports/distributed/bench.md (+ the JSON reports beside it).
#   scripts/distributed_bench.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ember/target}"
# The dev profile: dependencies are built at opt-level 2 (Cargo.toml), and
# a release build of Burn would take another half hour on 2 cores.
if [ -z "${EMBER_BIN:-}" ]; then
  cargo build --features distributed --bin ember
fi
bin="${EMBER_BIN:-$CARGO_TARGET_DIR/debug/ember}"
out=reports/distributed
mkdir -p "$out"
log="$(mktemp)"
cores="$(nproc)"
{
  echo "# Distributed training: step time, traffic, memory"
  echo
  echo "\`scripts/distributed_bench.sh $rounds\`, $(date -u +%F), $cores cores, Open MPI over shared memory."
  echo "Each rank trains criteo-synth DeepFM (embedding 16, MLP 400-400-400, Adam)"
  echo "on a local batch of 2048; with 2 ranks the global batch is 4096."
  echo "1 rank uses all $cores cores; 2 ranks get $((cores / 2 > 0 ? cores / 2 : 1)) thread(s) each."
  echo "\"plain ms\" is the single-process step (whole tables) on the same local"
  echo "batches with the same threads, timed first in the same process."
  echo
} > "$out/bench.md"
for round in $(seq 1 "$rounds"); do
  for ranks in 1 2; do
    threads=$(( cores / ranks > 0 ? cores / ranks : 1 ))
    echo "## round $round, $ranks rank(s)" | tee -a "$log"
    RAYON_NUM_THREADS=$threads scripts/mpirun.sh -np "$ranks" "$bin" distributed bench \
      --local-batch 2048 --timed-steps 20 --json "$out/bench-${ranks}rank-round${round}.json" \
      | tee -a "$log"
    echo | tee -a "$log"
  done
done
echo "## memory: 50 M rows x 16, Adam" | tee -a "$log"
for ranks in 1 2; do
  threads=$(( cores / ranks > 0 ? cores / ranks : 1 ))
  echo "### $ranks rank(s)" | tee -a "$log"
  RAYON_NUM_THREADS=$threads scripts/mpirun.sh -np "$ranks" "$bin" distributed bench \
    --local-batch 2048 --warmup-steps 1 --timed-steps 5 --table-rows 50000000 --baseline false \
    --json "$out/memory-${ranks}rank.json" | tee -a "$log"
  echo | tee -a "$log"
done
{ echo '```'; cat "$log"; echo '```'; } >> "$out/bench.md"
rm -f "$log"
echo "wrote $out/bench.md"
