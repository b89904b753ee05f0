#!/usr/bin/env bash
# ANN (HNSW) vs exact search on 1,000,000 clustered synthetic unit vectors
# of dimension 64 (1,000 clusters; see ann/src/synthetic.rs): prints Recall@100
# of the index against an exact scan and the ratio of their per-query times,
# measured in the same run on held-out queries, one thread per query.
#
# Profile: the dev build. ember-ann and all its dependencies are compiled at
# opt-level 2 even there (workspace Cargo.toml), and the crate has no Burn,
# so no release build of Burn is needed. Building the index takes minutes
# on 2 cores; run it in the background:
#   nohup scripts/ann_bench.sh > runs/ann_bench.log 2>&1 &
# Extra flags go to the example: --n --dim --clusters --spread --queries --k
# --ef-construction --ef-search.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --all-targets >&2
target=${CARGO_TARGET_DIR:-target}
exec "$target/debug/examples/ann_bench" "$@"
