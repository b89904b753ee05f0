#!/usr/bin/env bash
# Distributed training's equivalence check (issue: scale-out): 2 ranks
# training K steps on their halves of fixed global batches must end where
# one process on the whole batches ends, dense parameters and table rows
# within 1e-5, for Adam, lazy Adam and Adagrad. Exit 0 when all pass.
#   scripts/distributed_check.sh            # builds ember with MPI first
#   EMBER_BIN=path/to/ember scripts/distributed_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ember/target}"
if [ -z "${EMBER_BIN:-}" ]; then
  cargo build --features distributed --bin ember
  EMBER_BIN="$CARGO_TARGET_DIR/debug/ember"
fi
ranks="${RANKS:-2}"
steps="${STEPS:-10}"
status=0
for optimizer in adam lazy-adam adagrad; do
  for l2 in 0 0.001; do
    echo "== $ranks ranks, $optimizer, embedding_l2 $l2, $steps steps"
    if ! timeout 600 scripts/mpirun.sh -np "$ranks" "$EMBER_BIN" distributed check \
      --optimizer "$optimizer" --steps "$steps" --embedding-l2 "$l2" --tolerance 1e-5; then
      echo "FAILED: $optimizer, embedding_l2 $l2" >&2
      status=1
    fi
  done
done
exit $status
