#!/usr/bin/env bash
# Fuzzes every input border (tests/fuzz.rs) for SECONDS per target
# (default 50: 12 targets, about 10 minutes) and writes the report,
# reports/reliability/fuzz.md. CI runs the same targets for 1 s each.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-50}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ember/target}"
table="$(mktemp)"
start="$(date -u +%FT%TZ)"
EMBER_FUZZ_SECONDS="$seconds" EMBER_FUZZ_TABLE="$table" \
  cargo test --test fuzz -- --nocapture --test-threads 1
{
  echo "# Fuzzing: every input border, ${seconds} s per target"
  echo
  echo "\`scripts/fuzz.sh ${seconds}\` (tests/fuzz.rs), started ${start} on $(nproc) cores."
  echo "Inputs are valid seeds mutated by proptest's seeded generators (tokens"
  echo "inserted, spans deleted and duplicated, truncation, long runs) and, one"
  echo "time in eight, random bytes; a crash is a panic, shrunk to a small input."
  echo "What earlier runs found and what became of it: README.md here."
  echo
  cat "$table"
} > reports/reliability/fuzz.md
rm -f "$table"
echo "wrote reports/reliability/fuzz.md"
